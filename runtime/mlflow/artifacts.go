package mlflow

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/ferry-ml/ferry/store"
)

// artifactsPath is MLflow's artifact proxy (mlflow-artifacts:/ URIs resolve here).
const artifactsPath = "/api/2.0/mlflow-artifacts/artifacts"

// HeaderSHA256 optionally carries the hex sha256 of an upload; a body with
// another digest is refused. RFC 3230 "Digest: sha-256=<base64>" works too.
const HeaderSHA256 = "X-Ferry-Sha256"

// BlobKey is where the blob of a digest is kept, once.
func BlobKey(digest string) string { return "artifacts/sha256/" + digest }

func artifactEndpoint(method string) endpoint {
	return endpoint{methods: []string{http.MethodGet, http.MethodPut}, write: method == http.MethodPut, runScoped: true, fn: (*Handler).artifact}
}

// artifactRef is a path of the proxy: <experiment>/<run>/artifacts/<file>,
// or a logged model's <experiment>/models/<model_id>/artifacts/<file>.
type artifactRef struct {
	exp   int64
	tree  store.ArtifactTree
	rel   string
	isDir bool
}

// parseArtifactPath refuses paths that could escape a run's tree.
func parseArtifactPath(p string, dir bool) (artifactRef, error) {
	p = strings.TrimPrefix(p, "/")
	if strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return artifactRef{}, invalid("artifact path %q is not allowed", p)
	}
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for _, s := range segs {
		if s == ".." || s == "." || (s == "" && p != "") {
			return artifactRef{}, invalid("artifact path %q is not allowed: no '..', '.', empty segments or absolute paths", p)
		}
	}
	tree, rest := store.ArtifactTree{}, []string(nil)
	switch {
	case len(segs) >= 4 && segs[1] == "models" && segs[3] == "artifacts":
		tree, rest = store.ModelTree(segs[2]), segs[4:]
	case len(segs) >= 3 && segs[2] == "artifacts":
		tree, rest = store.RunTree(segs[1]), segs[3:]
	default:
		return artifactRef{}, invalid("artifact path %q is not <experiment_id>/<run_id>/artifacts/<path> or <experiment_id>/models/<model_id>/artifacts/<path>", p)
	}
	exp, err := strconv.ParseInt(segs[0], 10, 64)
	if err != nil {
		return artifactRef{}, invalid("artifact path %q does not start with an experiment id", p)
	}
	ref := artifactRef{exp: exp, tree: tree, rel: strings.Join(rest, "/"), isDir: dir}
	if !dir && ref.rel == "" {
		return artifactRef{}, invalid("artifact path %q names no file", p)
	}
	return ref, nil
}

func (h *Handler) artifact(r *request) (any, error) {
	sub := strings.TrimPrefix(r.URL.Path[strings.Index(r.URL.Path, artifactsPath)+len(artifactsPath):], "/")
	if r.Method == http.MethodGet && sub == "" {
		return h.listArtifacts(r, r.URL.Query().Get("path"))
	}
	ref, err := parseArtifactPath(sub, false)
	if err != nil {
		return nil, err
	}
	owner, err := h.checkTree(r, ref)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPut {
		if err := r.mayWrite(owner); err != nil {
			return nil, err
		}
		return h.upload(r, ref)
	}
	return nil, h.download(r, ref)
}

// checkTree makes sure the tree is in the path's experiment and returns
// the run that owns it: the run, or the logged model's source run.
func (h *Handler) checkTree(r *request, ref artifactRef) (owner string, err error) {
	err = h.read(r, func(tx *store.Tx) error {
		var exp int64
		if ref.tree.IsModel() {
			m, err := tx.LoggedModel(r.Context(), r.tenant, ref.tree.ID)
			if err != nil {
				return err
			}
			exp, owner = m.ExperimentID, m.SourceRunID
		} else {
			info, err := tx.RunInfo(r.Context(), r.tenant, ref.tree.ID)
			if err != nil {
				return err
			}
			exp, owner = info.ExperimentID, info.ID
		}
		if exp != ref.exp {
			return notFound("%s is not in experiment %d", ref.tree, ref.exp)
		}
		return nil
	})
	return owner, err
}

func wantDigest(hd http.Header) (string, error) {
	if v := strings.TrimSpace(hd.Get(HeaderSHA256)); v != "" {
		if b, err := hex.DecodeString(v); err != nil || len(b) != sha256.Size {
			return "", invalid("%s %q is not a hex sha256", HeaderSHA256, v)
		}
		return strings.ToLower(v), nil
	}
	for _, part := range strings.Split(hd.Get("Digest"), ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && strings.EqualFold(alg, "sha-256") {
			b, err := base64.StdEncoding.DecodeString(val)
			if err != nil || len(b) != sha256.Size {
				return "", invalid("Digest sha-256=%q is not a base64 sha256", val)
			}
			return hex.EncodeToString(b), nil
		}
	}
	return "", nil
}

// upload streams the body into the bucket under a temporary key while
// hashing it, then keeps it under its digest (once) and maps the path to it.
func (h *Handler) upload(r *request, ref artifactRef) (any, error) {
	ctx := r.Context()
	want, err := wantDigest(r.Header)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > h.cfg.MaxArtifactBytes {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_PARAMETER_VALUE", Msg: fmt.Sprintf("artifact is larger than the limit of %d bytes", h.cfg.MaxArtifactBytes)}
	}
	tmp := "artifacts/uploads/" + store.NewRunID()
	w, err := h.bucket.NewWriter(ctx, tmp, &blob.WriterOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, hash), io.LimitReader(r.Body, h.cfg.MaxArtifactBytes+1))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	defer func() { _ = h.bucket.Delete(ctx, tmp) }()
	if err != nil {
		return nil, fmt.Errorf("store upload: %w", err)
	}
	if n > h.cfg.MaxArtifactBytes {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Code: "INVALID_PARAMETER_VALUE", Msg: fmt.Sprintf("artifact is larger than the limit of %d bytes", h.cfg.MaxArtifactBytes)}
	}
	if r.ContentLength >= 0 && n != r.ContentLength {
		return nil, invalid("artifact body is %d bytes, Content-Length said %d", n, r.ContentLength)
	}
	digest := hex.EncodeToString(hash.Sum(nil))
	if want != "" && want != digest {
		return nil, invalid("artifact digest is sha256:%s, the request said sha256:%s", digest, want)
	}
	key := BlobKey(digest)
	if ok, err := h.bucket.Exists(ctx, key); err != nil {
		return nil, err
	} else if !ok {
		if err := h.bucket.Copy(ctx, key, tmp, nil); err != nil {
			return nil, fmt.Errorf("keep artifact blob: %w", err)
		}
	}
	err = h.write(r, "", "", func(tx *store.Tx) error {
		return tx.PutArtifact(ctx, r.tenant, ref.tree, ref.rel, digest, n)
	})
	if err != nil {
		return nil, err
	}
	r.w.Header().Set(HeaderSHA256, digest)
	return struct{}{}, nil
}

func (h *Handler) download(r *request, ref artifactRef) error {
	ctx := r.Context()
	var e store.ArtifactEntry
	err := h.read(r, func(tx *store.Tx) error {
		var err error
		e, err = tx.Artifact(ctx, r.tenant, ref.tree, ref.rel)
		return err
	})
	if err != nil {
		return err
	}
	// Who read what: recorded before the bytes go out; a read that cannot
	// be recorded is refused.
	if err := h.db.Write(ctx, func(tx *store.Tx) error {
		return tx.RecordAccess(ctx, store.Access{Tenant: r.tenant, Actor: r.user.Name, Kind: store.AccessArtifact, Object: ref.tree.String() + "/" + ref.rel})
	}); err != nil {
		return fmt.Errorf("record the read: %w", err)
	}
	rd, err := h.bucket.NewReader(ctx, BlobKey(e.Digest), nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return notFound("the blob of artifact %s (sha256:%s) is missing", ref.rel, e.Digest)
	}
	if err != nil {
		return err
	}
	defer rd.Close()
	hd := r.w.Header()
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	hd.Set(HeaderSHA256, e.Digest)
	hd.Set("ETag", `"sha256:`+e.Digest+`"`)
	hd.Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(path.Base(ref.rel), `"`, "")+`"`)
	r.w.WriteHeader(http.StatusOK)
	_, err = io.Copy(r.w, rd)
	if err != nil {
		h.log.Warn("artifact download interrupted", "tree", ref.tree.String(), "path", ref.rel, "err", err)
	}
	return nil
}

type fileInfo struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

func toFiles(es []store.ArtifactEntry, rel func(string) string) []fileInfo {
	out := make([]fileInfo, 0, len(es))
	for _, e := range es {
		f := fileInfo{Path: rel(e.Path), IsDir: e.IsDir}
		if !e.IsDir {
			size := e.Size
			f.FileSize = &size
		}
		out = append(out, f)
	}
	return out
}

// listArtifacts is the proxy's list: the direct children of a directory, by base name.
func (h *Handler) listArtifacts(r *request, p string) (any, error) {
	out := map[string][]fileInfo{"files": {}}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	models := len(segs) > 1 && segs[1] == "models"
	if len(segs) < 2 || (models && len(segs) < 3) {
		// The bucket's, an experiment's or its models' root: ferry keeps
		// files in runs and logged models only.
		return out, nil
	}
	if (models && len(segs) == 3) || (!models && len(segs) == 2) {
		p = strings.TrimSuffix(p, "/") + "/artifacts"
	}
	ref, err := parseArtifactPath(p, true)
	if err != nil {
		return nil, err
	}
	if _, err := h.checkTree(r, ref); err != nil {
		return nil, err
	}
	var es []store.ArtifactEntry
	err = h.read(r, func(tx *store.Tx) error {
		es, err = tx.ListArtifacts(r.Context(), r.tenant, ref.tree, ref.rel)
		return err
	})
	if err != nil {
		return nil, err
	}
	out["files"] = toFiles(es, path.Base)
	return out, nil
}

// listRunArtifacts is the tracking API's /artifacts/list: paths relative to the run's root.
func (h *Handler) listRunArtifacts(r *request) (any, error) {
	var in struct {
		runRef
		Path string `json:"path"`
	}
	if err := h.decode(r, &in); err != nil {
		return nil, err
	}
	id, err := in.id()
	if err != nil {
		return nil, err
	}
	if in.Path != "" {
		if _, err := parseArtifactPath("0/r/artifacts/"+in.Path, true); err != nil {
			return nil, err
		}
	}
	var info store.RunInfo
	var es []store.ArtifactEntry
	err = h.read(r, func(tx *store.Tx) error {
		if info, err = tx.RunInfo(r.Context(), r.tenant, id); err != nil {
			return err
		}
		es, err = tx.ListRunArtifacts(r.Context(), r.tenant, id, in.Path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"root_uri": info.ArtifactURI, "files": toFiles(es, func(s string) string { return s })}, nil
}
