package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/bundle"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/runtime/seed"
	"github.com/ferry-ml/ferry/store"
)

// SeedStore keeps the seed bundle that the node agents import (runtime/seed.Store).
type SeedStore interface {
	Images() []v1.SeedImage
	Generation() string
	Upload(r io.Reader) (*bundle.Manifest, error)
	WriteArchive(w io.Writer, ref string) error
}

type seedArchiveInput struct {
	Ref string `query:"ref" required:"true" maxLength:"512" doc:"image reference, as listed"`
}

type seedImagesOutput struct {
	Body []v1.SeedImage
}

type seedReportInput struct {
	Body v1.SeedReport
}

type seedStatusOutput struct {
	Body []v1.SeedNodeStatus
}

// requireSeedReader lets in admins and the seed agents' account.
func requireSeedReader(ctx context.Context) error {
	if u := caller(ctx); !u.Admin && u.Name != v1.SeedUser {
		return huma.Error403Forbidden("the seed bundle is for node agents and admins")
	}
	return nil
}

func (s *Server) seedRoutes() {
	if s.cfg.Seed == nil {
		return
	}
	tags := []string{"seed"}
	register(s, huma.Operation{OperationID: "listSeedImages", Method: http.MethodGet, Path: v1.PathSeedImages, Tags: tags,
		Summary: "The images of the current seed bundle (admins and node agents)"},
		func(ctx context.Context, _ *struct{}) (*seedImagesOutput, error) {
			if err := requireSeedReader(ctx); err != nil {
				return nil, err
			}
			return &seedImagesOutput{Body: s.cfg.Seed.Images()}, nil
		})

	register(s, huma.Operation{OperationID: "seedArchive", Method: http.MethodGet, Path: v1.PathSeedArchive, Tags: tags,
		Summary:   "One seed image as a docker-archive tar (admins and node agents)",
		Responses: map[string]*huma.Response{"200": {Description: "docker-archive tar", Content: map[string]*huma.MediaType{"application/x-tar": {}}}}},
		func(ctx context.Context, in *seedArchiveInput) (*huma.StreamResponse, error) {
			if err := requireSeedReader(ctx); err != nil {
				return nil, err
			}
			if !s.hasSeedImage(in.Ref) {
				return nil, huma.Error404NotFound(fmt.Sprintf("image %q is not in the seed bundle", in.Ref))
			}
			return &huma.StreamResponse{Body: func(hc huma.Context) {
				hc.SetHeader("Content-Type", "application/x-tar")
				if err := s.cfg.Seed.WriteArchive(hc.BodyWriter(), in.Ref); err != nil {
					s.log.Error("seed archive", "ref", in.Ref, "err", err)
				}
			}}, nil
		})

	register(s, huma.Operation{OperationID: "reportSeedStatus", Method: http.MethodPost, Path: v1.PathSeedStatus, Tags: tags,
		Summary: "A node agent reports the image list it holds", DefaultStatus: http.StatusNoContent,
		Metadata: map[string]any{metaNoAudit: true}},
		func(ctx context.Context, in *seedReportInput) (*struct{}, error) {
			if u := caller(ctx); !u.Admin && u.Name != v1.SeedUser {
				return nil, huma.Error403Forbidden("only node agents and admins report seed status")
			}
			if in.Body.Node == "" {
				return nil, fieldError("body.node", in.Body.Node, errors.New("must name the node"))
			}
			if !s.seedNodes.Report(in.Body) {
				return nil, huma.NewError(http.StatusInsufficientStorage, fmt.Sprintf("seed status keeps at most %d nodes", seed.MaxNodes))
			}
			return nil, nil
		})

	register(s, huma.Operation{OperationID: "listSeedStatus", Method: http.MethodGet, Path: v1.PathSeedStatus, Tags: tags,
		Summary: "What each node's agent last reported (admin)"},
		func(ctx context.Context, _ *struct{}) (*seedStatusOutput, error) {
			if err := requireAdmin(ctx); err != nil {
				return nil, err
			}
			return &seedStatusOutput{Body: s.seedNodes.Status(s.cfg.Seed.Generation())}, nil
		})

	// A bundle is gigabytes: it is read as a stream, verified as it
	// arrives, so it is served outside huma's buffered bodies. It is still
	// an operation of the API and of its OpenAPI document.
	s.api.OpenAPI().AddOperation(&huma.Operation{OperationID: "uploadSeedBundle", Method: http.MethodPut, Path: v1.PathSeedBundle, Tags: tags,
		Summary:     "Upload a bundle whose images the node agents import (admin); a bundle that fails verification changes nothing",
		RequestBody: &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"application/x-tar": {}}},
		Responses: map[string]*huma.Response{
			"200":     {Description: "the new seed image list", Content: map[string]*huma.MediaType{"application/json": {Schema: s.api.OpenAPI().Components.Schemas.Schema(reflectType[[]v1.SeedImage](), true, "SeedImages")}}},
			"default": {Description: "a problem", Content: map[string]*huma.MediaType{v1.ContentTypeProblem: {}}},
		}})
	s.router.Put(v1.PathSeedBundle, s.uploadSeed)
}

func (s *Server) hasSeedImage(ref string) bool {
	for _, img := range s.cfg.Seed.Images() {
		if img.Ref == ref {
			return true
		}
	}
	return false
}

// uploadSeed takes a bundle from an admin; authentication comes first, and
// the upload is audited with its result.
func (s *Server) uploadSeed(w http.ResponseWriter, r *http.Request) {
	u, err := s.authn.Request(r, "")
	if err != nil {
		status := http.StatusUnauthorized
		if !auth.Unauthenticated(err) {
			s.log.Error("authenticate", "err", err)
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry"`)
		writeProblem(w, status, err.Error())
		return
	}
	if !u.Admin {
		s.audit(r.Context(), store.AuditEntry{Actor: u.Name, Action: "uploadSeedBundle", Target: "seed/bundle", Result: "denied", Detail: "status 403"})
		writeProblem(w, http.StatusForbidden, "uploading a seed bundle needs a platform admin")
		return
	}
	m, err := s.cfg.Seed.Upload(r.Body)
	result, detail := "ok", ""
	if err != nil {
		result, detail = "invalid", err.Error()
		if !errors.Is(err, bundle.ErrCorrupt) {
			result = "error"
		}
	} else {
		refs := make([]string, 0, len(m.Images))
		for _, i := range m.Images {
			refs = append(refs, i.Ref)
		}
		detail = strings.Join(refs, ",")
	}
	auditErr := s.audit(r.Context(), store.AuditEntry{Actor: u.Name, Action: "uploadSeedBundle", Target: "seed/bundle", Result: result, Detail: detail})
	switch {
	case err != nil && result == "invalid":
		writeProblem(w, http.StatusBadRequest, err.Error())
	case err != nil:
		s.log.Error("seed upload", "err", err)
		writeProblem(w, http.StatusInternalServerError, "could not store the bundle")
	case auditErr != nil:
		writeProblem(w, http.StatusInternalServerError, "bundle stored but not audited")
	default:
		writeJSON(w, http.StatusOK, s.cfg.Seed.Images())
	}
}

// audit appends one row in its own transaction, even if the client left.
func (s *Server) audit(ctx context.Context, e store.AuditEntry) error {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := s.db.Write(wctx, func(tx *store.Tx) error { _, err := tx.AppendAudit(wctx, e); return err })
	if err != nil {
		s.log.Error("write audit row", "action", e.Action, "err", err)
	}
	return err
}
