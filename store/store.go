package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config configures a DB.
type Config struct {
	// Path is the SQLite file. Its directory is created if missing.
	Path string
	// Readers is the size of the read pool (default: max(4, 2*GOMAXPROCS)).
	Readers int
	// BusyTimeout bounds how long a connection waits for a lock (default 5s).
	BusyTimeout time.Duration
	// Now is the clock (default time.Now); tests inject a fixed one.
	Now func() time.Time
}

// Validate fills defaults and reports a config that cannot work.
func (c *Config) Validate() error {
	if c.Path == "" {
		return errors.New("store: path is empty")
	}
	if c.Readers <= 0 {
		c.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// DB is ferry's SQLite database: one writer connection, a pool of readers.
type DB struct {
	write *sql.DB
	read  *sql.DB
	now   func() time.Time
	path  string
	// anchor holds the AuditAnchor VerifyAudit's callers check against.
	anchor atomic.Pointer[anchorBox]
}

// Open opens (creating if needed) the database and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create directory: %w", err)
	}
	// The database holds token hashes and the audit log: owner only. SQLite
	// gives its -wal and -shm files the database file's mode.
	f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	if err := errors.Join(f.Chmod(0o600), f.Close()); err != nil {
		return nil, fmt.Errorf("store: database file mode: %w", err)
	}
	pragmas := []string{
		fmt.Sprintf("busy_timeout(%d)", cfg.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"foreign_keys(1)",
		"synchronous(NORMAL)",
	}
	w, err := sql.Open("sqlite", dsn(cfg.Path, pragmas, "immediate"))
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	db := &DB{write: w, now: cfg.Now, path: cfg.Path}
	if err := db.migrate(ctx); err != nil {
		return nil, errors.Join(err, w.Close())
	}
	r, err := sql.Open("sqlite", dsn(cfg.Path, append(pragmas, "query_only(1)"), ""))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: open readers: %w", err), w.Close())
	}
	r.SetMaxOpenConns(cfg.Readers)
	r.SetMaxIdleConns(cfg.Readers)
	db.read = r
	return db, nil
}

func dsn(path string, pragmas []string, txlock string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	if txlock != "" {
		q.Set("_txlock", txlock)
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes the readers, then the writer (SQLite checkpoints the WAL when
// the last connection closes).
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	return errors.Join(errs...)
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Now is the store's clock.
func (db *DB) Now() time.Time { return db.now().UTC() }

// Tx is a transaction handed to Read and Write callbacks.
type Tx struct {
	tx  *sql.Tx
	now time.Time
}

// Now is the time the transaction started (one value for every row it writes).
func (tx *Tx) Now() time.Time { return tx.now }

// Write runs fn in an immediate transaction on the single writer connection.
// fn's error rolls everything back; nothing is half-written.
func (db *DB) Write(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.write, fn)
}

// Read runs fn in a read transaction on the reader pool (a consistent snapshot).
func (db *DB) Read(ctx context.Context, fn func(*Tx) error) error {
	return db.run(ctx, db.read, fn)
}

func (db *DB) run(ctx context.Context, conn *sql.DB, fn func(*Tx) error) error {
	t, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(&Tx{tx: t, now: db.Now()}); err != nil {
		return errors.Join(err, ignoreDone(t.Rollback()))
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Backup writes a consistent copy of the database to path with VACUUM INTO.
// It is safe while another process writes. path must not exist.
func (db *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("store: backup target %s already exists", path)
	}
	// A connection of its own: the readers are query-only, and the writer
	// must stay free for the server while the copy is made.
	conn, err := sql.Open("sqlite", dsn(db.path, []string{"busy_timeout(5000)"}, ""))
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return errors.Join(fmt.Errorf("store: backup to %s: %w", path, err), conn.Close())
	}
	return conn.Close()
}

// mapErr turns driver errors into the package's sentinel errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", ErrConflict, constraintDetail(se.Error()))
		}
	}
	return err
}

func constraintDetail(msg string) string {
	if i := strings.Index(msg, "constraint failed: "); i >= 0 {
		return msg[i+len("constraint failed: "):]
	}
	return msg
}

// truncate cuts s to at most n bytes on a rune boundary: every stored
// text has a maximum length, whatever its caller checked.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

const timeFormat = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}
