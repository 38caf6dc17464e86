package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrate applies every embedded migration not yet recorded, in name order,
// each in its own transaction together with its record.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		short := strings.TrimPrefix(name, "migrations/")
		err = db.Write(ctx, func(tx *Tx) error {
			var n int
			if err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE name = ?", short).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.tx.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", short, formatTime(tx.now))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", short, err)
		}
	}
	// Whatever the migrations say, the audit log is append-only now.
	return db.ensureAuditTriggers(ctx)
}

// Migrations lists the applied migrations in order.
func (db *DB) Migrations(ctx context.Context) ([]string, error) {
	var out []string
	err := db.Read(ctx, func(tx *Tx) error {
		rows, err := tx.tx.QueryContext(ctx, "SELECT name FROM schema_migrations ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}
