package tuning

import (
	"errors"
	"math"
	"math/rand/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Observation is a finished trial as the samplers see it.
type Observation struct {
	Number int
	X      []float64
	// Loss is the objective to minimize (a maximized metric negated).
	Loss float64
	// Pruned trials rank after completed ones: deeper (Step) first, then by Loss.
	Pruned bool
	Step   int64
	// HasLoss is false for a pruned trial that logged no value.
	HasLoss bool
}

// ErrGridDone means every point of the grid was suggested.
var ErrGridDone = errors.New("the grid is exhausted")

// trialRand is the random source of trial number n: a function of the seed
// and n only, so that a restarted server suggests what it would have.
func trialRand(seed int64, n int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15^uint64(n)))
}

// Suggest is the point of trial number n, given the trials observed so far
// (in number order). It depends on nothing else.
func Suggest(algorithm string, sp Space, seed int64, n int, obs []Observation) ([]float64, error) {
	switch algorithm {
	case v1.AlgorithmGrid:
		return gridPoint(sp, seed, n)
	case v1.AlgorithmRandom:
		return randomPoint(sp, trialRand(seed, n)), nil
	}
	return TPE{}.Suggest(sp, trialRand(seed, n), obs), nil
}

// randomPoint draws each dimension uniformly (log-uniformly with log).
func randomPoint(sp Space, r *rand.Rand) []float64 {
	x := make([]float64, len(sp.Dims))
	for i, d := range sp.Dims {
		x[i] = randomValue(d, r)
	}
	return x
}

func randomValue(d Dim, r *rand.Rand) float64 {
	switch {
	case d.Type == v1.TuningCategorical:
		return float64(r.IntN(len(d.Choices)))
	case d.Step > 0:
		n := int64(math.Floor((d.High-d.Low)/d.Step+1e-9)) + 1
		return d.snap(d.Low + float64(r.Int64N(n))*d.Step)
	case d.Log:
		lo, hi := math.Log(d.Low), math.Log(d.High)
		if d.Type == v1.TuningInt {
			lo, hi = math.Log(d.Low-0.5+1e-12), math.Log(d.High+0.5)
		}
		return d.snap(math.Exp(lo + r.Float64()*(hi-lo)))
	}
	return d.snap(d.Low + r.Float64()*(d.High-d.Low))
}

// gridPoint is point n of the grid in an order shuffled by the seed (as
// Optuna's GridSampler), so that a partial grid is spread over the space.
func gridPoint(sp Space, seed int64, n int) ([]float64, error) {
	values := make([][]float64, len(sp.Dims))
	size := 1
	for i, d := range sp.Dims {
		vs, err := d.gridValues()
		if err != nil {
			return nil, err
		}
		values[i] = vs
		size *= len(vs)
	}
	if n >= size {
		return nil, ErrGridDone
	}
	idx := rand.New(rand.NewPCG(uint64(seed), 0x6772696400000000)).Perm(size)[n]
	x := make([]float64, len(sp.Dims))
	for i := len(sp.Dims) - 1; i >= 0; i-- {
		k := len(values[i])
		x[i] = values[i][idx%k]
		idx /= k
	}
	return x, nil
}
