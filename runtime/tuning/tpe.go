package tuning

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// TPE is the tree-structured Parzen estimator of Bergstra et al. (2011,
// "Algorithms for Hyper-Parameter Optimization"), univariate, with
// Optuna's defaults: the observed trials are split at gamma(n) =
// min(ceil(0.1 n), 25) into good (l) and bad (g); each dimension gets a
// Parzen estimator of each group (a truncated Gaussian per observation,
// bandwidth from the distances to its neighbours clipped by the "magic
// clip", plus a prior component at the middle of the range of weight 1,
// endpoints not considered); 24 candidates are drawn from l and the one
// maximizing l(x)/g(x) is suggested. Older observations weigh less once
// there are more than 25. The first 10 trials are random.
type TPE struct {
	// StartupTrials are random (default 10).
	StartupTrials int
	// EICandidates are drawn per suggestion (default 24).
	EICandidates int
	// PriorWeight is the weight of the prior component (default 1).
	PriorWeight float64
}

// Optuna's defaults.
const (
	tpeStartup    = 10
	tpeCandidates = 24
	tpePrior      = 1.0
)

func (t TPE) withDefaults() TPE {
	if t.StartupTrials == 0 {
		t.StartupTrials = tpeStartup
	}
	if t.EICandidates == 0 {
		t.EICandidates = tpeCandidates
	}
	if t.PriorWeight == 0 {
		t.PriorWeight = tpePrior
	}
	return t
}

// gamma is how many of n observations are "good".
func gamma(n int) int { return min(int(math.Ceil(0.1*float64(n))), 25) }

// defaultWeights weigh n observations in trial order: equal up to 25, then
// a ramp from 1/n up to 1 for all but the 25 most recent.
func defaultWeights(n int) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	if n < 25 {
		return w
	}
	ramp := n - 25
	for i := range ramp {
		if ramp == 1 {
			w[i] = 1 / float64(n)
			continue
		}
		w[i] = 1/float64(n) + (1-1/float64(n))*float64(i)/float64(ramp-1)
	}
	return w
}

// Suggest draws a point given the observations (completed and pruned trials).
func (t TPE) Suggest(sp Space, r *rand.Rand, obs []Observation) []float64 {
	t = t.withDefaults()
	if len(obs) < t.StartupTrials {
		return randomPoint(sp, r)
	}
	below, above := split(obs)
	x := make([]float64, len(sp.Dims))
	for i, d := range sp.Dims {
		lx, gx := column(below, i), column(above, i)
		if d.Type == v1.TuningCategorical {
			x[i] = t.categorical(d, r, lx, gx)
		} else {
			x[i] = t.numerical(d, r, lx, gx)
		}
	}
	return x
}

// split orders the observations best first (completed by loss, then pruned
// by depth and loss, those without a value last) and cuts at gamma; each
// half goes back to trial order, which the weights follow.
func split(obs []Observation) (below, above []Observation) {
	ordered := slices.Clone(obs)
	slices.SortStableFunc(ordered, func(a, b Observation) int {
		if a.Pruned != b.Pruned {
			if a.Pruned {
				return 1
			}
			return -1
		}
		if a.Pruned {
			if a.HasLoss != b.HasLoss {
				if a.HasLoss {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(b.Step, a.Step); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Loss, b.Loss)
	})
	n := gamma(len(ordered))
	below, above = ordered[:n], ordered[n:]
	byNumber := func(a, b Observation) int { return cmp.Compare(a.Number, b.Number) }
	slices.SortFunc(below, byNumber)
	slices.SortFunc(above, byNumber)
	return below, above
}

func column(obs []Observation, i int) []float64 {
	out := make([]float64, len(obs))
	for j, o := range obs {
		out[j] = o.X[i]
	}
	return out
}

// parzen is a mixture of Gaussians truncated to [low, high]. norm and
// inv hold what logPDF needs of each component that does not depend on x:
// log(weight / (σ √(2π) Z)) and 1/σ.
type parzen struct {
	weights, mus, sigmas []float64
	low, high            float64
	norm, inv, terms     []float64
}

func (t TPE) newParzen(obs []float64, low, high float64) parzen {
	n := len(obs)
	p := parzen{low: low, high: high}
	w := defaultWeights(n)
	p.weights = append(w, t.PriorWeight)
	sum := 0.0
	for _, v := range p.weights {
		sum += v
	}
	for i := range p.weights {
		p.weights[i] /= sum
	}
	sigmas := make([]float64, n)
	if n > 0 {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(obs[a], obs[b]) })
		sorted := make([]float64, n+2)
		sorted[0], sorted[n+1] = low, high
		for i, j := range idx {
			sorted[i+1] = obs[j]
		}
		ss := make([]float64, n)
		for i := range n {
			ss[i] = math.Max(sorted[i+1]-sorted[i], sorted[i+2]-sorted[i+1])
		}
		// Endpoints are not considered: the outermost observations look
		// only inwards.
		if n+2 >= 4 {
			ss[0] = sorted[2] - sorted[1]
			ss[n-1] = sorted[n] - sorted[n-1]
		}
		for i, j := range idx {
			sigmas[j] = ss[i]
		}
	}
	// The magic clip (Bergstra et al.): no bandwidth below the range over
	// min(100, 1 + kernels) nor above the range.
	maxSigma := high - low
	minSigma := (high - low) / math.Min(100, 1+float64(n+1))
	for i := range sigmas {
		sigmas[i] = math.Min(math.Max(sigmas[i], minSigma), maxSigma)
	}
	p.mus = append(slices.Clone(obs), 0.5*(low+high))
	p.sigmas = append(sigmas, high-low)
	const logSqrt2Pi = 0.9189385332046727
	p.norm, p.inv, p.terms = make([]float64, len(p.mus)), make([]float64, len(p.mus)), make([]float64, len(p.mus))
	for k, mu := range p.mus {
		sg := p.sigmas[k]
		p.inv[k] = 1 / sg
		p.norm[k] = math.Log(p.weights[k]) - math.Log(sg) - logSqrt2Pi - logMass((low-mu)/sg, (high-mu)/sg)
	}
	return p
}

func phi(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// logMass is log(Φ(b) − Φ(a)), computed on the side of the mean where it is precise.
func logMass(a, b float64) float64 {
	if a > 0 {
		a, b = -b, -a
	}
	return math.Log(math.Max(phi(b)-phi(a), 1e-300))
}

func (p parzen) sample(r *rand.Rand) float64 {
	u, k := r.Float64(), 0
	for acc := 0.0; k < len(p.weights)-1; k++ {
		acc += p.weights[k]
		if u < acc {
			break
		}
	}
	mu, sigma := p.mus[k], p.sigmas[k]
	a, b := (p.low-mu)/sigma, (p.high-mu)/sigma
	flip := a > 0
	if flip {
		a, b = -b, -a
	}
	pa, pb := phi(a), phi(b)
	z := -math.Sqrt2 * math.Erfcinv(2*(pa+r.Float64()*(pb-pa)))
	if flip {
		z = -z
	}
	x := mu + sigma*z
	if math.IsNaN(x) {
		x = mu
	}
	return math.Min(math.Max(x, p.low), p.high)
}

func (p parzen) logPDF(x float64) float64 {
	best := math.Inf(-1)
	for k, mu := range p.mus {
		z := (x - mu) * p.inv[k]
		p.terms[k] = p.norm[k] - 0.5*z*z
		best = math.Max(best, p.terms[k])
	}
	if math.IsInf(best, -1) {
		return best
	}
	sum := 0.0
	for _, v := range p.terms {
		// Terms 50 below the largest add less than e⁻⁵⁰ of it.
		if d := v - best; d > -50 {
			sum += math.Exp(d)
		}
	}
	return best + math.Log(sum)
}

// numerical suggests an int or float: in log space for log, widened by
// half a step on each side for stepped values (so the ends get their share).
func (t TPE) numerical(d Dim, r *rand.Rand, below, above []float64) float64 {
	low, high := d.Low, d.High
	to := func(x float64) float64 { return x }
	from := to
	switch {
	case d.Log:
		if d.Type == v1.TuningInt {
			low, high = d.Low-0.5, d.High+0.5
		}
		low, high = math.Log(low), math.Log(high)
		to, from = math.Log, math.Exp
	case d.Step > 0:
		low, high = d.Low-d.Step/2, d.High+d.Step/2
	}
	if low >= high {
		return d.Low
	}
	tr := func(xs []float64) []float64 {
		out := make([]float64, len(xs))
		for i, x := range xs {
			out[i] = math.Min(math.Max(to(x), low), high)
		}
		return out
	}
	l, g := t.newParzen(tr(below), low, high), t.newParzen(tr(above), low, high)
	best, bestScore := 0.0, math.Inf(-1)
	for range t.EICandidates {
		c := l.sample(r)
		if s := l.logPDF(c) - g.logPDF(c); s > bestScore {
			best, bestScore = c, s
		}
	}
	return d.snap(from(best))
}

// categorical suggests a choice: each observation is a kernel that puts
// its weight on its choice plus prior/kernels on every choice.
func (t TPE) categorical(d Dim, r *rand.Rand, below, above []float64) float64 {
	n := len(d.Choices)
	dist := func(obs []float64) []float64 {
		kernels := len(obs) + 1
		w := append(defaultWeights(len(obs)), t.PriorWeight)
		sum := 0.0
		for _, v := range w {
			sum += v
		}
		p := make([]float64, n)
		base := t.PriorWeight / float64(kernels)
		// Kernel k puts base on every choice and 1 more on its own
		// (the prior kernel on none), normalized.
		spread := 0.0
		for k := range kernels {
			rowSum := base * float64(n)
			if k < len(obs) {
				rowSum++
				p[int(obs[k])] += w[k] / sum / rowSum
			}
			spread += w[k] / sum * base / rowSum
		}
		for c := range p {
			p[c] += spread
		}
		return p
	}
	l, g := dist(below), dist(above)
	best, bestScore := 0, math.Inf(-1)
	for range t.EICandidates {
		u, c := r.Float64(), 0
		for acc := 0.0; c < n-1; c++ {
			acc += l[c]
			if u < acc {
				break
			}
		}
		if s := math.Log(l[c]) - math.Log(g[c]); s > bestScore {
			best, bestScore = c, s
		}
	}
	return float64(best)
}
