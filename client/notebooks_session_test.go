package client_test

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/store"
)

func TestNotebookSessionIsAOneTimeCodeForEditorsAndIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	if _, err := e.admin.CreateTenant(ctx, v1.TenantCreate{Name: "ml"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.CreateNotebook(ctx, "ml", v1.NotebookCreate{Name: "lab", Image: "ferry.local/workload:1"}); err != nil {
		t.Fatal(err)
	}
	var viewer string
	if err := e.db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, "vic", false)
		if err != nil {
			return err
		}
		if _, viewer, err = tx.CreateToken(ctx, u.ID, "t", 0); err != nil {
			return err
		}
		return tx.PutMember(ctx, "ml", u.ID, store.RoleViewer)
	}); err != nil {
		t.Fatal(err)
	}

	h, err := e.admin.CreateNotebookSession(ctx, "ml", "lab")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h.Code, v1.NotebookHandoverPrefix) || h.URL != "/t/ml/notebooks/lab/tree?"+v1.NotebookHandoverParam+"="+h.Code {
		t.Errorf("hand-over = %+v", h)
	}
	if d := time.Until(h.ExpiresAt); d <= 0 || d > time.Minute+time.Second {
		t.Errorf("code expires in %v, want about a minute", d)
	}
	// The code opens exactly this notebook, once.
	redeem := func() error {
		return e.db.Write(ctx, func(tx *store.Tx) error {
			_, _, err := tx.RedeemNotebookHandover(ctx, h.Code, "ml", "lab", time.Hour)
			return err
		})
	}
	if err := redeem(); err != nil {
		t.Errorf("redeem: %v", err)
	}
	if err := redeem(); err == nil {
		t.Error("a code was redeemed twice")
	}

	_, err = client.New(e.url, client.WithToken(viewer)).CreateNotebookSession(ctx, "ml", "lab")
	problem(t, err, 403, "editor")
	_, err = e.admin.CreateNotebookSession(ctx, "ml", "nope")
	problem(t, err, 404, "nope")

	rows, err := e.admin.ListAudit(ctx, v1.AuditFilter{Tenant: "ml"}, v1.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range rows.Items {
		count[r.Action+"/"+r.Result]++
	}
	if count["createNotebookSession/ok"] != 1 || count["createNotebookSession/denied"] != 2 {
		t.Errorf("audit rows: %v", count)
	}
}
