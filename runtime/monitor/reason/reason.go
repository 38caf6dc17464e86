// Package reason explains in plain words why a pod failed or waits, from
// its status and the Kubernetes events about it: out of memory (with the
// limit), an image that cannot be pulled (with the image), eviction, a pod
// the scheduler cannot place (with the scheduler's message), a crash loop
// (with the exit code), failing probes. It is pure: the controllers hand
// it what their informers hold.
package reason

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// MaxMessage bounds the Kubernetes text quoted in a reason.
const MaxMessage = 300

// Reason is one explanation: Kind is Kubernetes' word for it (OOMKilled,
// ImagePullBackOff, ...), Message the plain sentence.
type Reason struct {
	Kind    string
	Message string
	// rank orders reasons: the lower, the better it explains a failure.
	rank int
}

// Events returns the events about one pod (nil: none known).
type Events func(namespace, pod string) []corev1.Event

// Ranks, most telling first.
const (
	rankOOM = iota
	rankEvicted
	rankDeadline
	rankImage
	rankConfig
	rankCrashLoop
	rankExit
	rankUnschedulable
	rankProbe
	rankOther
)

// Explain is the best explanation of one pod's trouble, or the zero Reason
// when nothing in its status or events shows any.
func Explain(p *corev1.Pod, events []corev1.Event) Reason {
	var found []Reason
	add := func(r Reason) { found = append(found, r) }
	switch p.Status.Reason {
	case "Evicted":
		add(Reason{Kind: "Evicted", Message: "evicted by its node: " + quote(p.Status.Message), rank: rankEvicted})
	case "DeadlineExceeded":
		add(Reason{Kind: "DeadlineExceeded", Message: "stopped for running longer than its deadline: " + quote(p.Status.Message), rank: rankDeadline})
	}
	for _, cs := range p.Status.ContainerStatuses {
		explainContainer(p, cs, add)
	}
	for _, cs := range p.Status.InitContainerStatuses {
		explainContainer(p, cs, add)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			add(Reason{Kind: "Unschedulable", Message: "cannot be scheduled: " + quote(c.Message), rank: rankUnschedulable})
		}
	}
	// Events: the newest of each kind says it best.
	sorted := append([]corev1.Event(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return eventTime(sorted[i]).After(eventTime(sorted[j])) })
	seen := map[string]bool{}
	for _, e := range sorted {
		if seen[e.Reason] {
			continue
		}
		seen[e.Reason] = true
		switch e.Reason {
		case "FailedScheduling":
			if p.Spec.NodeName == "" {
				add(Reason{Kind: "Unschedulable", Message: "cannot be scheduled: " + quote(e.Message), rank: rankUnschedulable})
			}
		case "Unhealthy":
			if running(p) && !ready(p) {
				add(Reason{Kind: "ProbeFailed", Message: probeMessage(e.Message), rank: rankProbe})
			}
		case "Evicted":
			add(Reason{Kind: "Evicted", Message: "evicted by its node: " + quote(e.Message), rank: rankEvicted})
		case "FailedMount", "FailedAttachVolume":
			if !running(p) {
				add(Reason{Kind: e.Reason, Message: "waiting for its volume: " + quote(e.Message), rank: rankConfig})
			}
		}
	}
	if len(found) == 0 {
		return Reason{}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].rank < found[j].rank })
	return found[0]
}

func explainContainer(p *corev1.Pod, cs corev1.ContainerStatus, add func(Reason)) {
	name := fmt.Sprintf("container %q", cs.Name)
	for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
		if t != nil && t.Reason == "OOMKilled" {
			msg := name + " ran out of memory and was killed (OOMKilled, exit code " + fmt.Sprint(t.ExitCode) + ")"
			if limit := memoryLimit(p, cs.Name); limit != "" {
				msg = name + " used more than its memory limit of " + limit + " and was killed (OOMKilled, exit code " + fmt.Sprint(t.ExitCode) + ")"
			}
			add(Reason{Kind: "OOMKilled", Message: msg, rank: rankOOM})
			return
		}
	}
	if w := cs.State.Waiting; w != nil {
		image := imageOf(p, cs)
		switch w.Reason {
		case "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName", "RegistryUnavailable":
			add(Reason{Kind: w.Reason, Message: fmt.Sprintf("cannot pull the image %q (%s): %s", image, w.Reason, quote(w.Message)), rank: rankImage})
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			add(Reason{Kind: w.Reason, Message: fmt.Sprintf("%s cannot start (%s): %s", name, w.Reason, quote(w.Message)), rank: rankConfig})
		case "CrashLoopBackOff":
			msg := fmt.Sprintf("%s keeps crashing (CrashLoopBackOff, restarted %d times)", name, cs.RestartCount)
			if t := cs.LastTerminationState.Terminated; t != nil {
				msg = fmt.Sprintf("%s keeps crashing (CrashLoopBackOff, restarted %d times): it last exited with code %d%s", name, cs.RestartCount, t.ExitCode, detail(t))
			}
			add(Reason{Kind: "CrashLoopBackOff", Message: msg, rank: rankCrashLoop})
		}
	}
	if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
		add(Reason{Kind: orDefault(t.Reason, "Error"), Message: fmt.Sprintf("%s exited with code %d%s", name, t.ExitCode, detail(t)), rank: rankExit})
	}
}

// detail is a terminated container's own reason and message, when they
// add anything to "exited with code N".
func detail(t *corev1.ContainerStateTerminated) string {
	var parts []string
	if t.Reason != "" && t.Reason != "Error" && t.Reason != "Completed" {
		parts = append(parts, t.Reason)
	}
	if m := strings.TrimSpace(t.Message); m != "" {
		parts = append(parts, quote(m))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ": ") + ")"
}

func probeMessage(m string) string {
	kind := "a probe"
	for _, k := range []string{"Readiness", "Liveness", "Startup"} {
		if strings.HasPrefix(m, k+" probe") {
			kind = "its " + strings.ToLower(k) + " probe"
		}
	}
	return kind + " fails: " + quote(m)
}

func running(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning }

// ready says whether every container is ready (an old probe failure from
// while it started explains nothing then).
func ready(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if !cs.Ready {
			return false
		}
	}
	return len(p.Status.ContainerStatuses) > 0
}

func memoryLimit(p *corev1.Pod, container string) string {
	for _, c := range append(append([]corev1.Container(nil), p.Spec.Containers...), p.Spec.InitContainers...) {
		if c.Name != container {
			continue
		}
		if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			return q.String()
		}
	}
	return ""
}

func imageOf(p *corev1.Pod, cs corev1.ContainerStatus) string {
	for _, c := range append(append([]corev1.Container(nil), p.Spec.Containers...), p.Spec.InitContainers...) {
		if c.Name == cs.Name {
			return c.Image
		}
	}
	return cs.Image
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.FirstTimestamp.Time
}

// quote bounds Kubernetes' text and keeps it on one line.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > MaxMessage {
		cut := MaxMessage
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return "no message"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// ForPods is the best explanation among several pods of one object (a
// job's replicas), prefixed with the pod's name when there are several;
// "" when none shows trouble. events may be nil.
func ForPods(pods []*corev1.Pod, events Events) string {
	best, who := Reason{rank: rankOther + 1}, ""
	for _, p := range pods {
		var evs []corev1.Event
		if events != nil {
			evs = events(p.Namespace, p.Name)
		}
		r := Explain(p, evs)
		if r.Kind != "" && (best.Kind == "" || r.rank < best.rank || (r.rank == best.rank && p.Name < who)) {
			best, who = r, p.Name
		}
	}
	if best.Kind == "" {
		return ""
	}
	if len(pods) > 1 {
		return "pod " + who + ": " + best.Message
	}
	return best.Message
}
