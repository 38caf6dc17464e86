package v1

import "time"

// Paths of model serving.
const (
	PathDeployments        = PathTenant + "/deployments"
	PathDeployment         = PathDeployments + "/{name}"
	PathDeploymentPromote  = PathDeployment + "/promote"
	PathDeploymentRollback = PathDeployment + "/rollback"
	PathDeploymentKeys     = PathDeployment + "/keys"
	PathDeploymentKey      = PathDeploymentKeys + "/{id}"
	// PathRevisionArtifact serves a revision's model file by its digest to
	// the revision's pods (the runtime verifies it before answering ready).
	PathRevisionArtifact = PathDeployment + "/revisions/{revision}/artifact"
	// PathServingRoutes is the gateway's routing table (gateway role only).
	PathServingRoutes = Prefix + "/serving/routes"
	// PathServingReport takes a gateway's measurements (gateway role only).
	PathServingReport = Prefix + "/serving/report"
	// ServePrefix is where the gateway serves: /serve/<tenant>/<deployment>/...
	ServePrefix = "/serve/"
	// HeaderAPIKey carries a deployment-scoped API key (Bearer works too).
	HeaderAPIKey = "X-Ferry-Key"
	// APIKeyPrefix starts every deployment API key.
	APIKeyPrefix = "ferry_dk_"
	// GatewayUser is the system account the gateway authenticates as.
	GatewayUser = "ferry-gateway"
)

// Serving runtimes.
const (
	RuntimeSklearn = "sklearn"
	RuntimeCustom  = "custom"
)

// Revision roles.
const (
	RoleStable  = "stable"
	RoleCanary  = "canary"
	RoleRetired = "retired"
)

// Bounds of a deployment.
const (
	MaxDeploymentName = 40
	MaxServeReplicas  = 64
	MaxConcurrency    = 10000
	MaxIdleSeconds    = 86400
)

// RolloutPolicy is how a canary advances: it starts at its weight, gains
// StepWeight after each BakeSeconds while its error rate stays within
// MaxErrorRateDelta of stable's and its p99 within MaxP99Ratio times
// stable's, and is rolled back (weight 0) as soon as either is exceeded.
type RolloutPolicy struct {
	StepWeight        int32   `json:"stepWeight,omitempty" minimum:"0" maximum:"100" doc:"weight added per step (default 20; 0: manual promotion only)"`
	BakeSeconds       int32   `json:"bakeSeconds,omitempty" minimum:"0" maximum:"86400" doc:"time at each weight before the next step (default 60)"`
	MaxErrorRateDelta float64 `json:"maxErrorRateDelta,omitempty" minimum:"0" maximum:"1" doc:"canary error rate may exceed stable's by this much (default 0.05)"`
	MaxP99Ratio       float64 `json:"maxP99Ratio,omitempty" minimum:"0" maximum:"100" doc:"canary p99 may be this many times stable's (default 2)"`
	MinRequests       int64   `json:"minRequests,omitempty" minimum:"0" maximum:"1000000" doc:"requests a canary needs before it is judged (default 20)"`
}

// DeploymentCreate is the body of a deployment's creation.
type DeploymentCreate struct {
	Name        string        `json:"name" maxLength:"40" doc:"DNS-1123 label, unique in the tenant; not starting nb-, fp- or ferry- (names of ferry's own objects)"`
	Model       string        `json:"model" maxLength:"300" doc:"a registered model's version: NAME/VERSION or NAME@ALIAS (followed: moving the alias starts a rollout)" example:"iris@champion"`
	Runtime     string        `json:"runtime,omitempty" enum:"sklearn,custom" doc:"sklearn (built in, Open Inference Protocol v2) or custom (your image, HTTP on port)"`
	Image       string        `json:"image,omitempty" maxLength:"512" doc:"custom runtime's image"`
	Port        int32         `json:"port,omitempty" minimum:"0" maximum:"65535" doc:"custom runtime's port (default 8080)"`
	Min         *int32        `json:"min,omitempty" minimum:"0" maximum:"64" doc:"fewest replicas (default 1; 0 allows scale to zero)"`
	Max         *int32        `json:"max,omitempty" minimum:"0" maximum:"64" doc:"most replicas (default 4)"`
	Concurrency int32         `json:"concurrency,omitempty" minimum:"0" maximum:"10000" doc:"in-flight requests per replica the autoscaler aims at (default 4)"`
	IdleSeconds int32         `json:"idleSeconds,omitempty" minimum:"0" maximum:"86400" doc:"idle time after which a revision with min 0 goes to zero (default 300)"`
	Resources   Resources     `json:"resources,omitempty"`
	StartupCPU  string        `json:"startupCpu,omitempty" maxLength:"32" doc:"CPU each pod has while it starts, until it is ready (at most 2 minutes), then it is resized in place to resources.cpu; a Kubernetes quantity, at least resources.cpu and within the tenant's cpu quota (default: 1 for sklearn, whose start is Python imports; resources.cpu, no boost, for custom)" example:"1"`
	Rollout     RolloutPolicy `json:"rollout,omitempty"`
}

// DeploymentUpdate changes a deployment: a new model version becomes a
// canary at CanaryWeight; scaling fields change every revision.
type DeploymentUpdate struct {
	Model        string         `json:"model,omitempty" maxLength:"300" doc:"new version (NAME/VERSION or NAME@ALIAS): becomes the canary"`
	CanaryWeight *int32         `json:"canaryWeight,omitempty" doc:"the canary's share of requests in percent, 0-100 (default 10)"`
	Min          *int32         `json:"min,omitempty" minimum:"0" maximum:"64"`
	Max          *int32         `json:"max,omitempty" minimum:"0" maximum:"64"`
	Concurrency  int32          `json:"concurrency,omitempty" minimum:"0" maximum:"10000"`
	IdleSeconds  *int32         `json:"idleSeconds,omitempty" minimum:"0" maximum:"86400"`
	Rollout      *RolloutPolicy `json:"rollout,omitempty"`
	StartupCPU   *string        `json:"startupCpu,omitempty" maxLength:"32" doc:"CPU each new pod has while it starts (as in DeploymentCreate, checked against the tenant's quota now); the empty string turns the boost off, and pods boosted now are resized back"`
}

// DeploymentSpec is a deployment as it runs, defaults filled in.
type DeploymentSpec struct {
	Model       string        `json:"model"`
	Runtime     string        `json:"runtime"`
	Image       string        `json:"image,omitempty"`
	Port        int32         `json:"port"`
	Min         int32         `json:"min"`
	Max         int32         `json:"max"`
	Concurrency int32         `json:"concurrency"`
	IdleSeconds int32         `json:"idleSeconds"`
	Resources   Resources     `json:"resources"`
	StartupCPU  string        `json:"startupCpu,omitempty" doc:"CPU a pod has until it is ready (empty or resources.cpu: no boost)"`
	Rollout     RolloutPolicy `json:"rollout"`
}

// RevisionStats are a revision's measurements over the last minute, as the
// gateways report them.
type RevisionStats struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"errorRate"`
	P50Ms     float64 `json:"p50Ms"`
	P99Ms     float64 `json:"p99Ms"`
	InFlight  int64   `json:"inFlight"`
}

// Revision is one model version served: a Deployment and a Service in the
// tenant's namespace.
type Revision struct {
	Name          string        `json:"name"`
	Number        int64         `json:"number"`
	Model         string        `json:"model"`
	Version       int64         `json:"version"`
	Digest        string        `json:"digest,omitempty" doc:"sha256 of the model file the revision loads"`
	Role          string        `json:"role" enum:"stable,canary,retired"`
	Weight        int32         `json:"weight"`
	Replicas      int32         `json:"replicas" doc:"replicas asked for"`
	ReadyReplicas int32         `json:"readyReplicas"`
	Reason        string        `json:"reason,omitempty" maxLength:"1024" doc:"why it is not ready, in plain words (an image that cannot be pulled, a crash loop, a failing readiness probe, an unschedulable pod, pods the quota refuses); empty when ready or scaled to zero"`
	Stats         RevisionStats `json:"stats"`
	CreatedAt     time.Time     `json:"createdAt"`
}

// DeploymentEvent is one decision on a deployment (also an audit row).
type DeploymentEvent struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind" doc:"created, canary, advanced, promoted, rolledBack, scaled, ..."`
	Message string    `json:"message"`
}

// Deployment is a served model.
type Deployment struct {
	Tenant    string            `json:"tenant"`
	Name      string            `json:"name"`
	Spec      DeploymentSpec    `json:"spec"`
	URL       string            `json:"url" doc:"path under the gateway: /serve/<tenant>/<name>/"`
	Revisions []Revision        `json:"revisions"`
	Events    []DeploymentEvent `json:"events"`
	CreatedBy string            `json:"createdBy"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// APIKeyCreate is the body of an API key's creation.
type APIKeyCreate struct {
	Name string `json:"name,omitempty" maxLength:"100" doc:"what the key is for"`
}

// APIKey is a deployment-scoped key (Secret only in the answer that made it).
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Secret    string    `json:"secret,omitempty" doc:"the key, shown once"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// RouteRevision is one backend of a route.
type RouteRevision struct {
	Name string `json:"name"`
	URL  string `json:"url" doc:"in-cluster base URL of the revision's Service"`
	// Endpoints are the base URLs of the revision's ready pods, which the
	// gateway sends to directly (URL when empty).
	Endpoints []string `json:"endpoints,omitempty" maxItems:"100" doc:"base URLs (http://IP:port) of the revision's ready pods, sent to directly; the Service's url when empty"`
	// Starting are its pods that run but are not ready yet, which the
	// gateway probes at ProbePath while requests wait for the revision.
	Starting    []string `json:"starting,omitempty" maxItems:"100" doc:"base URLs of the revision's pods that run but are not ready yet; while requests wait, the gateway probes them at probePath and sends to the first that answers 200"`
	ProbePath   string   `json:"probePath,omitempty" maxLength:"256" doc:"the revision's readiness path"`
	Weight      int32    `json:"weight"`
	Replicas    int32    `json:"replicas"`
	Ready       int32    `json:"ready"`
	Min         int32    `json:"min"`
	Max         int32    `json:"max"`
	Concurrency int32    `json:"concurrency"`
}

// Route is one deployment as the gateway sees it.
type Route struct {
	Tenant     string          `json:"tenant"`
	Deployment string          `json:"deployment"`
	Revisions  []RouteRevision `json:"revisions"`
	// KeyHashes are the sha256 (hex) of the deployment's API keys.
	KeyHashes []string `json:"keyHashes"`
}

// RoutingTable is every route, with a version that changes when any does.
type RoutingTable struct {
	Version string  `json:"version"`
	Routes  []Route `json:"routes"`
}

// RevisionReport is a gateway's measurements of one revision since its last report.
type RevisionReport struct {
	Tenant     string  `json:"tenant" maxLength:"57"`
	Deployment string  `json:"deployment" maxLength:"40"`
	Revision   string  `json:"revision" maxLength:"63"`
	Requests   int64   `json:"requests" minimum:"0"`
	Errors     int64   `json:"errors" minimum:"0"`
	InFlight   int64   `json:"inFlight" minimum:"0" doc:"in flight now"`
	Waiting    int64   `json:"waiting" minimum:"0" doc:"held by the activator now"`
	P50Ms      float64 `json:"p50Ms" minimum:"0"`
	P99Ms      float64 `json:"p99Ms" minimum:"0"`
}

// GatewayReport is the body of a gateway's report.
type GatewayReport struct {
	Gateway   string           `json:"gateway" maxLength:"253" doc:"the reporting replica"`
	PeriodMs  int64            `json:"periodMs" minimum:"0" maximum:"3600000"`
	Revisions []RevisionReport `json:"revisions" maxItems:"10000"`
}
