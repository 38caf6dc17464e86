package tuning

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

func TestGridSuggestsEveryPointOnceThenIsExhausted(t *testing.T) {
	t.Parallel()
	params := []v1.TuningParam{
		{Name: "n", Type: v1.TuningInt, Min: new(1.0), Max: new(3.0)},
		{Name: "k", Type: v1.TuningCategorical, Values: []v1.Choice{"a", "b"}},
		{Name: "lr", Type: v1.TuningFloat, Min: new(1e-3), Max: new(1e-1), Log: true, GridPoints: 3},
	}
	sp := NewSpace(params)
	size, err := sp.GridSize()
	if err != nil || size != 18 {
		t.Fatalf("grid size %d, %v; want 18", size, err)
	}
	seen := map[string]bool{}
	for n := range size {
		x, err := Suggest(v1.AlgorithmGrid, sp, 3, n, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := sp.Texts(x)
		key := fmt.Sprint(p["n"], p["k"], p["lr"])
		if seen[key] {
			t.Errorf("point %s suggested twice", key)
		}
		seen[key] = true
	}
	for _, n := range []string{"1", "2", "3"} {
		for _, k := range []string{"a", "b"} {
			for _, lr := range []string{"0.001", "0.01", "0.1"} {
				if !seen[fmt.Sprint(n, k, lr)] {
					t.Errorf("grid point n=%s k=%s lr=%s never suggested (got %v)", n, k, lr, seen)
				}
			}
		}
	}
	if _, err := Suggest(v1.AlgorithmGrid, sp, 3, size, nil); !errors.Is(err, ErrGridDone) {
		t.Errorf("suggestion %d of a grid of %d: %v, want ErrGridDone", size, size, err)
	}
	spec := v1.TuningSpec{Name: "g", Objective: v1.TuningObjective{Metric: "m", Direction: v1.Minimize}, Parameters: params, Algorithm: v1.AlgorithmGrid,
		Trial: v1.TrialTemplate{Image: "i", Command: []string{"run", "${params.n}", "${params.k}", "${params.lr}"}}}
	if err := Validate("spec", &spec); err != nil || spec.MaxTrials != 18 {
		t.Errorf("a grid's maxTrials defaults to its size: %d, %v", spec.MaxTrials, err)
	}
}

func TestRandomRespectsBoundsStepsAndTheSeed(t *testing.T) {
	t.Parallel()
	sp := NewSpace([]v1.TuningParam{
		{Name: "i", Type: v1.TuningInt, Min: new(-5.0), Max: new(5.0)},
		{Name: "il", Type: v1.TuningInt, Min: new(1.0), Max: new(1000.0), Log: true},
		{Name: "f", Type: v1.TuningFloat, Min: new(0.0), Max: new(1.0), Step: 0.25},
		{Name: "lr", Type: v1.TuningFloat, Min: new(1e-5), Max: new(1e-1), Log: true},
		{Name: "c", Type: v1.TuningCategorical, Values: []v1.Choice{"x", "y", "z"}},
	})
	draw := func(seed int64) [][]float64 {
		var out [][]float64
		for n := range 2000 {
			x, _ := Suggest(v1.AlgorithmRandom, sp, seed, n, nil)
			out = append(out, x)
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	small := 0
	for n, x := range a {
		if !slices.Equal(x, b[n]) {
			t.Fatalf("seed 1 draws %v then %v for trial %d", x, b[n], n)
		}
		if x[0] < -5 || x[0] > 5 || x[0] != math.Trunc(x[0]) || x[1] < 1 || x[1] > 1000 || x[1] != math.Trunc(x[1]) {
			t.Errorf("int out of bounds or not whole: %v", x)
		}
		if x[2] < 0 || x[2] > 1 || math.Mod(x[2], 0.25) != 0 {
			t.Errorf("stepped float off its steps: %v", x[2])
		}
		if x[3] < 1e-5 || x[3] > 1e-1 {
			t.Errorf("log float out of bounds: %v", x[3])
		}
		if x[3] < 1e-3 {
			small++
		}
		if x[4] != 0 && x[4] != 1 && x[4] != 2 {
			t.Errorf("categorical index %v", x[4])
		}
	}
	// Log-uniform over 4 decades: half the draws are below 1e-3.
	if small < 850 || small > 1150 {
		t.Errorf("%d of 2000 log-uniform draws below 1e-3, want about 1000", small)
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Error("seeds 1 and 2 draw the same")
	}
}

// run drives a sequential search of n trials on f and returns the points.
func run(alg string, sp Space, seed int64, n int, f func([]float64) float64) ([][]float64, []float64) {
	var obs []Observation
	var xs [][]float64
	var ys []float64
	for i := range n {
		x, err := Suggest(alg, sp, seed, i, obs)
		if err != nil {
			panic(err)
		}
		y := f(x)
		obs = append(obs, Observation{Number: i, X: x, Loss: y, HasLoss: true})
		xs, ys = append(xs, x), append(ys, y)
	}
	return xs, ys
}

func TestTPEConcentratesWhereTheObjectiveIsGood(t *testing.T) {
	t.Parallel()
	sp := NewSpace([]v1.TuningParam{
		{Name: "x", Type: v1.TuningFloat, Min: new(0.0), Max: new(1.0)},
		{Name: "lr", Type: v1.TuningFloat, Min: new(1e-5), Max: new(1.0), Log: true},
		{Name: "opt", Type: v1.TuningCategorical, Values: []v1.Choice{"sgd", "adam", "rmsprop", "adagrad"}},
	})
	// Best at x = 0.7, lr = 1e-2, opt = adam.
	f := func(x []float64) float64 {
		loss := (x[0]-0.7)*(x[0]-0.7) + 0.05*math.Pow(math.Log10(x[1])+2, 2)
		if x[2] != 1 {
			loss += 0.3
		}
		return loss
	}
	tpeDist, randDist, tpeAdam := 0.0, 0.0, 0
	const seeds, trials, tail = 5, 80, 30
	for seed := range int64(seeds) {
		xt, _ := run(v1.AlgorithmTPE, sp, seed, trials, f)
		xr, _ := run(v1.AlgorithmRandom, sp, seed, trials, f)
		for i := trials - tail; i < trials; i++ {
			tpeDist += math.Abs(xt[i][0] - 0.7)
			randDist += math.Abs(xr[i][0] - 0.7)
			if xt[i][2] == 1 {
				tpeAdam++
			}
		}
	}
	tpeDist /= seeds * tail
	randDist /= seeds * tail
	t.Logf("mean |x-0.7| of the last %d suggestions: TPE %.3f, random %.3f; TPE chose adam %d of %d", tail, tpeDist, randDist, tpeAdam, seeds*tail)
	if tpeDist > randDist/2 {
		t.Errorf("TPE's late suggestions are %.3f from the optimum, random's %.3f: no concentration", tpeDist, randDist)
	}
	if tpeAdam < seeds*tail/2 {
		t.Errorf("TPE chose the best choice %d of %d times", tpeAdam, seeds*tail)
	}
}

func TestTPEIsAFunctionOfSeedTrialAndObservations(t *testing.T) {
	t.Parallel()
	sp := NewSpace([]v1.TuningParam{{Name: "x", Type: v1.TuningFloat, Min: new(-3.0), Max: new(3.0)}, {Name: "n", Type: v1.TuningInt, Min: new(1.0), Max: new(9.0)}})
	f := func(x []float64) float64 { return x[0]*x[0] + math.Abs(x[1]-4) }
	a, _ := run(v1.AlgorithmTPE, sp, 11, 40, f)
	b, _ := run(v1.AlgorithmTPE, sp, 11, 40, f)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("the same seed and observations gave other suggestions")
	}
	for _, x := range a {
		if x[0] < -3 || x[0] > 3 || x[1] < 1 || x[1] > 9 || x[1] != math.Trunc(x[1]) {
			t.Errorf("suggestion out of the space: %v", x)
		}
	}
}

func TestMedianRuleStopsTrialsWorseThanTheMedianAtTheirStep(t *testing.T) {
	t.Parallel()
	rule := MedianRule{StartupTrials: 3, WarmupSteps: 2, MinTrials: 2}
	for _, c := range []struct {
		name      string
		minimize  bool
		completed int
		step      int64
		best      float64
		atStep    []float64
		prune     bool
	}{
		{"worse than the median, maximizing", false, 4, 5, 0.4, []float64{0.5, 0.6, 0.7, 0.3}, true},
		{"better than the median, maximizing", false, 4, 5, 0.6, []float64{0.5, 0.6, 0.7, 0.3}, false},
		{"equal to the median goes on", false, 3, 5, 0.6, []float64{0.5, 0.6, 0.7}, false},
		{"worse than the median, minimizing", true, 3, 5, 2, []float64{1, 1.5, 3}, true},
		{"better, minimizing", true, 3, 5, 1, []float64{1, 1.5, 3}, false},
		{"before startup trials completed", false, 2, 5, 0.1, []float64{0.5, 0.6}, false},
		{"during warmup", false, 4, 1, 0.1, []float64{0.5, 0.6, 0.7}, false},
		{"too few completed trials reached the step", false, 4, 5, 0.1, []float64{0.5}, false},
		{"a NaN trial is stopped", false, 4, 5, math.NaN(), []float64{0.5, 0.6}, true},
		{"NaN values of others are left out", true, 3, 5, 2, []float64{math.NaN(), 1, 3}, false},
	} {
		d := rule.Decide(c.minimize, c.completed, c.step, c.best, c.atStep)
		if d.Prune != c.prune {
			t.Errorf("%s: prune %v (median %v), want %v", c.name, d.Prune, d.Median, c.prune)
		}
	}
}

func TestDefaultWeightsRampOlderObservationsDown(t *testing.T) {
	t.Parallel()
	if w := defaultWeights(10); slices.ContainsFunc(w, func(v float64) bool { return v != 1 }) {
		t.Errorf("under 25 observations weigh the same: %v", w)
	}
	w := defaultWeights(30)
	if w[0] != 1.0/30 || w[4] != 1 || w[5] != 1 || w[29] != 1 || !(w[1] > w[0] && w[2] > w[1]) {
		t.Errorf("30 observations: %v", w)
	}
	for n, want := range map[int]int{1: 1, 10: 1, 11: 2, 100: 10, 1000: 25} {
		if g := gamma(n); g != want {
			t.Errorf("gamma(%d) = %d, want %d", n, g, want)
		}
	}
}
