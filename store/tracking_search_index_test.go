package store

import (
	"fmt"
	"sort"
	"testing"
)

// TestSearchOrderedByAFilteredMetricMatchesTheFullSort: the index-driven
// plan (first order = a metric a filter requires) returns exactly the page
// the full sort gives: value order, then start time (newest first), then
// run id, with runs lacking the metric left out.
func TestSearchOrderedByAFilteredMetricMatchesTheFullSort(t *testing.T) {
	t.Parallel()
	db := openTest(t, nil)
	ctx := t.Context()
	type row struct {
		id    string
		start int64
		acc   float64
	}
	var rows []row
	err := db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.CreateTenant(ctx, Tenant{Name: "t", DisplayName: "t", Quota: Quota{CPU: "1", Memory: "1Gi"}}); err != nil {
			return err
		}
		if err := tx.EnsureDefaultExperiment(ctx, "t"); err != nil {
			return err
		}
		for i := 0; i < 60; i++ {
			r, err := tx.CreateRun(ctx, NewRun{Tenant: "t", ExperimentID: 0, StartTime: int64(1000 + i%7)})
			if err != nil {
				return err
			}
			if i%5 == 4 {
				continue // no acc at all
			}
			acc := float64(i%9) / 10 // ties on purpose
			if err := tx.LogBatch(ctx, "t", r.Info.ID, []Metric{{Key: "acc", Value: acc, Timestamp: 1}}, nil, nil); err != nil {
				return err
			}
			rows = append(rows, row{r.Info.ID, r.Info.StartTime, acc})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{true, false} {
		var want []string
		var keep []row
		for _, r := range rows {
			if r.acc > 0.25 {
				keep = append(keep, r)
			}
		}
		sort.Slice(keep, func(i, j int) bool {
			a, b := keep[i], keep[j]
			if a.acc != b.acc {
				return (a.acc > b.acc) == desc
			}
			if a.start != b.start {
				return a.start > b.start
			}
			return a.id < b.id
		})
		for _, r := range keep[5:15] {
			want = append(want, r.id)
		}
		var got []string
		err := db.Read(ctx, func(tx *Tx) error {
			rs, err := tx.SearchRuns(ctx, RunQuery{Tenant: "t", ExperimentIDs: []int64{0}, Offset: 5, Limit: 10,
				Filters: []Filter{{Kind: FilterMetric, Key: "acc", Op: ">", Value: 0.25}},
				Orders:  []Order{{Kind: FilterMetric, Key: "acc", Desc: desc}}})
			for _, r := range rs {
				got = append(got, r.Info.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("desc=%v: got %v\nwant %v", desc, got, want)
		}
	}
}
