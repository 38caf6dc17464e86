package pipelines

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// unit is one row a step wants: the step itself, or one item of its fan-out.
type unit struct {
	row   string
	item  *int32
	value string
}

// runState is one pass's view of a run.
type runState struct {
	r    store.PipelineRun
	g    *Graph
	rows map[string]*store.PipelineStep
	// units maps a step to its rows, once its dependencies let it be expanded.
	units map[string][]unit
	// exp is the experiment the run and its steps are tracked in.
	exp int64
	// failed is why the pods of rows that failed did (kind, message),
	// explained before the pass's transaction.
	failed map[string][2]string
	// queue admits the pass's starting steps (nil: no admission).
	queue *jobs.Queue
}

// newRunState is a run's view for a pass, from the steps read for it.
func (e *Engine) newRunState(ctx context.Context, r store.PipelineRun, rows []store.PipelineStep) (*runState, error) {
	g, err := e.graph(ctx, r)
	if err != nil {
		return nil, err
	}
	exp, err := e.experiment(ctx, r.PipelineID)
	if err != nil {
		return nil, err
	}
	st := &runState{r: r, g: g, rows: make(map[string]*store.PipelineStep, len(rows)), units: map[string][]unit{}, exp: exp, failed: map[string][2]string{}}
	for i := range rows {
		st.rows[rows[i].Name] = &rows[i]
	}
	return st, nil
}

// syncRun moves a run's steps in tx and says which pods to create.
func (e *Engine) syncRun(ctx context.Context, tx *store.Tx, st *runState, pods map[string]*corev1.Pod, wanted map[string]bool) ([]*startOp, error) {
	if st.r.State == store.PipelineRunPending {
		var err error
		if st.r, err = tx.SetPipelineRunState(ctx, st.r, store.PipelineRunRunning, ""); err != nil {
			return nil, err
		}
	}
	var starts []*startOp
	mainDone := true
	for _, name := range st.g.Order {
		if st.g.Finally[name] {
			if !mainDone {
				continue
			}
		}
		done, err := e.syncStep(ctx, tx, st, name, pods, wanted, &starts)
		if err != nil {
			return nil, err
		}
		if !st.g.Finally[name] {
			mainDone = mainDone && done
		}
	}
	return starts, e.finishRun(ctx, tx, st)
}

// stepDone says whether every row of a step exists and is final, and whether one did not succeed.
func (st *runState) stepDone(name string) (done, failed bool) {
	us, ok := st.units[name]
	if !ok {
		return false, false
	}
	for _, u := range us {
		row := st.rows[u.row]
		if row == nil || !v1.PipelineRunState(row.State).Done() {
			return false, failed
		}
		switch row.State {
		case store.PipelineRunFailed, store.PipelineRunCancelled:
			failed = true
		case string(v1.StepSkipped):
			if strings.HasPrefix(row.Reason, "upstream") {
				failed = true
			}
		}
	}
	return true, failed
}

// syncStep expands a step once its dependencies ended and moves each of its rows.
func (e *Engine) syncStep(ctx context.Context, tx *store.Tx, st *runState, name string, pods map[string]*corev1.Pod, wanted map[string]bool, starts *[]*startOp) (bool, error) {
	s := st.g.Steps[name]
	var failedDep string
	for _, d := range st.g.Deps[name] {
		done, failed := st.stepDone(d)
		if !done {
			return false, nil
		}
		if failed && failedDep == "" {
			failedDep = d
		}
	}
	units, err := st.expand(s)
	if err != nil {
		units = []unit{{row: name}}
		if st.rows[name] == nil {
			return false, st.put(ctx, tx, &store.PipelineStep{RunID: st.r.ID, Name: name, Step: name, State: store.PipelineRunFailed, Reason: err.Error()})
		}
	}
	st.units[name] = units
	running := 0
	for _, u := range units {
		if row := st.rows[u.row]; row != nil && row.State == store.PipelineRunRunning {
			running++
		}
	}
	for _, u := range units {
		row := st.rows[u.row]
		if row == nil {
			row = &store.PipelineStep{RunID: st.r.ID, Name: u.row, Step: name, Item: u.item, ItemValue: u.value, State: store.PipelineRunPending}
			if err := e.admit(ctx, tx, st, s, row, failedDep); err != nil {
				return false, err
			}
		}
		switch row.State {
		case store.PipelineRunPending:
			if s.ParallelFor != nil && s.ParallelFor.Parallelism > 0 && int32(running) >= s.ParallelFor.Parallelism {
				continue
			}
			if row.RetryAt != nil && e.Now().Before(*row.RetryAt) {
				continue
			}
			if key := tenants.Namespace(st.r.Tenant) + "/" + PodName(st.r.RunID, row.Name, row.Attempt); pods[key] != nil && row.ChildRun != "" {
				// The pod was made before the row said so (a restart in between): adopt it.
				row.State, row.Pod = store.PipelineRunRunning, pods[key].Name
				if err := st.put(ctx, tx, row); err != nil {
					return false, err
				}
				running++
				wanted[key] = true
				continue
			}
			if ok, err := e.admitStep(ctx, tx, st, s, row); err != nil || !ok {
				if err != nil {
					return false, err
				}
				continue
			}
			op, err := e.prepareStart(ctx, tx, st, s, row)
			if err != nil {
				return false, err
			}
			*starts = append(*starts, op)
			running++
		case store.PipelineRunRunning:
			key := tenants.Namespace(st.r.Tenant) + "/" + row.Pod
			op, err := e.observe(ctx, tx, st, s, row, pods[key])
			if err != nil {
				wanted[key] = true
				return false, err
			}
			if op != nil {
				*starts = append(*starts, op)
			} else if row := st.rows[u.row]; row.State == store.PipelineRunRunning {
				wanted[tenants.Namespace(st.r.Tenant)+"/"+row.Pod] = true
			}
		}
	}
	done, _ := st.stepDone(name)
	return done, nil
}

// expand lists the rows of a step whose dependencies have ended.
func (st *runState) expand(s v1.Step) ([]unit, error) {
	if s.ParallelFor == nil {
		return []unit{{row: s.Name}}, nil
	}
	list, err := st.resolve(s, s.ParallelFor.Items, nil)
	if err != nil {
		return nil, err
	}
	items, err := ListItems(list)
	if err != nil {
		return nil, fmt.Errorf("parallelFor items: %w", err)
	}
	if len(items) > v1.MaxParallelFor {
		return nil, fmt.Errorf("parallelFor over %d items, more than %d", len(items), v1.MaxParallelFor)
	}
	out := make([]unit, len(items))
	for i, it := range items {
		n := int32(i)
		out[i] = unit{row: fmt.Sprintf("%s[%d]", s.Name, i), item: &n, value: it}
	}
	return out, nil
}

// resolve substitutes the references of text for a row (item: its fan-out value).
func (st *runState) resolve(s v1.Step, text string, item *string) (string, error) {
	return Substitute(text, func(r Ref) (string, error) {
		switch r.Kind {
		case RefParam:
			v, ok := st.r.Parameters[r.Name]
			if !ok {
				return "", fmt.Errorf("no parameter %s", r.Name)
			}
			return v, nil
		case RefItem:
			if item == nil {
				return "", errors.New("{{item}} outside a fan-out")
			}
			return *item, nil
		case RefStepParam, RefStepArtifact:
			return st.output(r.Step, r.Name)
		}
		return "", fmt.Errorf("cannot resolve %s", r.Raw)
	})
}

// output is an upstream step's output; a fanned-out step's is the JSON list of its items' values.
func (st *runState) output(step, name string) (string, error) {
	us := st.units[step]
	if st.g.Steps[step].ParallelFor == nil {
		if row := st.rows[step]; row != nil {
			if v, ok := row.Outputs[name]; ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("step %s did not report output %s", step, name)
	}
	vals := make([]string, 0, len(us))
	for _, u := range us {
		row := st.rows[u.row]
		v := ""
		if row != nil {
			v = row.Outputs[name]
		}
		vals = append(vals, jsonValue(v))
	}
	return "[" + strings.Join(vals, ",") + "]", nil
}

// jsonValue is v as a JSON value: itself when it is JSON, else a string.
func jsonValue(v string) string {
	if err := CheckParam(v1.ParamFloat, v); err == nil {
		return v
	}
	if v == "true" || v == "false" {
		return v
	}
	b, _ := marshalString(v)
	return b
}

// put writes a row in tx and keeps it as the run's view.
func (st *runState) put(ctx context.Context, tx *store.Tx, row *store.PipelineStep) error {
	if err := tx.PutPipelineStep(ctx, *row); err != nil {
		return err
	}
	st.rows[row.Name] = row
	return nil
}

func isForbidden(err error) bool { return apierrors.IsForbidden(err) }
