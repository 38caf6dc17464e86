package cli

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

func TestUnitsAreWrittenAsKubernetesWritesThem(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]string{0: "0m", 250: "250m", 1000: "1", 1500: "1.5", 12345: "12.35"} {
		if got := cpu(in); got != want {
			t.Errorf("cpu(%d) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[int64]string{512: "512", 2048: "2Ki", 373741824: "356.4Mi", 2 << 30: "2Gi", 5 << 40: "5Ti"} {
		if got := bytesIEC(in); got != want {
			t.Errorf("bytesIEC(%d) = %s, want %s", in, got, want)
		}
	}
}

// TestJobUsageTableShowsCurrentAveragePeakAgainstTheRequest renders the
// use under `job get` from a stand-in server's answer.
func TestJobUsageTableShowsCurrentAveragePeakAgainstTheRequest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/tenants/ml/usage/job/train" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v1.WorkloadUsage{Tenant: "ml", Kind: v1.WorkloadJob, Name: "train", Pods: 1,
			Request: v1.ResourceAmount{CPUMillicores: 2000, MemoryBytes: 1 << 30}, Samples: 40, FirstSeen: time.Unix(0, 0),
			Current: &v1.ResourceUse{CPUMillicores: 1500, MemoryBytes: 512 << 20}, Average: &v1.ResourceUse{CPUMillicores: 1000, MemoryBytes: 256 << 20},
			Peak: &v1.ResourceUse{CPUMillicores: 1900, MemoryBytes: 768 << 20}})
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	g := &globals{stdout: &out, stderr: &out, output: "table"}
	c := client.New(srv.URL, client.WithToken("ferry_x"))
	if err := g.printUsage(t.Context(), c, "ml", v1.WorkloadJob, "train"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cpu     1.5      1        1.9    2        95%", "memory  512Mi    256Mi    768Mi  1Gi      75%", "40 samples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := g.printUsage(t.Context(), c, "ml", v1.WorkloadJob, "never-sampled"); err != nil || out.Len() != 0 {
		t.Errorf("an object without samples printed %q, %v", out.String(), err)
	}
}
