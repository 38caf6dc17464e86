package pipelines

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
)

// CacheInput is everything a step's result depends on. Input artifacts
// count by digest only: renaming an upstream output changes nothing.
type CacheInput struct {
	// ImageID is the image digest as the node resolved it (pod status imageID).
	ImageID string
	Command []string
	Args    []string
	Env     map[string]string
	// Params are the step's resolved input parameters (and its fan-out item).
	Params map[string]string
	// Artifacts maps an input name to its digest; the names are dropped.
	Artifacts map[string]string
	// Outputs are the declared outputs (a step asked for more is another step).
	Outputs []string
}

// CacheKey is the sha256 of the canonical form of in.
func CacheKey(in CacheInput) string {
	digests := make([]string, 0, len(in.Artifacts))
	for _, d := range in.Artifacts {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	canon := struct {
		V         int               `json:"v"`
		ImageID   string            `json:"imageID"`
		Command   []string          `json:"command"`
		Args      []string          `json:"args"`
		Env       map[string]string `json:"env"`
		Params    map[string]string `json:"params"`
		Artifacts []string          `json:"artifacts"`
		Outputs   []string          `json:"outputs"`
	}{1, in.ImageID, in.Command, in.Args, in.Env, in.Params, digests, in.Outputs}
	b, _ := json.Marshal(canon) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
