package store

import "errors"

// Sentinel errors. The HTTP layer maps them to status codes in one place.
var (
	// ErrNotFound means the object does not exist (or is not visible).
	ErrNotFound = errors.New("not found")
	// ErrConflict means the object already exists or a uniqueness rule failed.
	ErrConflict = errors.New("conflict")
)
