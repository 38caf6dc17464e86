package v1

import "time"

// User is a person or robot that holds tokens.
type User struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"createdAt"`
	// Disabled users' tokens are refused until an admin enables them.
	Disabled bool `json:"disabled,omitempty"`
}

// UserCreate is the body of a user's creation (admins only).
type UserCreate struct {
	Name  string `json:"name" maxLength:"63" doc:"DNS-1123 label"`
	Admin bool   `json:"admin,omitempty" doc:"platform admin"`
}

// UserCreated is a new user with its first token, shown once.
type UserCreated struct {
	User  User   `json:"user"`
	Token string `json:"token" doc:"the user's first token; shown once"`
}

// Whoami is the caller and its roles.
type Whoami struct {
	User
	Memberships []Member `json:"memberships"`
}

// Token is an API token's metadata; the secret itself is never stored.
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

// TokenCreate is the body of a token's creation. The new token expires no
// later than the token that creates it.
type TokenCreate struct {
	Name      string `json:"name" minLength:"1" maxLength:"100"`
	ExpiresIn string `json:"expiresIn,omitempty" maxLength:"32" doc:"Go duration such as 720h; empty means no expiry"`
}

// TokenCreated is a new token with its secret, shown once.
type TokenCreated struct {
	Token
	Secret string `json:"secret" doc:"the token itself; shown once, stored only as its SHA-256"`
}

// AuditEntry is one row of the append-only, hash-chained audit log.
type AuditEntry struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Tenant   string    `json:"tenant,omitempty"`
	Target   string    `json:"target,omitempty"`
	Result   string    `json:"result"`
	Detail   string    `json:"detail,omitempty"`
	PrevHash string    `json:"prevHash"`
	Hash     string    `json:"hash"`
}

// AuditFilter selects audit rows.
type AuditFilter struct {
	Tenant string
	Actor  string
}

// AuditVerify is the result of checking the audit chain.
type AuditVerify struct {
	OK       bool  `json:"ok"`
	BrokenAt int64 `json:"brokenAt,omitempty" doc:"the first row whose link or content does not match the chain"`
	// Problems names what is missing or altered, against the chain and
	// against the latest signed checkpoint kept outside the database.
	Problems []string `json:"problems,omitempty" doc:"what is missing or altered, e.g. rows cut off after a checkpoint"`
}
