package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

// newStepCmd is the pipeline step wrapper, run inside every step pod. It
// knows only the contract (api/v1) and the typed client: it fetches the
// step's input artifacts from its own run (verified by digest), runs the
// command, uploads the declared outputs content-addressed, reports output
// parameters and metrics, and exits with the command's code.
func newStepCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use: "step -- COMMAND [ARG]...", Short: "Run a pipeline step's command inside its pod (ferry sets this up)", Hidden: true,
		Args: cobra.MinimumNArgs(1), SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := runStep(cmd.Context(), stepDirs{in: v1.StepInputsDir, out: v1.StepOutputsDir}, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if code != 0 {
				return &ExitError{Code: code, Err: fmt.Errorf("the step's command exited with code %d", code)}
			}
			return nil
		},
	}
	install := &cobra.Command{
		Use: "install DIR", Short: "Copy this binary to DIR/ferry (the init container of a step pod)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return installSelf(args[0]) },
	}
	cmd.AddCommand(install)
	return cmd
}

func installSelf(dir string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src, err := os.Open(self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "ferry"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		return errors.Join(err, dst.Close())
	}
	return dst.Close()
}

type stepDirs struct{ in, out string }

type stepEnv struct {
	tenant, run, exp string
	inputs, params   map[string]string
	outputs          v1.StepOutputs
	c                *client.Client
}

func readStepEnv() (stepEnv, error) {
	e := stepEnv{tenant: os.Getenv(v1.StepEnvTenant), run: os.Getenv(v1.StepEnvRun), exp: os.Getenv(v1.EnvExperimentID)}
	url, token := os.Getenv(v1.StepEnvURL), os.Getenv(v1.StepEnvToken)
	if url == "" || token == "" || e.tenant == "" || e.run == "" {
		return e, fmt.Errorf("ferry step runs inside a pipeline step's pod: %s, %s, %s and %s must be set", v1.StepEnvURL, v1.StepEnvToken, v1.StepEnvTenant, v1.StepEnvRun)
	}
	for name, dst := range map[string]any{v1.StepEnvInputs: &e.inputs, v1.StepEnvInputParams: &e.params, v1.StepEnvOutputs: &e.outputs} {
		if v := os.Getenv(name); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				return e, fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	e.c = client.New(url, client.WithToken(token))
	return e, nil
}

func runStep(ctx context.Context, d stepDirs, args []string, stdout, stderr io.Writer) (int, error) {
	env, err := readStepEnv()
	if err != nil {
		return 0, err
	}
	for _, dir := range []string{filepath.Join(d.in, "parameters"), filepath.Join(d.out, "parameters"), filepath.Join(d.out, "metrics")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
	}
	for name, digest := range env.inputs {
		if err := fetchInput(ctx, env, filepath.Join(d.in, name), name, digest); err != nil {
			return 0, err
		}
		fmt.Fprintf(stderr, "ferry step: input %s (sha256:%s)\n", name, digest[:12])
	}
	for name, v := range env.params {
		if err := os.WriteFile(filepath.Join(d.in, "parameters", name), []byte(v), 0o644); err != nil {
			return 0, err
		}
	}
	c := exec.CommandContext(ctx, args[0], args[1:]...)
	c.Stdout, c.Stderr, c.Stdin = stdout, stderr, os.Stdin
	code := 0
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return 127, fmt.Errorf("run %s: %w", args[0], err)
		}
		code = ee.ExitCode()
	}
	if code != 0 {
		return code, nil
	}
	return 0, reportOutputs(ctx, env, d.out, stderr)
}

// fetchInput downloads an input from the step's own run and checks its digest.
func fetchInput(ctx context.Context, env stepEnv, path, name, digest string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	got, err := env.c.DownloadArtifact(ctx, env.tenant, env.exp, env.run, v1.StepArtifactInputs+name, f)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("input %s: %w", name, err)
	}
	if got != digest {
		return fmt.Errorf("input %s: sha256 %s, want %s", name, got, digest)
	}
	return nil
}

func reportOutputs(ctx context.Context, env stepEnv, out string, stderr io.Writer) error {
	for _, name := range env.outputs.Artifacts {
		path := filepath.Join(out, name)
		digest, size, err := fileDigest(path)
		if err != nil {
			return fmt.Errorf("output artifact %s: the step did not write %s: %w", name, path, err)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = env.c.UploadArtifact(ctx, env.tenant, env.exp, env.run, v1.StepArtifactOutputs+name, digest, size, f)
		_ = f.Close() // the transport may have closed it already
		if err != nil {
			return fmt.Errorf("upload output %s: %w", name, err)
		}
		fmt.Fprintf(stderr, "ferry step: output %s (sha256:%s, %d bytes)\n", name, digest[:12], size)
	}
	for _, name := range env.outputs.Parameters {
		b, err := os.ReadFile(filepath.Join(out, "parameters", name))
		if err != nil {
			return fmt.Errorf("output parameter %s: %w", name, err)
		}
		if err := env.c.SetRunTag(ctx, env.tenant, env.run, v1.StepTagOutput+name, strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("report output %s: %w", name, err)
		}
	}
	for _, name := range env.outputs.Metrics {
		b, err := os.ReadFile(filepath.Join(out, "metrics", name))
		if errors.Is(err, os.ErrNotExist) {
			continue // the step may have logged it through MLflow itself
		}
		if err != nil {
			return err
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return fmt.Errorf("metric %s: %q is not a number", name, b)
		}
		if err := env.c.LogMetric(ctx, env.tenant, env.run, name, v, 0); err != nil {
			return fmt.Errorf("log metric %s: %w", name, err)
		}
	}
	return nil
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil)), n, err
}
