package api

import (
	"strconv"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// The handlers map store rows onto the contract here, and nowhere else:
// rows never travel to clients.

func toTenant(t store.Tenant) v1.Tenant {
	return v1.Tenant{Name: t.Name, DisplayName: t.DisplayName, Quota: v1.Quota(t.Quota), NotebookIdleSeconds: t.NotebookIdleSeconds,
		Generation: t.Generation, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func toMember(m store.Member) v1.Member {
	return v1.Member{Tenant: m.Tenant, User: m.User, Role: v1.Role(m.Role)}
}

func toUser(u store.User) v1.User {
	return v1.User{ID: u.ID, Name: u.Name, Admin: u.Admin, CreatedAt: u.CreatedAt, Disabled: u.Disabled}
}

func toToken(t store.Token) v1.Token {
	return v1.Token{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
}

func toAudit(e store.AuditEntry) v1.AuditEntry {
	return v1.AuditEntry{ID: e.ID, Time: e.Time, Actor: e.Actor, Action: e.Action, Tenant: e.Tenant, Target: e.Target,
		Result: e.Result, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
}

func toResources(r store.Resources) v1.Resources { return v1.Resources(r) }

func toJob(j store.Job) v1.Job {
	reps := make([]v1.Replica, len(j.Replicas))
	for i, r := range j.Replicas {
		reps[i] = v1.Replica(r)
	}
	s := j.Spec
	out := v1.Job{Tenant: j.Tenant, Name: j.Name, State: v1.JobState(j.State), Reason: j.Reason, Replicas: reps,
		Spec: v1.JobSpec{Image: s.Image, Command: s.Command, Args: s.Args, Env: s.Env, Replicas: s.Replicas,
			Resources: toResources(s.Resources), MaxRetries: s.MaxRetries, Experiment: s.Experiment},
		CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, AdmittedAt: j.AdmittedAt, StartedAt: j.StartedAt,
		FinishedAt: j.FinishedAt, UpdatedAt: j.UpdatedAt}
	if j.RunID != "" {
		out.Run = &v1.JobRun{ExperimentID: strconv.FormatInt(j.ExperimentID, 10), RunID: j.RunID}
	}
	return out
}

func toNotebook(n store.Notebook) v1.Notebook {
	return v1.Notebook{Tenant: n.Tenant, Name: n.Name, Image: n.Image, Resources: toResources(n.Resources), Workspace: n.Workspace,
		State: v1.NotebookState(n.State), Reason: n.Reason, LastActivity: n.LastActivity, CreatedBy: n.CreatedBy,
		CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt, URL: v1.NotebookPath(n.Tenant, n.Name)}
}

// mapAll maps a page of rows.
func mapAll[R, T any](rows []R, f func(R) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

// page builds a list answer; a full page carries the cursor of its last row.
func page[R, T any](rows []R, limit int, f func(R) T, key func(R) string) v1.List[T] {
	l := v1.List[T]{Items: mapAll(rows, f)}
	if len(rows) == limit && limit > 0 {
		l.Next = v1.Cursor(key(rows[len(rows)-1]))
	}
	return l
}

// idCursor reads a numeric keyset cursor (empty: the first page).
func idCursor(c v1.Cursor) (int64, error) {
	if c == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(string(c), 10, 64)
	if err != nil || id < 0 {
		return 0, fieldError("query.after", string(c), errNotCursor)
	}
	return id, nil
}
