package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// ArtifactEntry is a file or directory of a run's artifact tree.
type ArtifactEntry struct {
	Path   string
	IsDir  bool
	Size   int64
	Digest string
}

// PutRunArtifact records a blob (stored once per digest) and maps path in
// the run's tree to it, replacing what the path held.
func (tx *Tx) PutRunArtifact(ctx context.Context, tenant, runID, path, digest string, size int64) error {
	if _, err := tx.runInfo(ctx, tenant, runID); err != nil {
		return err
	}
	ms := tx.now.UnixMilli()
	if _, err := tx.tx.ExecContext(ctx, "INSERT OR IGNORE INTO artifact_blobs (digest, size, created_at) VALUES (?, ?, ?)", digest, size, ms); err != nil {
		return mapErr(err)
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO run_artifacts (run_uuid, path, digest, size, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (run_uuid, path) DO UPDATE SET digest = excluded.digest, size = excluded.size, created_at = excluded.created_at`, runID, path, digest, size, ms)
	return mapErr(err)
}

// RunArtifact reads where a file of a run's tree is.
func (tx *Tx) RunArtifact(ctx context.Context, tenant, runID, path string) (ArtifactEntry, error) {
	if _, err := tx.runInfo(ctx, tenant, runID); err != nil {
		return ArtifactEntry{}, err
	}
	e := ArtifactEntry{Path: path}
	err := tx.tx.QueryRowContext(ctx, "SELECT digest, size FROM run_artifacts WHERE run_uuid = ? AND path = ?", runID, path).Scan(&e.Digest, &e.Size)
	if mapErr(err) == ErrNotFound {
		return ArtifactEntry{}, fmt.Errorf("%w: artifact %s of run %s", ErrNotFound, path, runID)
	}
	return e, err
}

// ListRunArtifacts lists the direct children of dir ("" for the root) in a run's tree.
func (tx *Tx) ListRunArtifacts(ctx context.Context, tenant, runID, dir string) ([]ArtifactEntry, error) {
	if _, err := tx.runInfo(ctx, tenant, runID); err != nil {
		return nil, err
	}
	prefix := strings.Trim(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	rows, err := tx.tx.QueryContext(ctx, "SELECT path, digest, size FROM run_artifacts WHERE run_uuid = ? AND substr(path, 1, ?) = ? ORDER BY path", runID, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	dirs := map[string]bool{}
	out := []ArtifactEntry{}
	for rows.Next() {
		var e ArtifactEntry
		if err := rows.Scan(&e.Path, &e.Digest, &e.Size); err != nil {
			return nil, err
		}
		rest := strings.TrimPrefix(e.Path, prefix)
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			d := prefix + rest[:i]
			if !dirs[d] {
				dirs[d] = true
				out = append(out, ArtifactEntry{Path: d, IsDir: true})
			}
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, rows.Err()
}

// ArtifactBlobKnown says whether a blob of that digest is recorded.
func (tx *Tx) ArtifactBlobKnown(ctx context.Context, digest string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM artifact_blobs WHERE digest = ?", digest).Scan(&n)
	return n > 0, err
}
