package v1

import "testing"

func TestReservedJobAndDeploymentNamesAreThoseOfFerrysOwnObjects(t *testing.T) {
	for _, c := range []struct {
		name            string
		job, deployment bool
	}{
		{"nb-lab", true, true},
		{"fp-0123456789-train-0", true, true},
		{"ferry-workload", true, true},
		{"iris-r1", true, false},
		{"iris-r120", true, false},
		{"nbx", false, false},
		{"fpga", false, false},
		{"ferryboat", false, false},
		{"train", false, false},
		{"x-r", false, false},
		{"x-r1x", false, false},
		{"x-r1-t3", false, false},
		{"r1", false, false},
	} {
		if got := ReservedJob(c.name) != ""; got != c.job {
			t.Errorf("ReservedJob(%q) reserved = %v, want %v", c.name, got, c.job)
		}
		if got := ReservedDeployment(c.name) != ""; got != c.deployment {
			t.Errorf("ReservedDeployment(%q) reserved = %v, want %v", c.name, got, c.deployment)
		}
	}
}
