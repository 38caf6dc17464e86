package tuning

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// Space is a search space as the samplers see it: one dimension per
// parameter, in the order of the spec.
type Space struct {
	Dims []Dim
}

// Dim is one parameter. Values are numbers: the parameter's own value for
// int and float, the index of the choice for categorical.
type Dim struct {
	Name       string
	Type       string
	Low, High  float64
	Log        bool
	Step       float64
	GridPoints int
	Choices    []string
}

// NewSpace reads a validated spec's parameters.
func NewSpace(params []v1.TuningParam) Space {
	sp := Space{Dims: make([]Dim, len(params))}
	for i, p := range params {
		d := Dim{Name: p.Name, Type: p.Type, Log: p.Log, Step: p.Step, GridPoints: p.GridPoints}
		if p.Min != nil {
			d.Low = *p.Min
		}
		if p.Max != nil {
			d.High = *p.Max
		}
		if p.Type == v1.TuningInt && d.Step == 0 && !p.Log {
			d.Step = 1
		}
		for _, c := range p.Values {
			d.Choices = append(d.Choices, string(c))
		}
		sp.Dims[i] = d
	}
	return sp
}

// Text is how a value is substituted and stored.
func (d Dim) Text(x float64) string {
	switch d.Type {
	case v1.TuningCategorical:
		return d.Choices[int(x)]
	case v1.TuningInt:
		return strconv.FormatInt(int64(x), 10)
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// Parse reads a stored value back.
func (d Dim) Parse(s string) (float64, error) {
	if d.Type == v1.TuningCategorical {
		i := slices.Index(d.Choices, s)
		if i < 0 {
			return 0, fmt.Errorf("parameter %s: %q is not one of its values", d.Name, s)
		}
		return float64(i), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", d.Name, err)
	}
	return x, nil
}

// Texts turns a point into the trial's parameter values.
func (sp Space) Texts(x []float64) map[string]string {
	out := make(map[string]string, len(sp.Dims))
	for i, d := range sp.Dims {
		out[d.Name] = d.Text(x[i])
	}
	return out
}

// Point reads a trial's stored parameter values.
func (sp Space) Point(values map[string]string) ([]float64, error) {
	x := make([]float64, len(sp.Dims))
	for i, d := range sp.Dims {
		s, ok := values[d.Name]
		if !ok {
			return nil, fmt.Errorf("no value of parameter %s", d.Name)
		}
		v, err := d.Parse(s)
		if err != nil {
			return nil, err
		}
		x[i] = v
	}
	return x, nil
}

// snap rounds a numeric value onto the dimension's steps and bounds.
func (d Dim) snap(x float64) float64 {
	if d.Step > 0 {
		x = d.Low + math.Round((x-d.Low)/d.Step)*d.Step
		for x > d.High+1e-9*math.Max(1, math.Abs(d.High)) {
			x -= d.Step
		}
	}
	if d.Type == v1.TuningInt {
		x = math.Round(x)
	} else if d.Step > 0 {
		x = tidy(x)
	}
	return math.Min(math.Max(x, d.Low), d.High)
}

// tidy rounds away the last bits of floating-point noise (0.1*3 is
// 0.30000000000000004), to 12 significant digits, so that computed grid
// and step values read as written.
func tidy(x float64) float64 {
	v, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
	if err != nil {
		return x
	}
	return v
}

// gridValues are the values a grid tries for the dimension.
func (d Dim) gridValues() ([]float64, error) {
	switch {
	case d.Type == v1.TuningCategorical:
		out := make([]float64, len(d.Choices))
		for i := range out {
			out[i] = float64(i)
		}
		return out, nil
	case d.Step > 0:
		n := math.Floor((d.High-d.Low)/d.Step+1e-9) + 1
		if n > v1.MaxTuningGrid {
			return nil, fmt.Errorf("parameter %s has %.0f grid values, more than %d", d.Name, n, v1.MaxTuningGrid)
		}
		out := make([]float64, int(n))
		for i := range out {
			out[i] = d.snap(d.Low + float64(i)*d.Step)
		}
		return out, nil
	}
	n := d.GridPoints
	if n <= 0 {
		n = DefaultGridPoints
	}
	if d.Low == d.High || n == 1 {
		return []float64{d.Low}, nil
	}
	var out []float64
	for i := range n {
		f := float64(i) / float64(n-1)
		var x float64
		switch {
		case i == 0:
			x = d.Low
		case i == n-1:
			x = d.High
		case d.Log:
			x = tidy(math.Exp(math.Log(d.Low) + f*(math.Log(d.High)-math.Log(d.Low))))
		default:
			x = tidy(d.Low + f*(d.High-d.Low))
		}
		x = d.snap(x)
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out, nil
}

// GridSize is the number of points of the full grid.
func (sp Space) GridSize() (int, error) {
	n := 1
	for _, d := range sp.Dims {
		vs, err := d.gridValues()
		if err != nil {
			return 0, err
		}
		n *= len(vs)
		if n > v1.MaxTuningGrid {
			return 0, fmt.Errorf("the grid has more than %d points", v1.MaxTuningGrid)
		}
	}
	return n, nil
}
