package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// writeProblem answers a handler outside huma with the same problem+json
// document huma writes.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", v1.ContentTypeProblem)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v1.Problem{Title: http.StatusText(status), Status: status, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }

// maxEcho bounds how much of a request an error answer repeats.
const maxEcho = 256

// bound cuts s to at most n bytes (on a rune boundary), marking the cut.
func bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("…(%d bytes)", len(s))
}

// boundProblem keeps error answers small: huma's validation errors repeat
// the offending value, which may be most of a 64 KiB body.
func boundProblem(_ huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	em.Detail = bound(em.Detail, 4*maxEcho)
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		d.Message = bound(d.Message, 2*maxEcho)
		d.Location = bound(d.Location, maxEcho)
		switch val := d.Value.(type) {
		case nil, bool, int, int32, int64, float64:
		case string:
			d.Value = bound(val, maxEcho)
		default:
			raw, err := json.Marshal(val)
			if err != nil || len(raw) > maxEcho {
				d.Value = bound(string(raw), maxEcho)
			}
		}
	}
	return em, nil
}
