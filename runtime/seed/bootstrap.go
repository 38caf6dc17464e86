package seed

import (
	"context"
	"errors"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// Bootstrap creates the agents' account and token once, writing the token
// to path (mode 0600); it reports whether it created them.
func Bootstrap(ctx context.Context, db *store.DB, write func(secret string) error) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByName(ctx, v1.SeedUser); err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u, err := tx.CreateUser(ctx, v1.SeedUser, false)
		if err != nil {
			return err
		}
		_, secret, err := tx.CreateToken(ctx, u.ID, "node-agents", 0)
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: "bootstrapSeedUser", Target: "user/" + v1.SeedUser, Result: "ok"}); err != nil {
			return err
		}
		if err := write(secret); err != nil {
			return err
		}
		created = true
		return nil
	})
	return created, err
}
