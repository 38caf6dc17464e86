package monitor

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/monitor/reason"
	"github.com/ferry-ml/ferry/runtime/notebooks"
	"github.com/ferry-ml/ferry/runtime/tenants"
	"github.com/ferry-ml/ferry/store"
)

// Events returns the Warning events about one pod that the informer
// holds (Kubernetes keeps events an hour); a reason.Events.
func (s *Sampler) Events(namespace, pod string) []corev1.Event {
	if s.events == nil {
		return nil
	}
	objs, err := s.events.ByIndex(eventIndex, namespace+"/"+pod)
	if err != nil {
		return nil
	}
	out := make([]corev1.Event, 0, len(objs))
	for _, o := range objs {
		if e, ok := o.(*corev1.Event); ok {
			out = append(out, *e)
		}
	}
	return out
}

// Explain says in plain words what troubles a job's or a notebook's pods
// ("" when nothing does, or before Start).
func (s *Sampler) Explain(tenant string, kind store.WorkloadKind, name string) string {
	if s.pods == nil {
		return ""
	}
	label := map[store.WorkloadKind]string{store.WorkloadJob: jobs.JobLabel, store.WorkloadNotebook: notebooks.NotebookLabel}[kind]
	if label == "" {
		return ""
	}
	pods, err := s.pods.Pods(tenants.Namespace(tenant)).List(labels.SelectorFromSet(labels.Set{label: name}))
	if err != nil {
		return ""
	}
	return reason.ForPods(pods, s.Events)
}
