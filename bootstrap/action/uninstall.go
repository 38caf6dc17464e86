package action

import (
	"context"
	"time"
)

// Uninstall removes the platform from the target and leaves nothing of
// ferry behind: the gpu and platform releases, every namespace ferry
// labelled (the tenants' and ferry-system with the control plane's data),
// and the CLI's login. The node agent, a local cluster's pod network, stays.
type Uninstall struct {
	cfg *Configuration
	// Timeout bounds each removal.
	Timeout time.Duration
}

// NewUninstall returns an Uninstall with the CLI's defaults.
func NewUninstall(cfg *Configuration) *Uninstall {
	return &Uninstall{cfg: cfg, Timeout: 5 * time.Minute}
}

// Run removes the platform, then forgets the CLI's login for the target.
func (u *Uninstall) Run(ctx context.Context) error {
	if err := u.cfg.defaults(); err != nil {
		return err
	}
	if err := u.cfg.Target.Check(ctx); err != nil {
		return err
	}
	p := u.cfg.Printer
	if err := u.cfg.ops.uninstall(ctx, u.cfg.platformTarget(), u.Timeout, p); err != nil {
		return err
	}
	p.Printf("platform removed in %s", p.Elapsed())
	if u.cfg.Logins == nil {
		return nil
	}
	return u.cfg.Logins.Forget(u.cfg.Target.ContextName())
}
