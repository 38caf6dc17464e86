package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

func TestWaitJobReturnsAtOnceForAnInadmissibleJob(t *testing.T) {
	t.Parallel()
	reason := v1.JobReasonInadmissible + "more than the whole tenant quota: needs 9 cpu, 8 of 8 free"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v1.Job{Tenant: "a", Name: "big", State: v1.JobQueued, Reason: reason})
	}))
	t.Cleanup(srv.Close)
	start := time.Now()
	j, err := waitJob(t.Context(), client.New(srv.URL, client.WithToken("ferry_x")), "a", "big", time.Minute)
	if err == nil || !strings.Contains(err.Error(), reason) || j.Reason != reason {
		t.Fatalf("waitJob = %+v, %v; want the inadmissible reason", j, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("waitJob took %s for an inadmissible job", d)
	}
}
