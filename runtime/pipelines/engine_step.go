package pipelines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/controller"
	"github.com/ferry-ml/ferry/runtime/metrics"
	"github.com/ferry-ml/ferry/store"
)

func marshalString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// prepared is a row's command line and inputs, references resolved.
type prepared struct {
	args   []string
	env    map[string]string
	params map[string]string
	inputs map[string]string // name → hex digest
}

func (st *runState) prepare(s v1.Step, row *store.PipelineStep) (prepared, error) {
	var item *string
	if row.Item != nil {
		item = &row.ItemValue
	}
	p := prepared{env: map[string]string{}, params: map[string]string{}, inputs: map[string]string{}}
	for _, a := range s.Args {
		v, err := st.resolve(s, a, item)
		if err != nil {
			return p, err
		}
		p.args = append(p.args, v)
	}
	for k, t := range s.Env {
		v, err := st.resolve(s, t, item)
		if err != nil {
			return p, err
		}
		p.env[k] = v
	}
	for k, t := range s.Inputs.Parameters {
		v, err := st.resolve(s, t, item)
		if err != nil {
			return p, err
		}
		p.params[k] = v
	}
	if item != nil {
		p.params["item"] = *item
	}
	for k, t := range s.Inputs.Artifacts {
		v, err := st.resolve(s, t, nil)
		if err != nil {
			return p, err
		}
		d, ok := strings.CutPrefix(v, "sha256:")
		if !ok || len(d) != 64 {
			return p, fmt.Errorf("input %s: %s is not an artifact digest", k, v)
		}
		p.inputs[k] = d
	}
	return p, nil
}

func (st *runState) cacheInput(s v1.Step, p prepared, imageID string) CacheInput {
	outs := append(append(append([]string{}, s.Outputs.Artifacts...), s.Outputs.Parameters...), s.Outputs.Metrics...)
	return CacheInput{ImageID: imageID, Command: s.Command, Args: p.args, Env: p.env, Params: p.params, Artifacts: p.inputs, Outputs: outs}
}

func cacheable(s v1.Step) bool { return s.Cache == nil || *s.Cache }

// pinnedDigest is the digest an image reference pins (name@sha256:…), or "".
func pinnedDigest(image string) string {
	if i := strings.Index(image, "@sha256:"); i >= 0 {
		return image[i+1:]
	}
	return ""
}

// admit makes a new row: skipped (upstream failed, or when is false),
// cached (an earlier identical step's outputs), or pending.
func (e *Engine) admit(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep, failedDep string) error {
	now := e.Now().UTC()
	end := func(state, reason string) error {
		row.State, row.Reason, row.StartedAt, row.FinishedAt = state, reason, &now, &now
		return st.put(ctx, tx, row)
	}
	if failedDep != "" && !st.g.Finally[s.Name] {
		return end(string(v1.StepSkipped), "upstream step "+failedDep+" did not succeed")
	}
	if s.When != "" {
		ok, err := st.when(s, row)
		if err != nil {
			return end(store.PipelineRunFailed, "when: "+err.Error())
		}
		if !ok {
			return end(string(v1.StepSkipped), "when "+s.When+" is false")
		}
	}
	p, err := st.prepare(s, row)
	if err != nil {
		return end(store.PipelineRunFailed, err.Error())
	}
	err = func() error {
		if cacheable(s) {
			imageID := pinnedDigest(s.Image)
			if imageID == "" {
				var err error
				if imageID, err = tx.PipelineImage(ctx, st.r.Tenant, s.Image); err != nil {
					return err
				}
			}
			if imageID != "" {
				row.CacheKey, row.ImageID = CacheKey(st.cacheInput(s, p, imageID)), imageID
				var maxAge time.Duration
				if s.CacheMaxAge != "" {
					maxAge, _ = time.ParseDuration(s.CacheMaxAge)
				}
				hit, err := tx.PipelineCache(ctx, st.r.Tenant, row.CacheKey, maxAge)
				if err == nil {
					row.State, row.Outputs, row.CachedFrom = string(v1.StepCached), hit.Outputs, hit.RunID
					row.Reason = "cached: outputs of run " + hit.RunID + " (step " + hit.Step + ")"
					row.StartedAt, row.FinishedAt = &now, &now
				} else if !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		return st.put(ctx, tx, row)
	}()
	if err == nil && row.CacheKey != "" {
		result := "miss"
		if row.State == string(v1.StepCached) {
			result = "hit"
		}
		metrics.StepCache.WithLabelValues(st.r.Tenant, result).Inc()
	}
	return err
}

// observeStep records an ended attempt's run time (a retried attempt's
// row is pending again and is not counted as an end).
func observeStep(tenant, state string, pod *corev1.Pod, err error) {
	if err != nil || pod.Status.StartTime == nil || (state != store.PipelineRunSucceeded && state != store.PipelineRunFailed) {
		return
	}
	metrics.StepDuration.WithLabelValues(tenant, state).Observe(time.Since(pod.Status.StartTime.Time).Seconds())
}

// when evaluates a step's condition.
func (st *runState) when(s v1.Step, row *store.PipelineStep) (bool, error) {
	m := whenExpr.FindStringSubmatch(s.When)
	if m == nil {
		return false, errors.New("not a condition")
	}
	var item *string
	if row.Item != nil {
		item = &row.ItemValue
	}
	left, err := st.resolve(s, m[1], item)
	if err != nil {
		return false, err
	}
	right := strings.Trim(m[3], `"'`)
	lf, lerr := strconv.ParseFloat(left, 64)
	rf, rerr := strconv.ParseFloat(right, 64)
	if lerr == nil && rerr == nil {
		switch m[2] {
		case "==":
			return lf == rf, nil
		case "!=":
			return lf != rf, nil
		case "<":
			return lf < rf, nil
		case "<=":
			return lf <= rf, nil
		case ">":
			return lf > rf, nil
		case ">=":
			return lf >= rf, nil
		}
	}
	switch m[2] {
	case "==":
		return left == right, nil
	case "!=":
		return left != right, nil
	}
	return false, fmt.Errorf("%s %s %s: ordering needs numbers", left, m[2], right)
}

// startOp is a step attempt about to start: its row (tracking run and
// token written) and the objects to create for it.
type startOp struct {
	st  *runState
	row *store.PipelineStep
	pod *corev1.Pod
	sec *corev1.Secret
	err error
}

// prepareStart gives a pending row its tracking run and a fresh token in
// tx and builds its pod; the pod is created once tx is committed, so that
// a restarted server finds the row's tracking run next to its pod.
func (e *Engine) prepareStart(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep) (*startOp, error) {
	p, err := st.prepare(s, row)
	if err != nil {
		return nil, err
	}
	if row.ChildRun == "" {
		child, err := tx.CreateStepRun(ctx, st.r, row.Name, p.inputs)
		if err != nil {
			return nil, err
		}
		row.ChildRun = child
	}
	if row.TokenID != "" {
		if err := tx.RevokeTokenID(ctx, row.TokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	u, err := tx.UserByName(ctx, st.r.CreatedBy)
	if err != nil {
		return nil, fmt.Errorf("the run's user %s: %w", st.r.CreatedBy, err)
	}
	tok, secret, err := tx.CreateScopedToken(ctx, u.ID, "pipeline step "+row.Name, store.RunScope(st.r.Tenant, row.ChildRun), tokenTTL(s))
	if err != nil {
		return nil, err
	}
	row.TokenID = tok.ID
	if err := st.put(ctx, tx, row); err != nil {
		return nil, err
	}
	pod, sec, err := StepPod(e.Pods, StepPodInput{Tenant: st.r.Tenant, RunID: st.r.RunID, Row: row.Name, Attempt: row.Attempt, Step: s,
		Args: p.args, Env: p.env, Params: p.params, Inputs: p.inputs, ChildRun: row.ChildRun, ExpID: st.exp}, secret)
	if err != nil {
		return nil, err
	}
	return &startOp{st: st, row: row, pod: pod, sec: sec}, nil
}

// create applies a starting step's Secret and pod, and keeps the pod as
// made until the informer's cache shows it.
func (e *Engine) create(ctx context.Context, op *startOp) error {
	ns := op.pod.Namespace
	if _, err := controller.CreateOrApply(ctx, e.Client.CoreV1().Secrets(ns), op.sec); err != nil {
		return err
	}
	pod, err := controller.CreateOrApply(ctx, e.Client.CoreV1().Pods(ns), op.pod)
	if err != nil {
		return err
	}
	e.made.add(pod, e.Now(), e.cached)
	return nil
}

// cached is a pod as the informer's cache holds it (none before Start).
func (e *Engine) cached(ns, name string) (*corev1.Pod, bool) {
	if e.pods == nil {
		return nil, false
	}
	p, err := e.pods.Pods(ns).Get(name)
	return p, err == nil
}

// started records in tx what creating a step's pod did: the row runs, or
// waits with the API server's refusal as its reason (a quota), or stays
// pending to be tried again.
func (e *Engine) started(ctx context.Context, tx *store.Tx, op *startOp) error {
	row := op.row
	if op.err != nil {
		if isForbidden(op.err) {
			row.Reason = "waiting: " + op.err.Error()
			return tx.PutPipelineStep(ctx, *row)
		}
		return op.err
	}
	now := e.Now().UTC()
	row.State, row.Pod, row.Reason = store.PipelineRunRunning, op.pod.Name, ""
	if row.StartedAt == nil {
		row.StartedAt = &now
	}
	return tx.PutPipelineStep(ctx, *row)
}

// tokenTTL bounds a step token: its timeout and retries, else a day.
func tokenTTL(s v1.Step) time.Duration {
	ttl := 24 * time.Hour
	if d, err := time.ParseDuration(s.Timeout); err == nil && s.Timeout != "" {
		tries := int64(1)
		if s.Retries != nil {
			tries += int64(s.Retries.Limit)
		}
		ttl = time.Duration(tries)*d + time.Hour
	}
	return ttl
}

// observe reads a running row's pod back in tx; a pod gone while its
// step ran (deleted by hand, or never created) is started again, same
// attempt, once admitted again (its pod no longer holds the quota).
func (e *Engine) observe(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep, pod *corev1.Pod) (*startOp, error) {
	if pod == nil {
		row.State, row.Reason = store.PipelineRunPending, ""
		if ok, err := e.admitStep(ctx, tx, st, s, row); err != nil || !ok {
			return nil, err
		}
		return e.prepareStart(ctx, tx, st, s, row)
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		err := e.succeed(ctx, tx, st, s, row, pod)
		observeStep(st.r.Tenant, row.State, pod, err)
		return nil, err
	case corev1.PodFailed:
		err := e.fail(ctx, tx, st, s, row, pod)
		observeStep(st.r.Tenant, row.State, pod, err)
		return nil, err
	}
	return nil, e.explainWait(ctx, tx, st, row, pod)
}

func mainStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == "main" {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

func (e *Engine) succeed(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep, pod *corev1.Pod) error {
	now := e.Now().UTC()
	return func() error {
		outs, err := tx.StepRunOutputs(ctx, st.r.Tenant, row.ChildRun)
		if err != nil {
			return err
		}
		for _, want := range append(append([]string{}, s.Outputs.Artifacts...), s.Outputs.Parameters...) {
			if _, ok := outs[want]; !ok {
				row.State, row.Reason, row.FinishedAt = store.PipelineRunFailed, "the step did not report its output "+want, &now
				return e.endRow(ctx, tx, st, row, store.RunFailed)
			}
		}
		row.State, row.Outputs, row.FinishedAt, row.Reason = store.PipelineRunSucceeded, outs, &now, ""
		if cs := mainStatus(pod); cs != nil && cs.ImageID != "" && cacheable(s) {
			row.ImageID = cs.ImageID
			if err := tx.PutPipelineImage(ctx, st.r.Tenant, s.Image, cs.ImageID); err != nil {
				return err
			}
			p, err := st.prepare(s, row)
			if err != nil {
				return err
			}
			row.CacheKey = CacheKey(st.cacheInput(s, p, cs.ImageID))
			if err := tx.PutPipelineCache(ctx, st.r.Tenant, store.CacheEntry{Key: row.CacheKey, RunID: st.r.RunID, Step: row.Name, Outputs: outs}); err != nil {
				return err
			}
		}
		return e.endRow(ctx, tx, st, row, store.RunFinished)
	}()
}

// failure classifies a failed pod: error, oom, timeout or evicted, and a message.
func failure(pod *corev1.Pod) (string, string) {
	switch pod.Status.Reason {
	case "DeadlineExceeded":
		return "timeout", "timed out"
	case "Evicted":
		return "evicted", "evicted: " + pod.Status.Message
	}
	if cs := mainStatus(pod); cs != nil && cs.State.Terminated != nil {
		t := cs.State.Terminated
		if t.Reason == "OOMKilled" {
			return "oom", "out of memory (OOMKilled)"
		}
		return "error", fmt.Sprintf("exit code %d", t.ExitCode)
	}
	return "error", "pod failed: " + pod.Status.Reason + " " + pod.Status.Message
}

// Backoff is the wait before retry number attempt+1 (attempt from 0).
func Backoff(r *v1.RetryPolicy, attempt int32) time.Duration {
	initial, factor, maxWait := 10*time.Second, 2.0, 5*time.Minute
	if r != nil && r.Backoff != nil {
		if d, err := time.ParseDuration(r.Backoff.Initial); err == nil {
			initial = d
		}
		if r.Backoff.Factor >= 1 {
			factor = r.Backoff.Factor
		}
		if d, err := time.ParseDuration(r.Backoff.Max); err == nil {
			maxWait = d
		}
	}
	d := time.Duration(float64(initial) * math.Pow(factor, float64(attempt)))
	return min(d, maxWait)
}

func retriable(r *v1.RetryPolicy, kind string) bool {
	if r == nil || r.Limit == 0 {
		return false
	}
	if len(r.OnFailures) == 0 {
		return true
	}
	return contains(r.OnFailures, kind)
}

func (e *Engine) fail(ctx context.Context, tx *store.Tx, st *runState, s v1.Step, row *store.PipelineStep, pod *corev1.Pod) error {
	kind, msg := failure(pod)
	if why, ok := st.failed[row.Name]; ok {
		kind, msg = why[0], why[1]
	}
	now := e.Now().UTC()
	return func() error {
		if retriable(s.Retries, kind) && row.Attempt < s.Retries.Limit {
			wait := Backoff(s.Retries, row.Attempt)
			at := now.Add(wait)
			row.Attempt++
			row.State, row.Pod, row.RetryAt = store.PipelineRunPending, "", &at
			row.Reason = fmt.Sprintf("attempt %d: %s; retrying in %s", row.Attempt, msg, wait)
			return st.put(ctx, tx, row)
		}
		row.State, row.Reason, row.FinishedAt = store.PipelineRunFailed, fmt.Sprintf("attempt %d: %s", row.Attempt+1, msg), &now
		return e.endRow(ctx, tx, st, row, store.RunFailed)
	}()
}

// endRow writes an ended row, ends its tracking run and revokes its token.
func (e *Engine) endRow(ctx context.Context, tx *store.Tx, st *runState, row *store.PipelineStep, status string) error {
	if row.ChildRun != "" {
		if err := tx.EndStepRun(ctx, st.r.Tenant, row.ChildRun, status); err != nil {
			return err
		}
	}
	if row.TokenID != "" {
		if err := tx.RevokeTokenID(ctx, row.TokenID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		row.TokenID = ""
	}
	if err := tx.PutPipelineStep(ctx, *row); err != nil {
		return err
	}
	st.rows[row.Name] = row
	return nil
}

// finishRun ends the run once every step has ended.
func (e *Engine) finishRun(ctx context.Context, tx *store.Tx, st *runState) error {
	failed := ""
	for _, name := range st.g.Order {
		done, f := st.stepDone(name)
		if !done {
			return nil
		}
		if f && failed == "" {
			failed = name
		}
	}
	state, reason := store.PipelineRunSucceeded, ""
	if failed != "" {
		state, reason = store.PipelineRunFailed, "step "+failed+" did not succeed"
		for _, u := range st.units[failed] {
			if r := st.rows[u.row]; r != nil && r.State == store.PipelineRunFailed {
				reason = "step " + r.Name + " failed: " + r.Reason
				break
			}
		}
	}
	var err error
	st.r, err = tx.SetPipelineRunState(ctx, st.r, state, reason)
	return err
}
