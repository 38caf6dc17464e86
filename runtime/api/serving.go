package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/go-containerregistry/pkg/name"
	"k8s.io/apimachinery/pkg/api/resource"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/serving"
	"github.com/ferry-ml/ferry/store"
)

// ServingRunner runs deployments (the serving controller).
type ServingRunner interface {
	Poke()
	// Report takes a gateway's measurements.
	Report(now time.Time, r v1.GatewayReport)
	// RevisionStats are a revision's measurements over the last minute.
	RevisionStats(tenant, deployment, revision string, now time.Time) v1.RevisionStats
	// RevisionReason says why a revision is not ready ("" when it is).
	RevisionReason(tenant, deployment, revision string) string
	// OpenArtifact reads a model file by its digest.
	OpenArtifact(ctx context.Context, digest string) (io.ReadCloser, error)
	// Endpoints are the base URLs of a revision's ready pods (nil: not
	// known; the gateway uses the revision's Service).
	Endpoints(tenant, deployment, revision string) []string
	// Starting are the base URLs of a revision's pods that run but are not
	// ready yet (nil: none, or not known).
	Starting(tenant, deployment, revision string) []string
}

type deploymentCreateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Body   v1.DeploymentCreate
}

type deploymentUpdateInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"40"`
	Body   v1.DeploymentUpdate
}

type deploymentInput struct {
	Tenant string `path:"tenant" maxLength:"57"`
	Name   string `path:"name" maxLength:"40"`
}

type deploymentOutput struct {
	Body v1.Deployment
}

type deploymentListInput struct {
	Tenant string    `path:"tenant" maxLength:"57"`
	Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"100"`
	After  v1.Cursor `query:"after" maxLength:"256" doc:"keyset cursor: the next value of the previous page"`
}

type deploymentListOutput struct {
	Body v1.List[v1.Deployment]
}

// resolveModel finds the version a NAME/VERSION or NAME@ALIAS names and
// the model file in its artifacts (422 naming field when any is missing).
func resolveModel(ctx context.Context, tx *store.Tx, tenant, field, ref string) (store.Revision, error) {
	rev, err := serving.Resolve(ctx, tx, tenant, ref)
	if errors.Is(err, serving.ErrBadModel) {
		return rev, fieldError(field, ref, errors.New(strings.TrimPrefix(err.Error(), serving.ErrBadModel.Error()+": ")))
	}
	return rev, err
}

// validateScale checks min, max and concurrency (shared by create and update).
func validateScale(spec *v1.DeploymentSpec) error {
	if spec.Min < 0 || spec.Min > v1.MaxServeReplicas {
		return fieldError("body.min", spec.Min, fmt.Errorf("must be between 0 and %d", v1.MaxServeReplicas))
	}
	if spec.Max < 1 || spec.Max > v1.MaxServeReplicas {
		return fieldError("body.max", spec.Max, fmt.Errorf("must be between 1 and %d", v1.MaxServeReplicas))
	}
	if spec.Min > spec.Max {
		return fieldError("body.min", spec.Min, fmt.Errorf("min %d is more than max %d", spec.Min, spec.Max))
	}
	if spec.Concurrency < 1 || spec.Concurrency > v1.MaxConcurrency {
		return fieldError("body.concurrency", spec.Concurrency, fmt.Errorf("must be between 1 and %d", v1.MaxConcurrency))
	}
	if spec.IdleSeconds < 0 || spec.IdleSeconds > v1.MaxIdleSeconds {
		return fieldError("body.idleSeconds", spec.IdleSeconds, fmt.Errorf("must be between 0 and %d", v1.MaxIdleSeconds))
	}
	r := spec.Rollout
	if r.StepWeight < 0 || r.StepWeight > 100 {
		return fieldError("body.rollout.stepWeight", r.StepWeight, errors.New("must be between 0 and 100"))
	}
	if r.BakeSeconds < 0 || r.MaxErrorRateDelta < 0 || r.MaxErrorRateDelta > 1 || r.MaxP99Ratio < 0 || r.MinRequests < 0 {
		return fieldError("body.rollout", r, errors.New("bake seconds, error rate delta (0-1), p99 ratio and min requests must not be negative"))
	}
	return nil
}

// validateDeployment checks a creation and returns the spec with defaults.
func validateDeployment(b v1.DeploymentCreate, quota store.Quota) (v1.DeploymentSpec, error) {
	if err := ValidateName(b.Name, v1.MaxDeploymentName); err != nil {
		return v1.DeploymentSpec{}, fieldError("body.name", b.Name, err)
	}
	if why := v1.ReservedDeployment(b.Name); why != "" {
		return v1.DeploymentSpec{}, fieldError("body.name", b.Name, errors.New(why))
	}
	spec := v1.DeploymentSpec{Model: b.Model, Runtime: b.Runtime, Image: b.Image, Port: b.Port, Min: 1, Max: 4, Concurrency: b.Concurrency,
		IdleSeconds: b.IdleSeconds, Resources: b.Resources, Rollout: b.Rollout}
	if spec.Runtime == "" {
		spec.Runtime = v1.RuntimeSklearn
	}
	switch spec.Runtime {
	case v1.RuntimeSklearn:
		if b.Image != "" || b.Port != 0 {
			return spec, fieldError("body.image", b.Image, errors.New("image and port are for the custom runtime; sklearn is built in"))
		}
		spec.Port = serving.RuntimePort
	case v1.RuntimeCustom:
		if _, err := name.ParseReference(b.Image); err != nil || b.Image == "" {
			return spec, fieldError("body.image", b.Image, errors.New("the custom runtime needs an image reference"))
		}
		if spec.Port == 0 {
			spec.Port = 8080
		}
	default:
		return spec, fieldError("body.runtime", b.Runtime, errors.New("must be sklearn or custom"))
	}
	if b.Min != nil {
		spec.Min = *b.Min
	}
	if b.Max != nil {
		spec.Max = *b.Max
	}
	if spec.Concurrency == 0 {
		spec.Concurrency = 4
	}
	if spec.IdleSeconds == 0 {
		spec.IdleSeconds = 300
	}
	if spec.Rollout.StepWeight == 0 && spec.Rollout.BakeSeconds == 0 {
		spec.Rollout.StepWeight = 20
	}
	spec.Rollout = serving.WithDefaults(spec.Rollout)
	if spec.Resources.CPU == "" {
		spec.Resources.CPU = "500m"
	}
	if spec.Resources.Memory == "" {
		spec.Resources.Memory = "512Mi"
	}
	if err := validateResources("body.resources", store.Resources{CPU: spec.Resources.CPU, Memory: spec.Resources.Memory, GPU: spec.Resources.GPU}); err != nil {
		return spec, err
	}
	if err := beyondQuota("body.resources", quota, store.Resources{CPU: spec.Resources.CPU, Memory: spec.Resources.Memory, GPU: spec.Resources.GPU}, 1); err != nil {
		return spec, err
	}
	startup, err := startupCPU(b.StartupCPU, spec, quota)
	if err != nil {
		return spec, err
	}
	spec.StartupCPU = startup
	return spec, validateScale(&spec)
}

// startupCPU checks the CPU a deployment's pods have while they start and
// fills in its default: serving.DefaultStartupCPU for the sklearn runtime
// (its start is Python imports, CPU-bound), within the tenant's cpu quota;
// none for a custom image. Empty means no boost. cpu is already checked.
func startupCPU(asked string, spec v1.DeploymentSpec, quota store.Quota) (string, error) {
	cpu := resource.MustParse(spec.Resources.CPU)
	hard, herr := resource.ParseQuantity(orZero(quota.CPU))
	if asked == "" {
		if spec.Runtime != v1.RuntimeSklearn {
			return "", nil
		}
		want := resource.MustParse(serving.DefaultStartupCPU)
		if herr == nil && want.Cmp(hard) > 0 {
			want = hard
		}
		if want.Cmp(cpu) <= 0 {
			return "", nil
		}
		return want.String(), nil
	}
	if err := ValidateQuantityIn(asked, v1.MinCPU, v1.MaxCPU); err != nil {
		return "", fieldError("body.startupCpu", asked, err)
	}
	q := resource.MustParse(asked)
	if q.Cmp(cpu) < 0 {
		return "", fieldError("body.startupCpu", asked, fmt.Errorf("must be at least resources.cpu (%s): it is the CPU a pod has while it starts", spec.Resources.CPU))
	}
	if herr == nil && q.Cmp(hard) > 0 {
		return "", fieldError("body.startupCpu", asked, fmt.Errorf("is more than the tenant's whole cpu quota (%s)", hard.String()))
	}
	return q.String(), nil
}

func (s *Server) toDeployment(ctx context.Context, tx *store.Tx, d store.Deployment) (v1.Deployment, error) {
	spec, err := serving.Spec(d)
	if err != nil {
		return v1.Deployment{}, err
	}
	out := v1.Deployment{Tenant: d.Tenant, Name: d.Name, Spec: spec, URL: v1.ServePrefix + d.Tenant + "/" + d.Name + "/",
		Revisions: []v1.Revision{}, CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	now := time.Now()
	for _, r := range d.Revisions {
		rv := v1.Revision{Name: serving.RevisionName(d, r), Number: r.Number, Model: r.Model, Version: r.Version, Digest: r.Digest,
			Role: r.Role, Weight: r.Weight, Replicas: r.Replicas, ReadyReplicas: r.Ready, CreatedAt: r.CreatedAt}
		if s.cfg.Serving != nil {
			rv.Stats = s.cfg.Serving.RevisionStats(d.Tenant, d.Name, rv.Name, now)
			rv.Reason = s.cfg.Serving.RevisionReason(d.Tenant, d.Name, rv.Name)
		}
		out.Revisions = append(out.Revisions, rv)
	}
	evs, err := tx.DeploymentEvents(ctx, d.ID, 50)
	for _, e := range evs {
		out.Events = append(out.Events, v1.DeploymentEvent(e))
	}
	if out.Events == nil {
		out.Events = []v1.DeploymentEvent{}
	}
	return out, err
}

// deployment reads a deployment after checking the caller's role in its tenant.
func (s *Server) deployment(ctx context.Context, tx *store.Tx, tenant, name string, need store.Role) (store.Deployment, error) {
	if _, err := authorizeTenant(ctx, tx, tenant, need); err != nil {
		return store.Deployment{}, err
	}
	d, err := tx.Deployment(ctx, tenant, name)
	if errors.Is(err, store.ErrNotFound) {
		return d, huma.Error404NotFound(fmt.Sprintf("tenant %s has no deployment %s", tenant, name))
	}
	return d, err
}

func (s *Server) pokeServing() {
	if s.cfg.Serving != nil {
		s.cfg.Serving.Poke()
	}
}

func marshalSpec(spec v1.DeploymentSpec) []byte {
	b, _ := json.Marshal(spec)
	return b
}
