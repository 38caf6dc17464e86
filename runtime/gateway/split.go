package gateway

import (
	v1 "github.com/ferry-ml/ferry/api/v1"
)

// pick chooses a revision by weight with u uniform in [0, 1); revisions at
// weight 0 are never chosen. ok is false when every weight is 0.
func pick(revs []v1.RouteRevision, u float64) (v1.RouteRevision, bool) {
	var total int32
	for _, r := range revs {
		total += max(r.Weight, 0)
	}
	if total == 0 {
		return v1.RouteRevision{}, false
	}
	x := int32(u * float64(total))
	for _, r := range revs {
		if r.Weight <= 0 {
			continue
		}
		if x < r.Weight {
			return r, true
		}
		x -= r.Weight
	}
	return revs[len(revs)-1], true
}
