package auditanchor

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/ferry-ml/ferry/store"
)

// Prefix is where checkpoints are kept in the bucket, one object per head
// id, named so that the last in key order is the latest.
const Prefix = "audit/checkpoints/"

// DefaultInterval is how often a checkpoint is written when the log grew.
const DefaultInterval = time.Minute

// Checkpoint is a signed statement of the chain's head at a time.
type Checkpoint struct {
	HeadID    int64     `json:"headId"`
	HeadHash  string    `json:"headHash"`
	Time      time.Time `json:"time"`
	Signature string    `json:"signature"`
}

func (c Checkpoint) message() []byte {
	return []byte("ferry audit checkpoint v1\n" + strconv.FormatInt(c.HeadID, 10) + "\n" + c.HeadHash + "\n" + c.Time.UTC().Format(time.RFC3339Nano) + "\n")
}

func key(id int64) string { return fmt.Sprintf("%s%020d.json", Prefix, id) }

// Config configures an Anchor.
type Config struct {
	DB     *store.DB
	Bucket *blob.Bucket
	Key    ed25519.PrivateKey
	// Interval between checkpoints (default DefaultInterval).
	Interval time.Duration
	Logger   *slog.Logger
}

// Validate fills defaults and rejects an unusable config.
func (c *Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("auditanchor: store is nil")
	case c.Bucket == nil:
		return errors.New("auditanchor: bucket is nil")
	case len(c.Key) != ed25519.PrivateKeySize:
		return errors.New("auditanchor: no Ed25519 key")
	case c.Logger == nil:
		return errors.New("auditanchor: logger is nil")
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	return nil
}

// Anchor writes and checks checkpoints. It is a store.AuditAnchor.
type Anchor struct {
	cfg Config
	pub ed25519.PublicKey
}

// New builds an Anchor.
func New(cfg Config) (*Anchor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Anchor{cfg: cfg, pub: cfg.Key.Public().(ed25519.PublicKey)}, nil
}

// Checkpoint writes a checkpoint of the current head, unless the latest
// one already names it.
func (a *Anchor) Checkpoint(ctx context.Context) error {
	var c Checkpoint
	err := a.cfg.DB.Read(ctx, func(tx *store.Tx) (err error) {
		c.HeadID, c.HeadHash, err = tx.AuditHead(ctx)
		c.Time = tx.Now()
		return err
	})
	if err != nil {
		return err
	}
	if c.HeadID == 0 {
		return nil
	}
	if last, ok, err := a.Latest(ctx); err == nil && ok && last.HeadID == c.HeadID && last.HeadHash == c.HeadHash {
		return nil
	}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(a.cfg.Key, c.message()))
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := a.cfg.Bucket.WriteAll(ctx, key(c.HeadID), b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write audit checkpoint: %w", err)
	}
	return nil
}

// Latest is the checkpoint with the highest head id; ok is false when there is none.
func (a *Anchor) Latest(ctx context.Context) (Checkpoint, bool, error) {
	var last string
	it := a.cfg.Bucket.List(&blob.ListOptions{Prefix: Prefix})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Checkpoint{}, false, fmt.Errorf("list audit checkpoints: %w", err)
		}
		if !o.IsDir && o.Key > last {
			last = o.Key
		}
	}
	if last == "" {
		return Checkpoint{}, false, nil
	}
	b, err := a.cfg.Bucket.ReadAll(ctx, last)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("read audit checkpoint %s: %w", last, err)
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		c.Signature = "" // unreadable: fails the signature check
	}
	return c, true, nil
}

// Valid reports whether the checkpoint was signed with the anchor's key.
func (a *Anchor) Valid(c Checkpoint) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	return err == nil && ed25519.Verify(a.pub, c.message(), sig)
}

// CheckAudit compares the chain in tx with the latest checkpoint and says
// what is missing or altered; nothing means the chain reaches at least as
// far as the checkpoint, through the same row.
func (a *Anchor) CheckAudit(ctx context.Context, tx *store.Tx) ([]string, error) {
	c, ok, err := a.Latest(ctx)
	if err != nil || !ok {
		return nil, err
	}
	at := c.Time.UTC().Format(time.RFC3339)
	if !a.Valid(c) {
		return []string{fmt.Sprintf("checkpoint signature invalid (checkpoint of row %d at %s): it was not written with this server's audit key", c.HeadID, at)}, nil
	}
	head, _, err := tx.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	if head < c.HeadID {
		return []string{fmt.Sprintf("rows %d-%d after checkpoint %s are missing (the log ends at row %d)", head+1, c.HeadID, at, head)}, nil
	}
	hash, err := tx.AuditHash(ctx, c.HeadID)
	if errors.Is(err, store.ErrNotFound) {
		return []string{fmt.Sprintf("row %d of checkpoint %s is missing", c.HeadID, at)}, nil
	}
	if err != nil {
		return nil, err
	}
	if hash != c.HeadHash {
		return []string{fmt.Sprintf("row %d or an earlier one was altered after checkpoint %s: its hash no longer matches the checkpoint (the chain was recomputed)", c.HeadID, at)}, nil
	}
	return nil, nil
}

// Run writes a checkpoint every interval until ctx ends, then one last
// time (a clean shutdown leaves the final head anchored).
func (a *Anchor) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			return a.Checkpoint(fctx)
		case <-t.C:
			if err := a.Checkpoint(ctx); err != nil && ctx.Err() == nil {
				a.cfg.Logger.Warn("audit checkpoint", "err", err)
			}
		}
	}
}
