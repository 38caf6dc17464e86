package install

import (
	"testing"

	"github.com/ferry-ml/ferry/charts"
)

func TestChecksumFollowsTheChartAndTheValuesOnly(t *testing.T) {
	c, err := charts.Load("platform")
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{"image": map[string]any{"tag": "a", "repository": "r"}, "resync": "1m"}
	sum, err := Checksum(c, vals)
	if err != nil {
		t.Fatal(err)
	}
	// The same values built in another order: same checksum.
	same := map[string]any{"resync": "1m", "image": map[string]any{"repository": "r", "tag": "a"}}
	if got, _ := Checksum(c, same); got != sum {
		t.Errorf("checksum depends on map order: %s vs %s", got, sum)
	}
	if got, _ := Checksum(c, map[string]any{"image": map[string]any{"tag": "b", "repository": "r"}, "resync": "1m"}); got == sum {
		t.Error("a changed value kept the checksum: the upgrade would be skipped")
	}
	c2, _ := charts.Load("platform")
	c2.Raw[0].Data = append([]byte("# edited\n"), c2.Raw[0].Data...)
	if got, _ := Checksum(c2, vals); got == sum {
		t.Error("an edited chart file kept the checksum")
	}
	gpu, _ := charts.Load("gpu")
	if got, _ := Checksum(gpu, vals); got == sum {
		t.Error("two charts share a checksum")
	}
}

func TestValidateFillsDefaultsAndNeedsAChart(t *testing.T) {
	o := Options{}
	if err := o.Validate(); err == nil {
		t.Fatal("no chart accepted")
	}
	o.Chart = "platform"
	if err := o.Validate(); err != nil || o.Namespace != "ferry-system" || o.Release != "ferry" || o.MaxHistory != 10 || o.Timeout <= 0 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
}
