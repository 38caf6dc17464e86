package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

var savepoints atomic.Int64

// Savepoint runs fn inside a savepoint of tx: fn's error undoes what fn
// wrote and no more, and the transaction goes on (a batch of independent
// changes in one transaction, one of which may fail).
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	name := fmt.Sprintf("sp%d", savepoints.Add(1))
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return err
	}
	if err := fn(); err != nil {
		_, rerr := tx.tx.ExecContext(ctx, "ROLLBACK TO "+name)
		_, xerr := tx.tx.ExecContext(ctx, "RELEASE "+name)
		return errors.Join(err, rerr, xerr)
	}
	_, err := tx.tx.ExecContext(ctx, "RELEASE "+name)
	return err
}
