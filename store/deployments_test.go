package store

import (
	"errors"
	"testing"
)

func TestDeploymentsRevisionsKeysAndEvents(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	var d Deployment
	var secret string
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "a", DisplayName: "a", Quota: Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
			return err
		}
		var err error
		d, err = tx.CreateDeployment(ctx, Deployment{Tenant: "a", Name: "iris", Spec: []byte(`{"min":1}`), CreatedBy: "alice"},
			Revision{Model: "iris", Version: 1, Digest: "abc"})
		if err != nil {
			return err
		}
		if _, err := tx.AddRevision(ctx, d.ID, Revision{Model: "iris", Version: 2, Role: RevisionCanary, Weight: 20}); err != nil {
			return err
		}
		if err := tx.SetRevisionTraffic(ctx, d.ID, 1, RevisionStable, 80); err != nil {
			return err
		}
		_, secret, err = tx.CreateDeploymentKey(ctx, d.ID, "ci", "alice", "ferry_dk_")
		if err != nil {
			return err
		}
		for range KeepEvents + 5 {
			if err := tx.AddDeploymentEvent(ctx, d.ID, "advanced", "step"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Write(ctx, func(tx *Tx) error {
		_, err := tx.CreateDeployment(ctx, Deployment{Tenant: "a", Name: "iris", Spec: []byte(`{}`)}, Revision{Model: "iris", Version: 1})
		return err
	})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second deployment iris: %v, want ErrConflict", err)
	}
	err = db.Read(ctx, func(tx *Tx) error {
		got, err := tx.Deployment(ctx, "a", "iris")
		if err != nil {
			return err
		}
		if len(got.Revisions) != 2 || got.Revisions[0].Number != 1 || got.Revisions[0].Weight != 80 || got.Revisions[1].Role != RevisionCanary || got.Revisions[1].Number != 2 {
			t.Errorf("revisions = %+v", got.Revisions)
		}
		hashes, err := tx.DeploymentKeyHashes(ctx, d.ID)
		if err != nil {
			return err
		}
		if len(hashes) != 1 || hashes[0] != HashKey(secret) || hashes[0] == secret {
			t.Errorf("key hashes = %v, want the hash of the secret only", hashes)
		}
		evs, err := tx.DeploymentEvents(ctx, d.ID, 1000)
		if len(evs) != KeepEvents {
			t.Errorf("%d events kept, want %d", len(evs), KeepEvents)
		}
		if _, err := tx.Deployment(ctx, "b", "iris"); !errors.Is(err, ErrNotFound) {
			t.Errorf("tenant b's iris: %v, want ErrNotFound", err)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, func(tx *Tx) error { return tx.DeleteDeployment(ctx, "a", "iris") }); err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		if n, _ := tx.DeploymentKeyHashes(ctx, d.ID); len(n) != 0 {
			t.Errorf("keys survive their deployment: %v", n)
		}
		return nil
	})
}
