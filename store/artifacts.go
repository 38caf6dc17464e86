package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// ArtifactEntry is a file or directory of an artifact tree.
type ArtifactEntry struct {
	Path   string
	IsDir  bool
	Size   int64
	Digest string
}

// ArtifactTree names a tree of paths to blobs: a run's or a logged model's.
type ArtifactTree struct {
	kind treeKind
	ID   string
}

type treeKind int

const (
	treeRun treeKind = iota
	treeModel
)

// RunTree is the artifact tree of a run.
func RunTree(runID string) ArtifactTree { return ArtifactTree{kind: treeRun, ID: runID} }

// ModelTree is the artifact tree of a logged model.
func ModelTree(modelID string) ArtifactTree { return ArtifactTree{kind: treeModel, ID: modelID} }

// IsModel says whether the tree is a logged model's.
func (t ArtifactTree) IsModel() bool { return t.kind == treeModel }

func (t ArtifactTree) String() string {
	if t.kind == treeModel {
		return "logged model " + t.ID
	}
	return "run " + t.ID
}

// table and key column of each kind; fixed strings, never input.
func (t ArtifactTree) table() (table, key string) {
	if t.kind == treeModel {
		return "logged_model_artifacts", "model_id"
	}
	return "run_artifacts", "run_uuid"
}

// check makes sure the tree's owner is a run (or live logged model) of the tenant.
func (tx *Tx) checkTree(ctx context.Context, tenant string, t ArtifactTree) error {
	if t.kind == treeModel {
		_, err := tx.loggedModelRow(ctx, tenant, t.ID, false)
		return err
	}
	_, err := tx.runInfo(ctx, tenant, t.ID)
	return err
}

// PutArtifact records a blob (stored once per digest) and maps path in the
// tree to it, replacing what the path held.
func (tx *Tx) PutArtifact(ctx context.Context, tenant string, t ArtifactTree, path, digest string, size int64) error {
	if err := tx.checkTree(ctx, tenant, t); err != nil {
		return err
	}
	ms := tx.now.UnixMilli()
	if _, err := tx.tx.ExecContext(ctx, "INSERT OR IGNORE INTO artifact_blobs (digest, size, created_at) VALUES (?, ?, ?)", digest, size, ms); err != nil {
		return mapErr(err)
	}
	table, key := t.table()
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO `+table+` (`+key+`, path, digest, size, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (`+key+`, path) DO UPDATE SET digest = excluded.digest, size = excluded.size, created_at = excluded.created_at`, t.ID, path, digest, size, ms)
	return mapErr(err)
}

// Artifact reads where a file of a tree is.
func (tx *Tx) Artifact(ctx context.Context, tenant string, t ArtifactTree, path string) (ArtifactEntry, error) {
	if err := tx.checkTree(ctx, tenant, t); err != nil {
		return ArtifactEntry{}, err
	}
	table, key := t.table()
	e := ArtifactEntry{Path: path}
	err := tx.tx.QueryRowContext(ctx, "SELECT digest, size FROM "+table+" WHERE "+key+" = ? AND path = ?", t.ID, path).Scan(&e.Digest, &e.Size)
	if mapErr(err) == ErrNotFound {
		return ArtifactEntry{}, fmt.Errorf("%w: artifact %s of %s", ErrNotFound, path, t)
	}
	return e, err
}

// ListArtifacts lists the direct children of dir ("" for the root) in a tree.
func (tx *Tx) ListArtifacts(ctx context.Context, tenant string, t ArtifactTree, dir string) ([]ArtifactEntry, error) {
	if err := tx.checkTree(ctx, tenant, t); err != nil {
		return nil, err
	}
	prefix := strings.Trim(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	table, key := t.table()
	rows, err := tx.tx.QueryContext(ctx, "SELECT path, digest, size FROM "+table+" WHERE "+key+" = ? AND substr(path, 1, ?) = ? ORDER BY path", t.ID, len(prefix), prefix)
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

// PutRunArtifact is PutArtifact in a run's tree.
func (tx *Tx) PutRunArtifact(ctx context.Context, tenant, runID, path, digest string, size int64) error {
	return tx.PutArtifact(ctx, tenant, RunTree(runID), path, digest, size)
}

// RunArtifact is Artifact in a run's tree.
func (tx *Tx) RunArtifact(ctx context.Context, tenant, runID, path string) (ArtifactEntry, error) {
	return tx.Artifact(ctx, tenant, RunTree(runID), path)
}

// ListRunArtifacts is ListArtifacts in a run's tree.
func (tx *Tx) ListRunArtifacts(ctx context.Context, tenant, runID, dir string) ([]ArtifactEntry, error) {
	return tx.ListArtifacts(ctx, tenant, RunTree(runID), dir)
}

// ArtifactBlobKnown says whether a blob of that digest is recorded.
func (tx *Tx) ArtifactBlobKnown(ctx context.Context, digest string) (bool, error) {
	var n int
	err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM artifact_blobs WHERE digest = ?", digest).Scan(&n)
	return n > 0, err
}
