package gateway

import (
	"crypto/sha256"
	"encoding/hex"
)

// hashKey is how the control plane stores keys (sha256, hex).
func hashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
