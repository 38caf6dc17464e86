package serving

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"

	podreason "github.com/ferry-ml/ferry/runtime/monitor/reason"
	"github.com/ferry-ml/ferry/store"
)

// reasons are why each revision is not ready, as of the controller's last
// pass (kept in memory: a restarted server knows again within a pass).
type reasons struct {
	mu sync.Mutex
	by map[revisionKey]string
}

type revisionKey struct{ tenant, deployment, revision string }

func (r *reasons) get(k revisionKey) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.by[k]
}

// replace swaps in one pass's reasons; the deployments whose pass failed
// (kept) keep what they had.
func (r *reasons) replace(next map[revisionKey]string, kept map[[2]string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, v := range r.by {
		if kept[[2]string{k.tenant, k.deployment}] {
			if _, ok := next[k]; !ok {
				next[k] = v
			}
		}
	}
	r.by = next
}

// RevisionReason says, in plain words, why a revision is not ready (an
// image that cannot be pulled, a crash loop, a failing readiness probe, an
// unschedulable pod, pods the quota refuses); "" when it is ready, scaled
// to zero, or nothing explains it yet.
func (c *Controller) RevisionReason(tenant, deployment, revision string) string {
	return c.reasons.get(revisionKey{tenant, deployment, revision})
}

// explain is why a revision's Deployment has fewer ready replicas than it
// wants: the same explanation jobs get from their pods' states and the
// Warning events about them, else the Deployment's own failure condition.
// It lists the revision's pods only when it is not ready.
func (c *Controller) explain(ctx context.Context, ns, name string, want int32, dep *appsv1.Deployment) (string, error) {
	if want == 0 || dep.Status.ReadyReplicas >= want {
		return "", nil
	}
	list, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: k8slabels.Set{RevisionLabel: name}.String()})
	if err != nil {
		return "", fmt.Errorf("pods of revision %s: %w", name, err)
	}
	pods := make([]*corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			pods = append(pods, p)
		}
	}
	why := podreason.ForPods(pods, c.Events)
	if why == "" {
		for _, cond := range dep.Status.Conditions {
			switch {
			case cond.Type == appsv1.DeploymentReplicaFailure && cond.Status == corev1.ConditionTrue:
				why = "cannot create its pods: " + cond.Message
			case cond.Type == appsv1.DeploymentProgressing && cond.Status == corev1.ConditionFalse && why == "":
				why = "not progressing (" + cond.Reason + "): " + cond.Message
			}
		}
	}
	return cut(why, store.MaxReason), nil
}

// cut bounds s to n bytes on a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
