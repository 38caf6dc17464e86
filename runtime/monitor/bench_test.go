package monitor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ferry-ml/ferry/store"
)

// benchSamples are n workloads' samples with plausible figures (a few
// cores, some GiB), varying with the pass so buckets get real sums.
func benchSamples(n, pass int) []store.UsageSample {
	out := make([]store.UsageSample, n)
	for i := range out {
		out[i] = store.UsageSample{Key: store.WorkloadKey{Tenant: "t" + fmt.Sprint(i%10), Kind: store.WorkloadJob, Name: fmt.Sprintf("job-%05d", i)},
			Pods: 1, Request: store.UsageAmount{CPU: 2000, Memory: 4 << 30},
			Use: store.UsageAmount{CPU: int64(1e9 + (pass*7919+i*104729)%900_000_000), Memory: int64(1<<30 + (pass*31+i)%(1<<28))}}
	}
	return out
}

func benchDB(b *testing.B) (*store.DB, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "ferry.db")
	db, err := store.Open(context.Background(), store.Config{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	err = db.Write(context.Background(), func(tx *store.Tx) error {
		for i := range 10 {
			if _, err := tx.CreateTenant(context.Background(), store.Tenant{Name: "t" + fmt.Sprint(i), DisplayName: "t", Quota: store.Quota{CPU: "1000", Memory: "1Ti"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return db, path
}

// BenchmarkUsagePass200Workloads is one sampler pass's store write for
// 200 workloads (the raw point and the minute and quarter buckets of
// each, one transaction), with the prune a pass does once a minute.
func BenchmarkUsagePass200Workloads(b *testing.B) {
	db, _ := benchDB(b)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := store.UsageRetention{}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		samples := benchSamples(200, i)
		err := db.Write(ctx, func(tx *store.Tx) error {
			if _, err := tx.RecordUsage(ctx, at, 15*time.Second, samples); err != nil {
				return err
			}
			if i%4 == 0 {
				_, err := tx.PruneUsage(ctx, at, r)
				return err
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200, "ns/workload-sample")
}

// BenchmarkParseSummary200Pods is the decode of one kubelet summary with
// 200 pods (the fixture's pods repeated).
func BenchmarkParseSummary200Pods(b *testing.B) {
	raw, err := os.ReadFile("testdata/summary.json")
	if err != nil {
		b.Fatal(err)
	}
	head, rest, _ := strings.Cut(string(raw), `"pods": [`)
	pods := strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "}")), "]")
	var sb strings.Builder
	sb.WriteString(head + `"pods": [`)
	for i := range 40 { // 5 pods each
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(pods)
	}
	sb.WriteString("]}")
	doc := []byte(sb.String())
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		got, err := ParseSummary(bytes.NewReader(doc))
		if err != nil || len(got) != 200 {
			b.Fatalf("%d pods, %v", len(got), err)
		}
	}
}

// BenchmarkUsageStoreBytesPerWorkloadDay samples 20 workloads every 15 s
// for a simulated day with the default tiers, then measures the store:
// bytes per workload after a day (raw hour + minute day + quarter day),
// the quarter rows each further day adds, and the total for 1,000
// workloads kept a week (the default retention).
func BenchmarkUsageStoreBytesPerWorkloadDay(b *testing.B) {
	const workloads, interval = 20, 15 * time.Second
	for b.Loop() {
		db, _ := benchDB(b)
		ctx := context.Background()
		base := storeBytes(b, db)
		t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		r := store.UsageRetention{}
		passes := int(24 * time.Hour / interval)
		start := time.Now()
		for i := range passes {
			at := t0.Add(time.Duration(i) * interval)
			samples := benchSamples(workloads, i)
			err := db.Write(ctx, func(tx *store.Tx) error {
				if _, err := tx.RecordUsage(ctx, at, interval, samples); err != nil {
					return err
				}
				if i%4 == 0 {
					_, err := tx.PruneUsage(ctx, at, r)
					return err
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		perSample := time.Since(start) / time.Duration(passes*workloads)
		day := storeBytes(b, db) - base
		var rows int64
		err := db.Read(ctx, func(tx *store.Tx) error { return tx.CountUsagePoints(ctx, &rows) })
		if err != nil {
			b.Fatal(err)
		}
		perWorkloadDay := float64(day) / workloads
		perRow := float64(day) / float64(rows)
		// A workload kept a week: 240 raw + 1,440 minute + 672 quarter rows.
		week := perRow * (240 + 1440 + 7*96)
		b.ReportMetric(perWorkloadDay, "bytes/workload-first-day")
		b.ReportMetric(perRow*96, "bytes/workload-day-after")
		b.ReportMetric(perRow, "bytes/row")
		b.ReportMetric(week*1000/(1<<20), "MiB/1000-workloads-week")
		b.ReportMetric(float64(perSample.Nanoseconds()), "ns/workload-sample")
		b.Logf("%d workloads × %d passes: %d rows, %.0f bytes/row; %.0f KiB per workload after a day; +%.1f KiB per further day; 1,000 workloads kept a week: %.0f MiB",
			workloads, passes, rows, perRow, perWorkloadDay/1024, perRow*96/1024, week*1000/(1<<20))
	}
}

// storeBytes is the space the database's pages hold (free pages, which
// pruning leaves for reuse, left out).
func storeBytes(b *testing.B, db *store.DB) int64 {
	b.Helper()
	var n int64
	err := db.Read(context.Background(), func(tx *store.Tx) (err error) { n, err = tx.UsedBytes(context.Background()); return })
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkPassOver200Pods is a whole sampler pass for 200 job pods on
// one node: the summary decoded (the fixture's job pod, 200 times), the
// pods summed per object, one write. Its time per 15 s is the control
// plane's extra CPU for 200 pods sampled every 15 s (the informers'
// upkeep aside).
func BenchmarkPassOver200Pods(b *testing.B) {
	raw, err := os.ReadFile("testdata/summary.json")
	if err != nil {
		b.Fatal(err)
	}
	s := string(raw)
	start := strings.Index(s, `  {
   "podRef": {"name": "train-0-x7k2p"`)
	end := strings.Index(s, `  {
   "podRef": {"name": "nb-lab-0"`)
	one := strings.TrimSuffix(strings.TrimSpace(s[start:end]), ",")
	var sb strings.Builder
	sb.WriteString(`{"node": {"nodeName": "ferry-worker"}, "pods": [`)
	var pods []*corev1.Pod
	for i := range 200 {
		name, uid := fmt.Sprintf("train%03d-0-x7k2p", i), fmt.Sprintf("uid-%03d", i)
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(strings.NewReplacer("train-0-x7k2p", name, "11111111-1111-1111-1111-111111111111", uid).Replace(one))
		pods = append(pods, pod("ferry-t"+fmt.Sprint(i%10), name, uid, "ferry-worker",
			map[string]string{"ferry.io/tenant": "t" + fmt.Sprint(i%10), "ferry.io/job": fmt.Sprintf("train%03d", i)}, "1", "1Gi", corev1.PodRunning))
	}
	sb.WriteString("]}")
	doc := []byte(sb.String())
	db, _ := benchDB(b)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	smp, err := New(db, nil, slog.New(slog.DiscardHandler), Config{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	smp.Summary = func(context.Context, string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(doc)), nil }
	ctx := context.Background()
	for b.Loop() {
		now = now.Add(15 * time.Second)
		if err := smp.PassOver(ctx, pods); err != nil {
			b.Fatal(err)
		}
		if smp.last.workloads != 200 || smp.last.failed != 0 {
			b.Fatalf("pass: %+v", smp.last)
		}
	}
	perPass := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perPass/15e9*100, "%core-at-15s")
}
