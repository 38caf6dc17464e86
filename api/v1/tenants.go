package v1

import "time"

// Role is a user's role in a tenant.
type Role string

// Roles, from most to least privileged.
const (
	RoleOwner  Role = "owner"
	RoleEditor Role = "editor"
	RoleViewer Role = "viewer"
)

// Quota is a tenant's resource limits, as Kubernetes quantities.
type Quota struct {
	CPU    string `json:"cpu" doc:"CPU limit as a Kubernetes quantity" example:"8"`
	Memory string `json:"memory" doc:"memory limit as a Kubernetes quantity" example:"32Gi"`
	GPU    int64  `json:"gpu" doc:"number of nvidia.com/gpu"`
}

// Bounds of a tenant's quota (zero is allowed: nothing of it runs).
const (
	MaxQuotaCPU    = "65536"
	MaxQuotaMemory = "1Pi"
	MaxQuotaGPU    = 4096
)

// QuotaChange sets the quota fields it names; the others stay.
type QuotaChange struct {
	CPU    string `json:"cpu,omitempty" maxLength:"32" doc:"CPU limit as a Kubernetes quantity, at most 65536" example:"8"`
	Memory string `json:"memory,omitempty" maxLength:"32" doc:"memory limit as a Kubernetes quantity, at most 1Pi" example:"32Gi"`
	GPU    *int64 `json:"gpu,omitempty" minimum:"0" maximum:"4096" doc:"number of nvidia.com/gpu"`
}

// Tenant is a team's slice of the platform: the namespace ferry-<name>.
type Tenant struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Quota       Quota  `json:"quota"`
	// NotebookIdleSeconds: notebooks unused this long are stopped (0: never).
	NotebookIdleSeconds int64     `json:"notebookIdleSeconds"`
	Generation          int64     `json:"generation"`
	CreatedAt           time.Time `json:"createdAt"`
	UpdatedAt           time.Time `json:"updatedAt"`
}

// TenantCreate is the body of a tenant's creation. Omitted fields get the
// server's defaults (display name: the name; quota: cpu 4, memory 8Gi, gpu 0).
type TenantCreate struct {
	Name        string      `json:"name" maxLength:"57" doc:"DNS-1123 label; the namespace is ferry-<name>"`
	DisplayName string      `json:"displayName,omitempty" maxLength:"200"`
	Quota       QuotaChange `json:"quota,omitempty"`
	Owner       string      `json:"owner,omitempty" maxLength:"63" doc:"user made owner of the new tenant"`
}

// TenantUpdate changes the fields it sets.
type TenantUpdate struct {
	DisplayName         *string      `json:"displayName,omitempty" maxLength:"200"`
	Quota               *QuotaChange `json:"quota,omitempty" doc:"admins only"`
	NotebookIdleSeconds *int64       `json:"notebookIdleSeconds,omitempty" minimum:"0" doc:"stop notebooks unused this long (0: never)"`
}

// Member is one user's role in one tenant.
type Member struct {
	Tenant string `json:"tenant"`
	User   string `json:"user"`
	Role   Role   `json:"role"`
}

// MemberPut is the body that gives a user a role in a tenant.
type MemberPut struct {
	Role Role `json:"role" enum:"owner,editor,viewer"`
}
