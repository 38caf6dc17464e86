package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// The HTTP benchmarks and the store benchmarks do the same work; their
// ops/s ratio is the cost of HTTP, JSON and authentication.

func benchEnv(b *testing.B) (*env, string) {
	e := start(&testing.T{})
	b.Cleanup(func() { _ = e.stop() })
	e.t = &testing.T{}
	alice := e.user("alice")
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "a", "owner": "alice"})
	return e, alice
}

func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func BenchmarkHTTPAuthenticatedRead(b *testing.B) {
	e, alice := benchEnv(b)
	c := httpClient()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", e.url+"/api/v1/tenants/a", nil)
			req.Header.Set("Authorization", "Bearer "+alice)
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

func BenchmarkHTTPAuthenticatedWrite(b *testing.B) {
	e, alice := benchEnv(b)
	c := httpClient()
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"displayName":"A %d"}`, n.Add(1))
			req, _ := http.NewRequest("PATCH", e.url+"/api/v1/tenants/a", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+alice)
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

func BenchmarkStoreRead(b *testing.B) {
	e, alice := benchEnv(b)
	db := e.srv.Store()
	ctx := context.Background()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Read(ctx, func(tx *store.Tx) error {
				u, err := tx.Authenticate(ctx, alice)
				if err != nil {
					return err
				}
				if _, err := tx.Role(ctx, u.ID, "a"); err != nil {
					return err
				}
				_, err = tx.Tenant(ctx, "a")
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
}

func BenchmarkStoreWrite(b *testing.B) {
	e, _ := benchEnv(b)
	db := e.srv.Store()
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Write(ctx, func(tx *store.Tx) error {
				t, err := tx.Tenant(ctx, "a")
				if err != nil {
					return err
				}
				t.DisplayName = fmt.Sprintf("A %d", n.Add(1))
				if _, err := tx.UpdateTenant(ctx, t); err != nil {
					return err
				}
				_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: "alice", Action: "updateTenant", Tenant: "a", Target: "tenant/a", Result: "ok"})
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
