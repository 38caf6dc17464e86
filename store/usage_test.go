package store

import (
	"testing"
	"time"
)

func monitorTenants(t *testing.T, db *DB, names ...string) {
	t.Helper()
	err := db.Write(t.Context(), func(tx *Tx) error {
		for _, n := range names {
			if _, err := tx.CreateTenant(t.Context(), Tenant{Name: n, DisplayName: n, Quota: Quota{CPU: "4", Memory: "8Gi"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func record(t *testing.T, db *DB, at time.Time, samples ...UsageSample) {
	t.Helper()
	err := db.Write(t.Context(), func(tx *Tx) error {
		_, err := tx.RecordUsage(t.Context(), at, 15*time.Second, samples)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestMonitorUsageDownsamplesIntoMinuteAndQuarterBuckets records samples
// 15 s apart and checks each tier's means, peaks and counts.
func TestMonitorUsageDownsamplesIntoMinuteAndQuarterBuckets(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	monitorTenants(t, db, "ml")
	k := WorkloadKey{Tenant: "ml", Kind: WorkloadJob, Name: "train"}
	// 8 samples: two minutes, CPU 100..800 millicores (in nanocores), memory 1..8 MiB.
	for i := range 8 {
		record(t, db, t0.Add(time.Duration(i)*15*time.Second), UsageSample{Key: k, Pods: 1,
			Request: UsageAmount{CPU: 1000, Memory: 1 << 30}, Use: UsageAmount{CPU: int64(i+1) * 100e6, Memory: int64(i+1) << 20}})
	}
	ctx := t.Context()
	_ = db.Read(ctx, func(tx *Tx) error {
		w, err := tx.UsageWorkload(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if w.Request.CPU != 1000 || w.Pods != 1 || !w.FirstSeen.Equal(t0) || !w.LastSeen.Equal(t0.Add(105*time.Second)) {
			t.Fatalf("workload = %+v", w)
		}
		raw, _ := tx.UsageSeries(ctx, w.ID, TierRaw, t0)
		if len(raw) != 8 || raw[7].Mean.CPU != 800e6 || raw[7].N != 1 {
			t.Fatalf("raw = %+v", raw)
		}
		minutes, _ := tx.UsageSeries(ctx, w.ID, TierMinute, t0)
		if len(minutes) != 2 {
			t.Fatalf("minute buckets = %+v", minutes)
		}
		// First minute: 100..400 → mean 250, peak 400; second: 500..800 → 650, 800.
		if m := minutes[0]; m.N != 4 || m.Mean.CPU != 250e6 || m.Peak.CPU != 400e6 || m.Peak.Memory != 4<<20 || !m.Time.Equal(t0) {
			t.Fatalf("first minute = %+v", m)
		}
		if m := minutes[1]; m.N != 4 || m.Mean.CPU != 650e6 || m.Peak.CPU != 800e6 || !m.Time.Equal(t0.Add(time.Minute)) {
			t.Fatalf("second minute = %+v", m)
		}
		quarters, _ := tx.UsageSeries(ctx, w.ID, TierQuarter, t0)
		if len(quarters) != 1 || quarters[0].N != 8 || quarters[0].Mean.CPU != 450e6 || quarters[0].Peak.Memory != 8<<20 {
			t.Fatalf("quarter buckets = %+v", quarters)
		}
		st, err := tx.UsageStats(ctx, w.ID)
		if err != nil || st.Latest == nil || st.Latest.Mean.CPU != 800e6 || st.Overall.Mean.CPU != 450e6 || st.Overall.Peak.CPU != 800e6 || st.Overall.N != 8 {
			t.Fatalf("stats = %+v, %v", st, err)
		}
		return nil
	})
}

// TestMonitorUsagePruneKeepsEachTierForItsTimeAndDropsGoneWorkloads
// checks that old points go tier by tier and that a workload unseen for
// the retention leaves no row and no point behind.
func TestMonitorUsagePruneKeepsEachTierForItsTimeAndDropsGoneWorkloads(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	monitorTenants(t, db, "ml")
	gone := WorkloadKey{Tenant: "ml", Kind: WorkloadNotebook, Name: "old"}
	live := WorkloadKey{Tenant: "ml", Kind: WorkloadJob, Name: "live"}
	record(t, db, t0, UsageSample{Key: gone, Use: UsageAmount{CPU: 1}}, UsageSample{Key: live, Use: UsageAmount{CPU: 1}})
	now := t0.Add(3 * time.Hour)
	record(t, db, now, UsageSample{Key: live, Use: UsageAmount{CPU: 2}})
	ctx := t.Context()
	r := UsageRetention{Raw: time.Hour, Minute: 2 * time.Hour, Quarter: 150 * time.Minute}
	err := db.Write(ctx, func(tx *Tx) error {
		n, err := tx.PruneUsage(ctx, now, r)
		if err != nil || n != 1 {
			t.Fatalf("pruned %d workloads, %v; want 1", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		if _, err := tx.UsageWorkload(ctx, gone); err != ErrNotFound {
			t.Fatalf("gone workload: %v", err)
		}
		w, err := tx.UsageWorkload(ctx, live)
		if err != nil {
			t.Fatal(err)
		}
		for tier, want := range []int{1, 1, 1} { // only the new pass's point in each tier
			ps, _ := tx.UsageSeries(ctx, w.ID, tier, time.Unix(0, 0))
			if len(ps) != want {
				t.Errorf("tier %d: %d points, want %d", tier, len(ps), want)
			}
		}
		var orphans int
		if err := tx.tx.QueryRowContext(ctx, "SELECT count(*) FROM usage_points WHERE workload NOT IN (SELECT id FROM usage_workloads)").Scan(&orphans); err != nil || orphans != 0 {
			t.Fatalf("%d orphaned points, %v", orphans, err)
		}
		return nil
	})
}

// TestMonitorLiveUsageIsTheLastPassOnlyAndSkipsUnknownTenants checks top's
// query and quota's sums: a workload missing from the last pass is not
// live; a sample of a tenant the store lacks writes nothing.
func TestMonitorLiveUsageIsTheLastPassOnlyAndSkipsUnknownTenants(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	monitorTenants(t, db, "a", "b")
	ended := WorkloadKey{Tenant: "a", Kind: WorkloadJob, Name: "ended"}
	nb := WorkloadKey{Tenant: "a", Kind: WorkloadNotebook, Name: "nb"}
	step := WorkloadKey{Tenant: "a", Kind: WorkloadStep, Name: "r1.train"}
	other := WorkloadKey{Tenant: "b", Kind: WorkloadJob, Name: "j"}
	record(t, db, t0, UsageSample{Key: ended, Request: UsageAmount{CPU: 500}, Use: UsageAmount{CPU: 9e9}})
	at := t0.Add(15 * time.Second)
	ctx := t.Context()
	var skipped int
	err := db.Write(ctx, func(tx *Tx) (err error) {
		skipped, err = tx.RecordUsage(ctx, at, 15*time.Second, []UsageSample{
			{Key: nb, Pods: 1, Request: UsageAmount{CPU: 1000, Memory: 2 << 30}, Use: UsageAmount{CPU: 2e8, Memory: 300 << 20}},
			{Key: step, Pods: 1, Request: UsageAmount{CPU: 250, Memory: 1 << 30, GPU: 1}, Use: UsageAmount{CPU: 5e8, Memory: 100 << 20, GPU: 40}},
			{Key: other, Pods: 2, Request: UsageAmount{CPU: 2000}, Use: UsageAmount{CPU: 1e9}},
			{Key: WorkloadKey{Tenant: "nope", Kind: WorkloadJob, Name: "x"}},
			{Key: WorkloadKey{Tenant: "a", Kind: "pod", Name: "x"}},
		})
		return err
	})
	if err != nil || skipped != 2 {
		t.Fatalf("skipped %d, %v; want 2", skipped, err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		tick, interval, err := tx.UsageTick(ctx)
		if err != nil || !tick.Equal(at) || interval != 15*time.Second {
			t.Fatalf("tick %v %v %v", tick, interval, err)
		}
		all, err := tx.LiveUsage(ctx, at, nil, 100)
		if err != nil || len(all) != 3 || all[0].Workload.Key != other || all[1].Workload.Key != step {
			t.Fatalf("live = %+v, %v", all, err)
		}
		a, _ := tx.LiveUsage(ctx, at, []string{"a"}, 100)
		if len(a) != 2 {
			t.Fatalf("live in a = %+v", a)
		}
		req, use, err := tx.TenantRequested(ctx, "a", at)
		if err != nil || req != (UsageAmount{CPU: 1250, Memory: 3 << 30, GPU: 1}) || use.CPU != 7e8 || use.GPU != 40 {
			t.Fatalf("requested %+v used %+v, %v", req, use, err)
		}
		return nil
	})
	// Deleting a tenant deletes its series.
	if err := db.Write(ctx, func(tx *Tx) error { return tx.DeleteTenant(ctx, "b") }); err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		if _, err := tx.UsageWorkload(ctx, other); err != ErrNotFound {
			t.Fatalf("deleted tenant's workload: %v", err)
		}
		return nil
	})
}

// TestMonitorAccessLogIsPerTenantNewestFirstAndBounded checks the read
// log's filter, paging and both of its bounds.
func TestMonitorAccessLogIsPerTenantNewestFirstAndBounded(t *testing.T) {
	t.Parallel()
	now := t0
	db := openTest(t, func() time.Time { return now })
	monitorTenants(t, db, "a", "b")
	ctx := t.Context()
	add := func(tenant, actor string, kind AccessKind, obj string) {
		t.Helper()
		if err := db.Write(ctx, func(tx *Tx) error {
			return tx.RecordAccess(ctx, Access{Tenant: tenant, Actor: actor, Kind: kind, Object: obj})
		}); err != nil {
			t.Fatal(err)
		}
	}
	add("a", "ann", AccessLog, "job/train replica 0")
	now = now.Add(time.Hour)
	add("a", "bob", AccessArtifact, "run abc/model.pkl")
	add("b", "ann", AccessModel, "deployment d revision 1")
	add("a", "ann", AccessArtifact, string(make([]byte, 2000)))
	if err := db.Write(ctx, func(tx *Tx) error { return tx.RecordAccess(ctx, Access{Tenant: "a", Kind: "secret"}) }); err == nil {
		t.Fatal("an unknown kind was recorded")
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		rows, err := tx.ListAccess(ctx, AccessFilter{Tenant: "a", Limit: 2})
		if err != nil || len(rows) != 2 || rows[0].Actor != "ann" || len(rows[0].Object) != MaxAccessObject || rows[1].Actor != "bob" {
			t.Fatalf("page 1 = %+v, %v", rows, err)
		}
		rest, _ := tx.ListAccess(ctx, AccessFilter{Tenant: "a", After: rows[1].ID, Limit: 10})
		if len(rest) != 1 || rest[0].Kind != AccessLog || !rest[0].Time.Equal(t0) {
			t.Fatalf("page 2 = %+v", rest)
		}
		bob, _ := tx.ListAccess(ctx, AccessFilter{Tenant: "a", Actor: "bob", Limit: 10})
		if len(bob) != 1 {
			t.Fatalf("bob's reads = %+v", bob)
		}
		return nil
	})
	err := db.Write(ctx, func(tx *Tx) error {
		n, err := tx.PruneAccess(ctx, now, AccessRetention{Age: 30 * time.Minute, Rows: 1})
		if err != nil || n != 2 { // the old one by age, then one more of a's by count (b keeps its one)
			t.Fatalf("pruned %d, %v; want 2", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Read(ctx, func(tx *Tx) error {
		a, _ := tx.ListAccess(ctx, AccessFilter{Tenant: "a", Limit: 10})
		b, _ := tx.ListAccess(ctx, AccessFilter{Tenant: "b", Limit: 10})
		if len(a)+len(b) != 2 || len(b) != 1 {
			t.Fatalf("kept a=%+v b=%+v", a, b)
		}
		return nil
	})
}
