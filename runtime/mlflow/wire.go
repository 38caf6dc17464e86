package mlflow

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// jInt is an int64 that MLflow clients send as a JSON number or, in the
// proto3 JSON mapping, a string. A fraction is refused.
type jInt struct {
	V   int64
	Set bool
}

func (i *jInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not an integer", b)
	}
	i.V, i.Set = v, true
	return nil
}

// jFloat is a double: a number, or "NaN", "Infinity", "-Infinity" (proto3 JSON).
type jFloat struct {
	V   float64
	Set bool
}

func (f *jFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := string(bytes.Trim(b, `"`))
	switch strings.ToLower(s) {
	case "nan":
		f.V = math.NaN()
	case "infinity", "inf":
		f.V = math.Inf(1)
	case "-infinity", "-inf":
		f.V = math.Inf(-1)
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%s is not a number", b)
		}
		f.V = v
	}
	f.Set = true
	return nil
}

// double marshals a float64 as proto3 JSON does: non-finite values as strings.
type double float64

func (d double) MarshalJSON() ([]byte, error) {
	return appendDouble(nil, float64(d)), nil
}

// appendDouble appends v as encoding/json writes a float64 ('f' between
// 1e-6 and 1e21, else 'e' without a leading 0 in the exponent), and NaN
// and the infinities as proto3 JSON's strings.
func appendDouble(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// 1e-07 is written 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// jStrs is a repeated string: a JSON array, or one string (a query parameter).
type jStrs []string

func (s *jStrs) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("expected a list of strings")
	}
	*s = many
	return nil
}

// viewType is MLflow's ViewType, by name or number.
type viewType string

func (v *viewType) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "1", "ACTIVE_ONLY", "null", "":
		*v = "ACTIVE_ONLY"
	case "2", "DELETED_ONLY":
		*v = "DELETED_ONLY"
	case "3", "ALL":
		*v = "ALL"
	default:
		return fmt.Errorf("view type %s is not ACTIVE_ONLY, DELETED_ONLY or ALL", b)
	}
	return nil
}

type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// pageToken is MLflow's: base64 of {"offset": n}.
func pageToken(offset int) string {
	b, _ := json.Marshal(map[string]int{"offset": offset})
	return base64.StdEncoding.EncodeToString(b)
}

func parsePageToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	b, err := base64.StdEncoding.DecodeString(tok)
	if err != nil {
		if b, err = base64.URLEncoding.DecodeString(tok); err != nil {
			return 0, invalid("invalid page token %q", tok)
		}
	}
	var p struct {
		Offset *int `json:"offset"`
	}
	if json.Unmarshal(b, &p) != nil || p.Offset == nil || *p.Offset < 0 {
		return 0, invalid("invalid page token %q", tok)
	}
	return *p.Offset, nil
}

// limit is max_results with a default and an upper bound (MLflow refuses more).
func limit(mr jInt, def, most int64) (int, error) {
	if !mr.Set {
		return int(def), nil
	}
	if mr.V <= 0 || mr.V > most {
		return 0, invalid("max_results must be between 1 and %d, not %d", most, mr.V)
	}
	return int(mr.V), nil
}

// apiError is an MLflow error response.
type apiError struct {
	Status int    `json:"-"`
	Code   string `json:"error_code"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Msg }

func invalid(format string, args ...any) error {
	return &apiError{Status: 400, Code: "INVALID_PARAMETER_VALUE", Msg: fmt.Sprintf(format, args...)}
}

func missing(param string) error {
	return invalid("Missing value for required parameter '%s'.", param)
}

func notFound(format string, args ...any) error {
	return &apiError{Status: 404, Code: "RESOURCE_DOES_NOT_EXIST", Msg: fmt.Sprintf(format, args...)}
}
