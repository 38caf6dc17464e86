package api

import (
	"encoding/json"
	"net/http"
	"reflect"

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
