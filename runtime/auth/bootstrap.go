package auth

import (
	"context"
	"errors"

	"github.com/ferry-ml/ferry/store"
)

// BootstrapAccount creates a system account (not an admin) and one token
// for it, once: on the first start it writes the token through write, inside
// the same transaction, and reports true; later starts change nothing. The
// seed agents and the serving gateway authenticate with such accounts, so
// neither holds the admin token.
func BootstrapAccount(ctx context.Context, db *store.DB, user, tokenName, action string, write func(secret string) error) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByName(ctx, user); err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u, err := tx.CreateUser(ctx, user, false)
		if err != nil {
			return err
		}
		_, secret, err := tx.CreateToken(ctx, u.ID, tokenName, 0)
		if err != nil {
			return err
		}
		if _, err := tx.AppendAudit(ctx, store.AuditEntry{Actor: "system", Action: action, Target: "user/" + user, Result: "ok"}); err != nil {
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
