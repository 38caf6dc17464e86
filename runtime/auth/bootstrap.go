package auth

import (
	"context"
	"errors"

	"github.com/ferry-ml/ferry/store"
)

// BootstrapAccount keeps a system account (not an admin) with one token
// whose secret only ferry holds. The seed agents and the serving gateway
// authenticate with such accounts, so neither holds the admin token.
//
// On the first start it creates the user and a token, writes the token
// through write inside the same transaction, and reports true. On later
// starts written says whether the token an earlier start wrote is still
// kept; when it is not (a data directory restored from a backup, or a user
// of that name made by an admin before the name was reserved) every token
// of the user is revoked and a fresh one is written: the account's name is
// what grants its rights, so no credential ferry did not write may keep them.
func BootstrapAccount(ctx context.Context, db *store.DB, user, tokenName, action string, written func() bool, write func(secret string) error) (bool, error) {
	created := false
	err := db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.UserByName(ctx, user)
		switch {
		case err == nil && written():
			return nil
		case err == nil:
			tokens, err := tx.ListTokens(ctx, u.ID)
			if err != nil {
				return err
			}
			for _, t := range tokens {
				if err := tx.RevokeTokenID(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
			action += "Rekeyed"
		case errors.Is(err, store.ErrNotFound):
			if u, err = tx.CreateUser(ctx, user, false); err != nil {
				return err
			}
		default:
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
