// Package cli is ferry's command tree. Each command maps its flags onto an
// options struct and calls one library function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

// ExitError carries a specific exit code (for example a failed verification).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

type globals struct {
	stdout, stderr io.Writer
	configPath     string
	context        string
	output         string
	logLevel       string
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: lvl}))
}

// Main runs the CLI with args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := NewRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "Error:", err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// NewRoot builds the command tree.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "ferry",
		Short:         "ferry: a machine-learning platform on Kubernetes in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", defaultConfigPath(), "client config file (env FERRY_CONFIG)")
	pf.StringVar(&g.context, "context", "", "client context to use (default: the current one)")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table, json or yaml")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return validOutput(g.output) }
	root.AddCommand(
		newVersionCmd(g),
		newServerCmd(g),
		newLoginCmd(g),
		newTenantCmd(g),
		newMemberCmd(g),
		newUserCmd(g),
		newTokenCmd(g),
		newAuditCmd(g),
		newNodeImageCmd(g),
		newUpCmd(g),
		newDownCmd(g),
		newUninstallCmd(g),
		newStatusCmd(g),
		newDoctorCmd(g),
		newImageCmd(g),
		newGPUCmd(g),
		newBundleCmd(g),
		newSeedCmd(g),
		newNodeAgentCmd(g),
		newJobCmd(g),
		newNotebookCmd(g),
		newUICmd(g),
		newExperimentCmd(g),
		withPipelineRuns(g, newRunCmd(g)),
		newPipelineCmd(g),
		newScheduleCmd(g),
		newTuneCmd(g),
		newTopCmd(g),
		newStepCmd(g),
		newModelCmd(g),
		newLineageCmd(g),
		newArtifactCmd(g),
		newWorkloadImageCmd(g),
		newExportCmd(g),
		newDeployCmd(g),
		newGatewayCmd(g),
	)
	return root
}

func defaultConfigPath() string {
	if p := os.Getenv("FERRY_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return dir + "/ferry/config.yaml"
}
