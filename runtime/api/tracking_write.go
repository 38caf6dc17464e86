package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/store"
)

// A run's metric series and artifact tree, and the registry changes the
// CLI makes (register a version from a run, move an alias). Training code
// writes through the MLflow-compatible API instead (runtime/mlflow).

type metricHistoryInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Run    string    `path:"run" maxLength:"32"`
	Key    string    `path:"key" maxLength:"250"`
	Limit  int       `query:"limit" minimum:"1" maximum:"10000" default:"1000"`
	After  v1.Cursor `query:"after" maxLength:"20" doc:"cursor: the next value of the previous page"`
}

type metricHistoryOutput struct{ Body v1.List[v1.MetricValue] }

type artifactListInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Run    string `path:"run" maxLength:"32"`
	Path   string `query:"path" maxLength:"1024" doc:"a directory of the run's artifact tree (default: its root)"`
}

type artifactListOutput struct{ Body v1.List[v1.Artifact] }

type versionCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Model  string `path:"model" maxLength:"256"`
	Body   v1.ModelVersionCreate
}

type versionOutput struct{ Body v1.ModelVersion }

type aliasInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Model  string `path:"model" maxLength:"256"`
	Alias  string `path:"alias" maxLength:"256"`
}

type aliasPutInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Model  string `path:"model" maxLength:"256"`
	Alias  string `path:"alias" maxLength:"256"`
	Body   v1.ModelAliasPut
}

var (
	aliasName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	// versionAlias is MLflow's reserved form v<number>.
	versionAlias = regexp.MustCompile(`^[vV][0-9]+$`)
)

// cleanArtifactPath refuses paths that leave the run's tree.
func cleanArtifactPath(field, p string) (string, error) {
	if p == "" {
		return "", nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return "", fieldError(field, p, errors.New("an artifact path is relative, without '.', '..' or empty segments"))
		}
	}
	return path.Clean(p), nil
}

func (s *Server) trackingWriteRoutes() {
	register(s, huma.Operation{OperationID: "getMetricHistory", Method: http.MethodGet, Path: v1.PathRunMetric, Tags: []string{"tracking"},
		Summary: "A run's series of one metric, in step order"},
		func(ctx context.Context, in *metricHistoryInput) (*metricHistoryOutput, error) {
			out := &metricHistoryOutput{}
			err := s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				off, err := idCursor(in.After)
				if err != nil {
					return err
				}
				ms, err := tx.MetricHistory(ctx, in.Tenant, in.Run, in.Key, int(off), in.Limit+1)
				if err != nil {
					return err
				}
				out.Body = offsetPage(ms, int(off), in.Limit, func(m store.Metric) v1.MetricValue {
					return v1.MetricValue{Key: m.Key, Value: metricValue(m.Value), Step: m.Step, Timestamp: m.Timestamp}
				})
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "listRunArtifacts", Method: http.MethodGet, Path: v1.PathRunArtifacts, Tags: []string{"tracking"},
		Summary: "List one directory of a run's artifacts (download a file at MLflowArtifactPath)"},
		func(ctx context.Context, in *artifactListInput) (*artifactListOutput, error) {
			dir, err := cleanArtifactPath("path", in.Path)
			if err != nil {
				return nil, err
			}
			out := &artifactListOutput{}
			err = s.readAs(ctx, in.Tenant, store.RoleViewer, func(tx *store.Tx) error {
				if _, err := tx.RunInfo(ctx, in.Tenant, in.Run); err != nil {
					return err
				}
				es, err := tx.ListRunArtifacts(ctx, in.Tenant, in.Run, dir)
				out.Body = v1.List[v1.Artifact]{Items: mapAll(es, func(e store.ArtifactEntry) v1.Artifact {
					return v1.Artifact{Path: e.Path, IsDir: e.IsDir, Size: e.Size, Digest: e.Digest}
				})}
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "registerModelVersion", Method: http.MethodPost, Path: v1.PathModelVersions, Tags: []string{"registry"},
		Summary: "Register a run's model directory as a new version (editor; the model is created when missing)", DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *versionCreateInput) (*versionOutput, error) {
			dir, err := cleanArtifactPath("body.path", in.Body.Path)
			if err != nil {
				return nil, err
			}
			if dir == "" {
				dir = "model"
			}
			if in.Model == "" || len(in.Model) > store.MaxModelName {
				return nil, fieldError("path.model", in.Model, fmt.Errorf("a model name is 1 to %d characters", store.MaxModelName))
			}
			out := &versionOutput{}
			err = s.mutate(ctx, in.Tenant, "registered-model/"+in.Model, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				run, err := tx.RunInfo(ctx, in.Tenant, in.Body.RunID)
				if errors.Is(err, store.ErrNotFound) {
					return fieldError("body.runId", in.Body.RunID, fmt.Errorf("tenant %s has no run %s", in.Tenant, in.Body.RunID))
				}
				if err != nil {
					return err
				}
				es, err := tx.ListRunArtifacts(ctx, in.Tenant, run.ID, dir)
				if err != nil {
					return err
				}
				if len(es) == 0 {
					return fieldError("body.path", dir, fmt.Errorf("run %s has no artifacts under %s/", run.ID, dir))
				}
				if _, err := tx.RegisteredModel(ctx, in.Tenant, in.Model); errors.Is(err, store.ErrNotFound) {
					if _, err := tx.CreateRegisteredModel(ctx, store.RegisteredModel{Tenant: in.Tenant, Name: in.Model, UserID: caller(ctx).Name}); err != nil {
						return err
					}
				} else if err != nil {
					return err
				}
				v, err := tx.CreateModelVersion(ctx, store.ModelVersion{Tenant: in.Tenant, Name: in.Model, RunID: run.ID, UserID: caller(ctx).Name,
					Source: strings.TrimSuffix(run.ArtifactURI, "/") + "/" + dir, Description: in.Body.Description})
				if err != nil {
					return err
				}
				out.Body = toModelVersion(v)
				if j, err := tx.JobByRun(ctx, in.Tenant, run.ID); err == nil {
					out.Body.Job = j.Name
				}
				return nil
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "setModelAlias", Method: http.MethodPut, Path: v1.PathModelAlias, Tags: []string{"registry"},
		Summary: "Point an alias (e.g. champion) at a version (editor); models:/NAME@ALIAS resolves to it"},
		func(ctx context.Context, in *aliasPutInput) (*versionOutput, error) {
			if !aliasName.MatchString(in.Alias) || strings.EqualFold(in.Alias, "latest") || versionAlias.MatchString(in.Alias) {
				return nil, fieldError("path.alias", in.Alias, errors.New("an alias is a letter or _ then letters, digits, _ or -, and not latest or v<number> (MLflow reserves them)"))
			}
			out := &versionOutput{}
			err := s.mutate(ctx, in.Tenant, "registered-model/"+in.Model+"@"+in.Alias, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				if _, err := tx.ModelVersion(ctx, in.Tenant, in.Model, in.Body.Version); errors.Is(err, store.ErrNotFound) {
					return fieldError("body.version", in.Body.Version, fmt.Errorf("model %s has no version %d", in.Model, in.Body.Version))
				} else if err != nil {
					return err
				}
				if err := tx.SetModelAlias(ctx, in.Tenant, in.Model, in.Alias, in.Body.Version); err != nil {
					return err
				}
				v, err := tx.ModelVersion(ctx, in.Tenant, in.Model, in.Body.Version)
				out.Body = toModelVersion(v)
				return err
			})
			return out, err
		})

	register(s, huma.Operation{OperationID: "deleteModelAlias", Method: http.MethodDelete, Path: v1.PathModelAlias, Tags: []string{"registry"},
		Summary: "Remove an alias (editor)", DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *aliasInput) (*struct{}, error) {
			err := s.mutate(ctx, in.Tenant, "registered-model/"+in.Model+"@"+in.Alias, func(tx *store.Tx) error {
				if _, err := authorizeTenant(ctx, tx, in.Tenant, store.RoleEditor); err != nil {
					return err
				}
				return tx.DeleteModelAlias(ctx, in.Tenant, in.Model, in.Alias)
			})
			return nil, err
		})
}
