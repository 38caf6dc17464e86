package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-ml/ferry/store"
)

// BootstrapAccount creates a system account (not an admin) and one token
// for it, once: on the first start it writes the token through write, inside
// the same transaction, and reports true; later starts change nothing. The
// seed agents and the serving gateway authenticate with such accounts, so
// neither holds the admin token. written says whether that token was kept
// by an earlier start: a user of that name without it was not made here
// (an admin made it before the name was reserved) and is refused, since the
// account's name is what grants its rights.
func BootstrapAccount(ctx context.Context, db *store.DB, user, tokenName, action string, written func() bool, write func(secret string) error) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		if _, err := tx.UserByName(ctx, user); err == nil {
			if !written() {
				return fmt.Errorf("a user named %s exists but ferry did not make it (its token file is missing): rename or delete that user, since the name grants the rights of ferry's own account", user)
			}
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
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
