package cli

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/runtime/api"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/runtime/jobs"
	"github.com/ferry-ml/ferry/runtime/mlflow"
	"github.com/ferry-ml/ferry/runtime/pipelines"
	"github.com/ferry-ml/ferry/store"
)

const wrapperSpec = `apiVersion: ferry.dev/v1
kind: Pipeline
steps:
  - name: make
    image: busybox:1
    command: [sh, -c, 'printf hello > "$OUT/data"; printf 0.75 > "$OUT/metrics/acc"; printf 42 > "$OUT/parameters/count"']
    outputs: {artifacts: [data], parameters: [count], metrics: [acc]}
  - name: use
    image: busybox:1
    command: [sh, -c, 'test "$(cat "$IN/data")" = hello && test "$(cat "$IN/parameters/count")" = 42 && echo used']
    inputs: {artifacts: {data: "{{steps.make.outputs.artifacts.data}}"}, parameters: {count: "{{steps.make.outputs.parameters.count}}"}}
`

// TestStepWrapperMovesArtifactsAndOutputsThroughTheRealServer runs the
// engine against a fake cluster and, for each step pod, the wrapper itself
// with the pod's environment against a real API and MLflow endpoint: the
// second step gets the first one's artifact (by digest) and parameter.
func TestStepWrapperMovesArtifactsAndOutputsThroughTheRealServer(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "ferry.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var admin string
	err = db.Write(ctx, func(tx *store.Tx) error {
		u, err := tx.CreateUser(ctx, "root", true)
		if err != nil {
			return err
		}
		_, admin, err = tx.CreateToken(ctx, u.ID, "t", 0)
		if err != nil {
			return err
		}
		_, err = tx.CreateTenant(ctx, store.Tenant{Name: "ml", DisplayName: "ml", Quota: store.Quota{CPU: "8", Memory: "16Gi"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	authn := &auth.Authenticator{DB: db}
	h, err := api.New(api.Config{Store: db, Logger: log, Authn: authn})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(v1.MLflowPrefix, mlflow.Mount(ctx, mlflow.Config{DB: db, Authn: authn, DataDir: dir, Logger: log}))
	mux.Handle("/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := client.New(srv.URL, client.WithToken(admin))
	if _, err := c.CreatePipeline(ctx, "ml", v1.PipelineCreate{Name: "p", YAML: wrapperSpec}); err != nil {
		t.Fatal(err)
	}
	run, err := c.SubmitPipelineRun(ctx, "ml", "p", v1.PipelineRunSubmit{})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := jobs.OpenLogs(ctx, "file://"+filepath.Join(dir, "logs")+"?create_dir=true")
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset()
	eng := pipelines.NewEngine(db, cs, logs, log, pipelines.PodConfig{Image: "ferry:1", URL: srv.URL})
	var out bytes.Buffer
	for pass := 0; pass < 6; pass++ {
		if err := eng.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		pods, _ := cs.CoreV1().Pods("ferry-ml").List(ctx, metav1.ListOptions{})
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Status.Phase != "" {
				continue
			}
			in, outDir := filepath.Join(dir, p.Name, "in"), filepath.Join(dir, p.Name, "out")
			for _, e := range p.Spec.Containers[0].Env {
				v := e.Value
				if e.ValueFrom != nil {
					sec, err := cs.CoreV1().Secrets("ferry-ml").Get(ctx, e.ValueFrom.SecretKeyRef.Name, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					v = sec.StringData[e.ValueFrom.SecretKeyRef.Key]
				}
				t.Setenv(e.Name, v)
			}
			t.Setenv("IN", in)
			t.Setenv("OUT", outDir)
			cmd := p.Spec.Containers[0].Command
			if cmd[0] != pipelines.StepBinary || cmd[1] != "step" || cmd[2] != "--" {
				t.Fatalf("the step does not run under the wrapper: %v", cmd)
			}
			code, err := runStep(ctx, stepDirs{in: in, out: outDir}, append(cmd[3:], p.Spec.Containers[0].Args...), &out, &out)
			if err != nil || code != 0 {
				t.Fatalf("step %s: code %d, %v\n%s", p.Name, code, err, out.String())
			}
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", ImageID: "busybox@sha256:" + strings.Repeat("b", 64)}}
			if _, err := cs.CoreV1().Pods("ferry-ml").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := c.GetPipelineRun(ctx, "ml", run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != v1.PipelineRunSucceeded || !strings.Contains(out.String(), "used") {
		t.Fatalf("run %s (%s): %+v\n%s", got.State, got.Reason, got.Steps, out.String())
	}
	// The metric went to the step's own run, a child of the pipeline run.
	var make v1.StepRun
	for _, s := range got.Steps {
		if s.Name == "make" {
			make = s
		}
	}
	child, err := c.GetRun(ctx, "ml", make.RunID)
	if err != nil || child.ParentRunID != run.ID || len(child.Metrics) != 1 || child.Metrics[0].Value != 0.75 {
		t.Fatalf("step run %+v %v", child, err)
	}
	os.Unsetenv("IN")
}
