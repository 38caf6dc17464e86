package seed

import (
	"context"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// Bootstrap creates the agents' account and token once, writing the token
// through write; it reports whether it created them. written says whether
// an earlier start kept the token (see auth.BootstrapAccount).
func Bootstrap(ctx context.Context, db *store.DB, written func() bool, write func(secret string) error) (bool, error) {
	return auth.BootstrapAccount(ctx, db, v1.SeedUser, "node-agents", "bootstrapSeedUser", written, write)
}
