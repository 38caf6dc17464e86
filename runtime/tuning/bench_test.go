package tuning

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// BenchmarkTPESuggestAt1000Trials is the latency of one TPE suggestion with
// 1,000 completed trials observed (goal: at most 10 ms).
func BenchmarkTPESuggestAt1000Trials(b *testing.B) {
	sp := NewSpace([]v1.TuningParam{
		{Name: "C", Type: v1.TuningFloat, Min: new(1e-2), Max: new(1e2), Log: true},
		{Name: "gamma", Type: v1.TuningFloat, Min: new(1e-4), Max: new(1.0), Log: true},
		{Name: "layers", Type: v1.TuningInt, Min: new(1.0), Max: new(8.0)},
		{Name: "dropout", Type: v1.TuningFloat, Min: new(0.0), Max: new(0.5)},
		{Name: "opt", Type: v1.TuningCategorical, Values: []v1.Choice{"sgd", "adam", "rmsprop"}},
	})
	r := rand.New(rand.NewPCG(1, 2))
	obs := make([]Observation, 1000)
	for i := range obs {
		x := randomPoint(sp, r)
		obs[i] = Observation{Number: i, X: x, Loss: math.Log(x[0]) * math.Log(x[1]) / (1 + x[2]), HasLoss: true}
	}
	n := 0
	for b.Loop() {
		if _, err := Suggest(v1.AlgorithmTPE, sp, 7, 1000+n, obs); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/suggestion")
}

// branin is the Branin-Hoo function on x1 ∈ [-5, 10], x2 ∈ [0, 15]; its
// minimum is 0.397887 (at three points).
func branin(x []float64) float64 {
	const a, bb, c, r, s, t = 1, 5.1 / (4 * math.Pi * math.Pi), 5 / math.Pi, 6, 10, 1 / (8 * math.Pi)
	return a*math.Pow(x[1]-bb*x[0]*x[0]+c*x[0]-r, 2) + s*(1-t)*math.Cos(x[0]) + s
}

// BenchmarkBraninTrialsToRandomsBest: per seed, the best value random
// search finds in 100 trials, and how many trials TPE needs to reach it
// (at most 400); the median over 10 seeds (goal: at most 40), next to the
// trial at which random itself found it.
func BenchmarkBraninTrialsToRandomsBest(b *testing.B) {
	sp := NewSpace([]v1.TuningParam{{Name: "x1", Type: v1.TuningFloat, Min: new(-5.0), Max: new(10.0)}, {Name: "x2", Type: v1.TuningFloat, Min: new(0.0), Max: new(15.0)}})
	const seeds, randomTrials, cap = 10, 100, 400
	var tpeNeeds, randomNeeds, randomBest []float64
	for b.Loop() {
		tpeNeeds, randomNeeds, randomBest = nil, nil, nil
		for seed := range int64(seeds) {
			_, ys := run(v1.AlgorithmRandom, sp, seed, randomTrials, branin)
			target := slices.Min(ys)
			randomBest = append(randomBest, target)
			randomNeeds = append(randomNeeds, float64(slices.Index(ys, target)+1))
			tpeNeeds = append(tpeNeeds, float64(trialsToReach(sp, seed+1000, target, cap)))
		}
	}
	b.ReportMetric(median(tpeNeeds), "tpe-trials-median")
	b.ReportMetric(median(randomNeeds), "random-trials-median")
	b.ReportMetric(median(randomBest), "random-best-median")
	b.Logf("Branin, 10 seeds: random's best of 100 trials %v (found at trial %v); TPE reached it after %v trials (median %.0f, goal <= 40)",
		rounded(randomBest), randomNeeds, tpeNeeds, median(tpeNeeds))
}

// trialsToReach runs TPE sequentially until its best is at most target.
func trialsToReach(sp Space, seed int64, target float64, cap int) int {
	var obs []Observation
	for i := range cap {
		x, _ := Suggest(v1.AlgorithmTPE, sp, seed, i, obs)
		y := branin(x)
		if y <= target {
			return i + 1
		}
		obs = append(obs, Observation{Number: i, X: x, Loss: y, HasLoss: true})
	}
	return cap
}

func rounded(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = math.Round(x*1000) / 1000
	}
	return out
}
