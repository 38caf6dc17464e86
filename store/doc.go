// Package store persists ferry's platform objects in SQLite (modernc.org/sqlite,
// pure Go). It owns the schema (embedded, ordered migrations), the connection
// discipline (one writer with immediate transactions, a pool of query-only
// readers, WAL, foreign keys, busy timeout) and typed queries. Callers get
// sentinel errors (ErrNotFound, ErrConflict) and never see SQL.
package store
