package action

import (
	"context"
	"fmt"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/platform"
)

// Status reads the target: its cluster when ferry manages it (nodes), and
// the platform (releases, pods, tenants, GPUs, NetworkPolicy problems).
type Status struct {
	cfg *Configuration
}

// StatusResult is what Status found.
type StatusResult struct {
	Cluster  *kind.Status     `json:"cluster,omitempty"`
	Platform *platform.Status `json:"platform,omitempty"`
}

// NewStatus returns a Status.
func NewStatus(cfg *Configuration) *Status { return &Status{cfg: cfg} }

// Run reads the state. An error with a nil result means nothing could be
// read. An error with a result is what the result shows to be wrong: a
// *ClusterNotFoundError, a cluster whose API does not answer (the platform
// is not read then), or ErrNotInstalled.
func (s *Status) Run(ctx context.Context) (*StatusResult, error) {
	if err := s.cfg.defaults(); err != nil {
		return nil, err
	}
	c, err := s.cfg.Target.ClusterStatus(ctx)
	if err != nil {
		return nil, err
	}
	res := &StatusResult{Cluster: c}
	switch {
	case c == nil:
	case !c.Exists:
		return res, &ClusterNotFoundError{Name: c.Name}
	case c.Error != "":
		return res, fmt.Errorf("cluster %s exists but its API does not answer: %s", c.Name, c.Error)
	}
	ps, err := s.cfg.ops.status(ctx, s.cfg.platformTarget())
	if err != nil {
		return nil, err
	}
	res.Platform = &ps
	if !ps.Installed() {
		return res, ErrNotInstalled
	}
	return res, nil
}
