package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ferry-ml/ferry/store"
)

// Each benchmark is a pair doing the same work twice, on one server: "store"
// straight on the database (the same transactions the handler runs), "http"
// through the API. The http line reports store/http-ratio, the store's rate
// over the API's: what HTTP, JSON, routing and middleware cost.

func benchEnv(b *testing.B) (*env, string) {
	b.Helper()
	e := serve(b, b.TempDir(), nil) // e.must and e.user fail b on any setup error
	alice := e.user("alice")
	e.must(201, "POST", "/api/v1/tenants", e.admin, map[string]any{"name": "a", "owner": "alice"})
	return e, alice
}

// opsPerSecond runs op b.N times on 4×GOMAXPROCS goroutines and returns the
// rate; the first error fails the benchmark.
func opsPerSecond(b *testing.B, op func() error) float64 {
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	return float64(b.N) / b.Elapsed().Seconds()
}

// pair runs the store and the http halves and reports their ratio.
func pair(b *testing.B, unit string, viaStore, viaHTTP func() error) {
	var storeRate float64
	b.Run("store", func(b *testing.B) {
		storeRate = opsPerSecond(b, viaStore)
		b.ReportMetric(storeRate, unit)
	})
	b.Run("http", func(b *testing.B) {
		rate := opsPerSecond(b, viaHTTP)
		b.ReportMetric(rate, unit)
		if storeRate > 0 {
			b.ReportMetric(storeRate/rate, "store/http-ratio")
		}
	})
}

func request(c *http.Client, method, url, token, body string) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: status %d", method, url, resp.StatusCode)
	}
	return nil
}

func httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// authenticate is the auth middleware's transaction.
func authenticate(ctx context.Context, db *store.DB, token string) (store.User, error) {
	var u store.User
	err := db.Read(ctx, func(tx *store.Tx) error {
		var err error
		u, err = tx.Authenticate(ctx, token)
		return err
	})
	return u, err
}

// BenchmarkAuthenticatedRead: GET /api/v1/tenants/a as its owner. Both halves
// authenticate in one read transaction, then check the role and read the
// tenant in another, as the handler does.
func BenchmarkAuthenticatedRead(b *testing.B) {
	e, alice := benchEnv(b)
	db, ctx, c := e.srv.Store(), context.Background(), httpClient()
	pair(b, "reads/s", func() error {
		u, err := authenticate(ctx, db, alice)
		if err != nil {
			return err
		}
		return db.Read(ctx, func(tx *store.Tx) error {
			if _, err := tx.Role(ctx, u.ID, "a"); err != nil {
				return err
			}
			_, err := tx.Tenant(ctx, "a")
			return err
		})
	}, func() error {
		return request(c, "GET", e.url+"/api/v1/tenants/a", alice, "")
	})
}

// BenchmarkAuthenticatedWrite: PATCH /api/v1/tenants/a (display name) as its
// owner. Both halves authenticate in a read transaction, then in one write
// transaction check the role, read and update the tenant and append the
// audit row, as the handler and its audit middleware do.
func BenchmarkAuthenticatedWrite(b *testing.B) {
	e, alice := benchEnv(b)
	db, ctx, c := e.srv.Store(), context.Background(), httpClient()
	var n atomic.Int64
	pair(b, "writes/s", func() error {
		u, err := authenticate(ctx, db, alice)
		if err != nil {
			return err
		}
		return db.Write(ctx, func(tx *store.Tx) error {
			role, err := tx.Role(ctx, u.ID, "a")
			if err != nil {
				return err
			}
			if !role.AtLeast(store.RoleOwner) {
				return errors.New("alice is not the owner of a")
			}
			t, err := tx.Tenant(ctx, "a")
			if err != nil {
				return err
			}
			t.DisplayName = fmt.Sprintf("A %d", n.Add(1))
			if _, err := tx.UpdateTenant(ctx, t); err != nil {
				return err
			}
			_, err = tx.AppendAudit(ctx, store.AuditEntry{Actor: u.Name, Action: "updateTenant", Tenant: "a", Target: "tenant/a", Result: "ok"})
			return err
		})
	}, func() error {
		return request(c, "PATCH", e.url+"/api/v1/tenants/a", alice, fmt.Sprintf(`{"displayName":"A %d"}`, n.Add(1)))
	})
}
