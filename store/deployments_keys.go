package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// DeploymentKey is a deployment-scoped API key; only its hash is stored.
type DeploymentKey struct {
	ID           string
	DeploymentID int64
	Name         string
	CreatedBy    string
	CreatedAt    time.Time
}

// MaxDeploymentKeys bounds the keys of one deployment.
const MaxDeploymentKeys = 100

// HashKey is how an API key is stored and compared (sha256, hex).
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateDeploymentKey makes a key and returns it with its secret (prefix
// then 32 random bytes, hex), which is not stored.
func (tx *Tx) CreateDeploymentKey(ctx context.Context, deploymentID int64, name, by, prefix string) (DeploymentKey, string, error) {
	var n int
	if err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM deployment_keys WHERE deployment_id = ?", deploymentID).Scan(&n); err != nil {
		return DeploymentKey{}, "", err
	}
	if n >= MaxDeploymentKeys {
		return DeploymentKey{}, "", invalidf("a deployment has at most %d keys", MaxDeploymentKeys)
	}
	var raw [32]byte
	var id [8]byte
	_, _ = rand.Read(raw[:])
	_, _ = rand.Read(id[:])
	secret := prefix + hex.EncodeToString(raw[:])
	k := DeploymentKey{ID: hex.EncodeToString(id[:]), DeploymentID: deploymentID, Name: truncate(name, 100), CreatedBy: truncate(by, MaxUserName), CreatedAt: tx.now}
	_, err := tx.tx.ExecContext(ctx, "INSERT INTO deployment_keys (id, deployment_id, name, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		k.ID, deploymentID, k.Name, HashKey(secret), k.CreatedBy, formatTime(tx.now))
	if err != nil {
		return DeploymentKey{}, "", fmt.Errorf("create key: %w", mapErr(err))
	}
	return k, secret, nil
}

// DeploymentKeys lists a deployment's keys (without secrets).
func (tx *Tx) DeploymentKeys(ctx context.Context, deploymentID int64) ([]DeploymentKey, error) {
	rows, err := tx.tx.QueryContext(ctx, "SELECT id, name, created_by, created_at FROM deployment_keys WHERE deployment_id = ? ORDER BY created_at, id", deploymentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []DeploymentKey{}
	for rows.Next() {
		k := DeploymentKey{DeploymentID: deploymentID}
		var at string
		if err := rows.Scan(&k.ID, &k.Name, &k.CreatedBy, &at); err != nil {
			return nil, err
		}
		k.CreatedAt = parseTime(at)
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeploymentKeyHashes lists the hashes of a deployment's keys (the gateway's table).
func (tx *Tx) DeploymentKeyHashes(ctx context.Context, deploymentID int64) ([]string, error) {
	return tx.keyHashes(ctx, "SELECT hash FROM deployment_keys WHERE deployment_id = ? ORDER BY hash", deploymentID)
}

// DeleteDeploymentKey revokes a key.
func (tx *Tx) DeleteDeploymentKey(ctx context.Context, deploymentID int64, id string) error {
	res, err := tx.tx.ExecContext(ctx, "DELETE FROM deployment_keys WHERE deployment_id = ? AND id = ?", deploymentID, id)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: key %s", ErrNotFound, id)
	}
	return nil
}

// DeploymentKeyHashesNamed lists the hashes of a deployment's keys of one
// name (the runtime's own key, which alone may fetch model files).
func (tx *Tx) DeploymentKeyHashesNamed(ctx context.Context, deploymentID int64, name string) ([]string, error) {
	return tx.keyHashes(ctx, "SELECT hash FROM deployment_keys WHERE deployment_id = ? AND name = ? ORDER BY hash", deploymentID, name)
}

// keyHashes runs a query of one hash column.
func (tx *Tx) keyHashes(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := tx.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// PruneDeploymentKeys deletes a deployment's keys of one name but the
// newest keep (by creation, then id); it reports how many went.
func (tx *Tx) PruneDeploymentKeys(ctx context.Context, deploymentID int64, name string, keep int) (int64, error) {
	res, err := tx.tx.ExecContext(ctx, `DELETE FROM deployment_keys WHERE deployment_id = ? AND name = ? AND id NOT IN (
		SELECT id FROM deployment_keys WHERE deployment_id = ? AND name = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)`,
		deploymentID, name, deploymentID, name, keep)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
