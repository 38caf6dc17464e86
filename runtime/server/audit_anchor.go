package server

import (
	"context"
	"path/filepath"

	"github.com/ferry-ml/ferry/runtime/auditanchor"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/store"
)

// AuditKeyFile is the default audit checkpoint key, beside (not inside) the
// data directory: a copy of the data directory does not carry it.
const AuditKeyFile = "audit.key"

func (o *Options) auditKeyPath() string {
	if o.AuditKeyFile != "" {
		return o.AuditKeyFile
	}
	return filepath.Join(filepath.Dir(filepath.Clean(o.DataDir)), AuditKeyFile)
}

func (o *Options) blobURL() string {
	if o.BlobURL != "" {
		return o.BlobURL
	}
	return "file://" + filepath.Join(o.DataDir, "blobs") + "?create_dir=true"
}

// openAnchor sets up the audit checkpoints in the blob bucket and makes the
// store's verification check against them. Without a usable key at the
// default path the server runs unanchored (and says so); an explicit
// --audit-key-file that cannot be used is an error.
func openAnchor(ctx context.Context, db *store.DB, o Options) (*auditanchor.Anchor, error) {
	key, err := auditanchor.LoadOrCreateKey(o.auditKeyPath())
	if err != nil {
		if o.AuditKeyFile != "" {
			return nil, err
		}
		o.Logger.Warn("audit log not anchored: no checkpoint key; set --audit-key-file", "err", err)
		return nil, nil
	}
	b, err := jobs.OpenLogs(ctx, o.blobURL())
	if err != nil {
		return nil, err
	}
	a, err := auditanchor.New(auditanchor.Config{DB: db, Bucket: b.Bucket, Key: key, Interval: o.AuditCheckpointInterval, Logger: o.Logger.With("component", "audit-anchor")})
	if err != nil {
		return nil, err
	}
	db.SetAuditAnchor(a)
	return a, nil
}
