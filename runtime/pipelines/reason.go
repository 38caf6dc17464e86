package pipelines

// Why a step waits or failed, in plain words: the same explanation jobs get
// (runtime/monitor/reason), from the step pod's state and, when the engine
// has them, the Warning events about it. Kept apart from the engine's
// passes: the engine calls explainFailure (outside its transaction) when a
// pod failed and explainWait (inside it) while one runs or waits.

import (
	"context"
	"errors"
	"strconv"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"

	podreason "github.com/ferry-ml/ferry/runtime/monitor/reason"
	"github.com/ferry-ml/ferry/store"
)

// TagReason is the tag a step's tracking run carries with the step's
// latest trouble ("attempt 1: container "main" used more than ...", or
// why its pod waits); removed when a wait clears.
const TagReason = "ferry.reason"

// explainFailure is failure's kind (which the retry policy matches) with
// the plain-word explanation as its message, and records it on the step's
// tracking run. A plain non-zero exit of the step's own container keeps
// failure's "exit code N".
func (e *Engine) explainFailure(ctx context.Context, st *runState, row *store.PipelineStep, pod *corev1.Pod) (string, string) {
	kind, msg := failure(pod)
	var events []corev1.Event
	if e.Events != nil {
		events = e.Events(pod.Namespace, pod.Name)
	}
	if r := podreason.Explain(pod, events); r.Kind != "" && !plainExit(pod, r) {
		msg = r.Message
	}
	attempt := "attempt " + strconv.Itoa(int(row.Attempt)+1) + ": " + msg
	if err := e.DB.Write(ctx, func(tx *store.Tx) error { return tagReason(ctx, tx, st.r.Tenant, row.ChildRun, attempt) }); err != nil {
		e.Log.Warn("step reason not recorded on its run", "run", row.ChildRun, "err", err)
	}
	return kind, msg
}

// plainExit says whether r is only the step container's non-zero exit,
// which failure already words as "exit code N".
func plainExit(pod *corev1.Pod, r podreason.Reason) bool {
	cs := mainStatus(pod)
	return r.Kind == "Error" && cs != nil && cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0 && cs.State.Terminated.Reason != "OOMKilled"
}

// explainWait keeps a running step's reason on what troubles its pod (an
// image that cannot be pulled, an unschedulable pod, a failing volume), or
// empty once nothing does; its tracking run's tag follows, in the pass's
// transaction. It writes only when the reason changes.
func (e *Engine) explainWait(ctx context.Context, tx *store.Tx, st *runState, row *store.PipelineStep, pod *corev1.Pod) error {
	why := cut(podreason.ForPods([]*corev1.Pod{pod}, e.Events), store.MaxReason)
	if why == row.Reason {
		return nil
	}
	row.Reason = why
	if err := st.put(ctx, tx, row); err != nil {
		return err
	}
	return tagReason(ctx, tx, st.r.Tenant, row.ChildRun, why)
}

// tagReason sets (or, for "", removes) a step run's reason tag. A run the
// user deleted or one that is gone keeps what it has: the step does not
// depend on its run.
func tagReason(ctx context.Context, tx *store.Tx, tenant, run, why string) error {
	if run == "" {
		return nil
	}
	var err error
	if why == "" {
		err = tx.DeleteRunTag(ctx, tenant, run, TagReason)
	} else {
		err = tx.LogBatch(ctx, tenant, run, nil, nil, []store.KV{{Key: TagReason, Value: cut(why, store.MaxTagValueLength)}})
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return nil
	}
	return err
}

// cut bounds s to n bytes on a rune boundary, as the store does.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
