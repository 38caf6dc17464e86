package v1

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// SeedImage is one image the seed agents import into their node's containerd.
type SeedImage struct {
	Ref    string `json:"ref"`
	Digest string `json:"digest" doc:"of the OCI manifest in the bundle"`
	Config string `json:"config" doc:"config digest: how an agent recognises an imported image"`
	Size   int64  `json:"size"`
}

// SeedNodeStatus is what a node's agent last reported.
type SeedNodeStatus struct {
	Node       string    `json:"node"`
	Generation string    `json:"generation"`
	Current    bool      `json:"current" doc:"holds every image listed now"`
	Reported   time.Time `json:"reported"`
}

// SeedReport is what a node's agent reports after a sync.
type SeedReport struct {
	Node       string `json:"node" maxLength:"253"`
	Generation string `json:"generation" maxLength:"128"`
}

// SeedGeneration identifies an image list: the hex SHA-256 of its JSON.
// Server and agents compute it the same way, so an agent knows it holds
// the list the server means.
func SeedGeneration(images []SeedImage) string {
	if images == nil {
		images = []SeedImage{}
	}
	raw, _ := json.Marshal(images) // cannot fail: strings and integers
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
