package jobs

import (
	"context"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets, the default
	"gocloud.dev/gcerrors"
)

// Logs keeps the logs of ended pods in a blob bucket (a directory by
// default), so they can be read after the pod and its job are gone.
type Logs struct {
	Bucket *blob.Bucket
}

// OpenLogs opens the bucket at url (file:///path, or any gocloud.dev blob
// URL whose driver is linked in).
func OpenLogs(ctx context.Context, url string) (*Logs, error) {
	// fileblob writes to $TMPDIR and renames into the bucket, which fails
	// across filesystems (a pod's /tmp and its data volume): write beside
	// the final file instead.
	if strings.HasPrefix(url, "file://") && !strings.Contains(url, "no_tmp_dir=") {
		if strings.Contains(url, "?") {
			url += "&no_tmp_dir=true"
		} else {
			url += "?no_tmp_dir=true"
		}
	}
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("open log bucket %s: %w", url, err)
	}
	return &Logs{Bucket: b}, nil
}

// Key is where a replica's log is kept: per tenant, job id (names are
// reused after a delete) and replica.
func Key(tenant string, jobID int64, replica int32) string {
	return fmt.Sprintf("jobs/%s/%d/replica-%d.log", tenant, jobID, replica)
}

// Save copies r into the bucket under key, replacing what was there.
func (l *Logs) Save(ctx context.Context, key string, r io.Reader) (int64, error) {
	w, err := l.Bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "text/plain; charset=utf-8"})
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(w, r)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Open reads a saved log; ok is false when there is none.
func (l *Logs) Open(ctx context.Context, key string) (io.ReadCloser, bool, error) {
	r, err := l.Bucket.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
}

// DeleteJob removes every saved log of a job.
func (l *Logs) DeleteJob(ctx context.Context, tenant string, jobID int64) error {
	prefix := fmt.Sprintf("jobs/%s/%d/", tenant, jobID)
	it := l.Bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(obj.Key, prefix) {
			if err := l.Bucket.Delete(ctx, obj.Key); err != nil {
				return err
			}
		}
	}
}
