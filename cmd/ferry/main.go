// Command ferry is the whole platform in one binary: CLI, control plane and
// cluster helpers, chosen by subcommand.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-ml/ferry/cli"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	// First signal cancels the context; a second one exits at once.
	go func() {
		<-ctx.Done()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		os.Exit(130)
	}()
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}
