package v1

import "strings"

// Version is the contract's version, the first segment under /api.
const Version = "v1"

// Prefix is where every route of this contract lives.
const Prefix = "/api/" + Version

// Headers and schemes.
const (
	HeaderAuthorization = "Authorization"
	// BearerScheme is the authentication scheme of ferry's API tokens
	// (matched case-insensitively, as RFC 9110 asks).
	BearerScheme = "Bearer"
	// TokenPrefix starts every ferry token, so leaked tokens are easy to grep for.
	TokenPrefix = "ferry_"
	// ContentTypeProblem is the media type of error answers (RFC 9457).
	ContentTypeProblem = "application/problem+json"
)

// Names shared between the control plane, bootstrap and the node daemons.
const (
	// SystemNamespace is the control plane's namespace.
	SystemNamespace = "ferry-system"
	// TenantNamespacePrefix makes a tenant's namespace: ferry-<tenant>.
	TenantNamespacePrefix = "ferry-"
	// AdminTokenSecret is the Secret (in SystemNamespace) in which the server
	// publishes the first admin token; AdminTokenKey is its data key.
	AdminTokenSecret = "ferry-admin-token"
	AdminTokenKey    = "token"
	// SeedTokenSecret holds the token the seed agents authenticate with.
	SeedTokenSecret = "ferry-seed-token"
	// GatewayTokenSecret holds the token the serving gateway authenticates with.
	GatewayTokenSecret = "ferry-gateway-token"
	SeedTokenKey       = "token"
	// SeedUser is the system account of the seed agents.
	SeedUser = "ferry-seed"
	// NotebookProxyPrefix is where the authenticated notebook proxy serves:
	// /t/<tenant>/notebooks/<name>/.
	NotebookProxyPrefix = "/t/"
	// NotebookCookie is the cookie the notebook proxy sets after a token hand-over.
	NotebookCookie = "ferry_token"
	// ManagedByLabel marks every Kubernetes object ferry made.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "ferry"
)

// Path templates, as the server mounts them ({name} segments).
const (
	PathOpenAPI = Prefix + "/openapi.json"
	PathWhoami  = Prefix + "/whoami"

	PathTenants = Prefix + "/tenants"
	PathTenant  = PathTenants + "/{tenant}"
	PathMembers = PathTenant + "/members"
	PathMember  = PathMembers + "/{user}"

	PathUsers = Prefix + "/users"
	// PathUser and below are an admin's view of another user.
	PathUser        = PathUsers + "/{user}"
	PathUserTokens  = PathUser + "/tokens"
	PathUserToken   = PathUserTokens + "/{id}"
	PathUserDisable = PathUser + "/disable"
	PathUserEnable  = PathUser + "/enable"

	PathTokens = Prefix + "/tokens"
	PathToken  = PathTokens + "/{id}"

	PathAudit       = Prefix + "/audit"
	PathAuditVerify = PathAudit + "/verify"

	PathJobs      = PathTenant + "/jobs"
	PathJob       = PathJobs + "/{name}"
	PathJobCancel = PathJob + "/cancel"
	PathJobLogs   = PathJob + "/logs"

	PathNotebooks     = PathTenant + "/notebooks"
	PathNotebook      = PathNotebooks + "/{name}"
	PathNotebookStop  = PathNotebook + "/stop"
	PathNotebookStart = PathNotebook + "/start"

	PathSeedImages  = Prefix + "/seed/images"
	PathSeedArchive = Prefix + "/seed/archive"
	PathSeedBundle  = Prefix + "/seed/bundle"
	PathSeedStatus  = Prefix + "/seed/status"
)

// Names ferry keeps for itself. A tenant's namespace is
// TenantNamespacePrefix+name, so a tenant named "system" would be the
// control plane's namespace (SystemNamespace) and "network" or "gpu" would
// take the names of ferry's own releases and daemons (ferry-network,
// ferry-gpu, ferry-seed, ferry-smoke); kube-* and default are Kubernetes'.
var (
	// ReservedTenantNames are refused as tenant names.
	ReservedTenantNames = []string{"system", "network", "gpu", "seed", "smoke", "default"}
	// ReservedTenantPrefixes are refused as the start of a tenant name.
	ReservedTenantPrefixes = []string{"kube-"}
	// ReservedUserNames are refused as user names: the seed agents' and
	// the gateway's accounts and the actors ferry writes into the audit log
	// itself.
	ReservedUserNames = []string{SeedUser, GatewayUser, "system", "anonymous"}
)

// ReservedTenant says why name may not be a tenant's ("" when it may).
func ReservedTenant(name string) string {
	for _, r := range ReservedTenantNames {
		if name == r {
			return "the name " + name + " is reserved: its namespace " + TenantNamespacePrefix + name + " is ferry's own or may become so"
		}
	}
	for _, p := range ReservedTenantPrefixes {
		if len(name) >= len(p) && name[:len(p)] == p {
			return "names starting with " + p + " are reserved for ferry and Kubernetes"
		}
	}
	return ""
}

// ReservedUser says why name may not be a user's ("" when it may).
func ReservedUser(name string) string {
	for _, r := range ReservedUserNames {
		if name == r {
			return "the name " + name + " is reserved for ferry's own accounts"
		}
	}
	return ""
}

// ReservedObjectPrefixes start the names of the objects ferry makes in a
// tenant's namespace for something other than a job or a deployment's
// revision, each with what it names. A job's Job and Service are named
// after the job and a revision's Deployment and Service
// <deployment>-r<N>, so a job or deployment name starting with one of
// these could take the name of another's objects.
var ReservedObjectPrefixes = []struct{ Prefix, Names string }{
	{"nb-", "a notebook's StatefulSet and Service are nb-<notebook>"},
	{"fp-", "a pipeline step's pod and Secret are fp-<run>-<step>-<attempt>"},
	{"ferry-", "ferry's own objects in the namespace are ferry-..."},
}

// ReservedJob says why name may not be a job's ("" when it may): its Job
// and Service, named name, must not take the name of a notebook's, a
// pipeline step's or ferry's own objects (ReservedObjectPrefixes) nor of a
// deployment's revision (<deployment>-r<N>). A tuning's trial jobs are
// held to it too.
func ReservedJob(name string) string {
	if why := reservedPrefix(name); why != "" {
		return why
	}
	if i := strings.LastIndex(name, "-r"); i >= 0 && isDigits(name[i+2:]) {
		return "names ending with -r<digits> are reserved: a deployment's revisions are <deployment>-r<N>"
	}
	return ""
}

// ReservedDeployment says why name may not be a deployment's ("" when it
// may): its revisions' Deployments and Services, <name>-r<N>, must not take
// the name of a notebook's, a pipeline step's or ferry's own objects
// (ReservedObjectPrefixes). No job can take a revision's name: ReservedJob
// refuses names ending with -r<N>.
func ReservedDeployment(name string) string {
	return reservedPrefix(name)
}

func reservedPrefix(name string) string {
	for _, r := range ReservedObjectPrefixes {
		if strings.HasPrefix(name, r.Prefix) {
			return "names starting with " + r.Prefix + " are reserved: " + r.Names
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
