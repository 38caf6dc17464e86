package mlflow

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/ferry-ml/ferry/store"
)

// idents says which identifiers a search accepts: prefixes (metrics.,
// params., tags., attributes.) to kinds, bare names to attributes.
type idents struct {
	prefixes map[string]string
	aliases  map[string]string
	numeric  func(kind, key string) bool
}

var runIdents = idents{
	prefixes: map[string]string{
		"metric": store.FilterMetric, "metrics": store.FilterMetric,
		"param": store.FilterParam, "params": store.FilterParam, "parameter": store.FilterParam, "parameters": store.FilterParam,
		"tag": store.FilterTag, "tags": store.FilterTag,
		"attribute": store.FilterAttribute, "attributes": store.FilterAttribute, "attr": store.FilterAttribute, "run": store.FilterAttribute,
	},
	aliases: map[string]string{"created": "start_time", "Created": "start_time", "run name": "run_name", "Run name": "run_name",
		"Run Name": "run_name", "run id": "run_id", "run_uuid": "run_id"},
	numeric: func(kind, key string) bool {
		if kind == store.FilterMetric {
			return true
		}
		n, _ := store.AttributeIsNumeric(key)
		return kind == store.FilterAttribute && n
	},
}

var experimentIdents = idents{
	prefixes: map[string]string{"tag": store.FilterTag, "tags": store.FilterTag, "attribute": store.FilterAttribute, "attributes": store.FilterAttribute, "attr": store.FilterAttribute},
	numeric: func(kind, key string) bool {
		return kind == store.FilterAttribute && (key == "creation_time" || key == "last_update_time")
	},
}

var modelIdents = idents{
	prefixes: map[string]string{"tag": store.FilterTag, "tags": store.FilterTag, "attribute": store.FilterAttribute, "attributes": store.FilterAttribute},
	aliases:  map[string]string{"timestamp": "last_updated_timestamp"},
	numeric:  func(kind, key string) bool { return kind == store.FilterAttribute && key == "version_number" },
}

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber
	tOp
	tLParen
	tRParen
	tComma
)

type token struct {
	kind tokKind
	s    string
	// quoted: an identifier whose key was quoted (`a b`), so not a keyword.
	quoted bool
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out, i = append(out, token{kind: tLParen, s: "("}), i+1
		case c == ')':
			out, i = append(out, token{kind: tRParen, s: ")"}), i+1
		case c == ',':
			out, i = append(out, token{kind: tComma, s: ","}), i+1
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, invalid("unterminated string in %q", s)
			}
			out, i = append(out, token{kind: tString, s: s[i+1 : i+1+j]}), i+2+j
		case c == '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return nil, invalid("unterminated ` in %q", s)
			}
			out, i = append(out, token{kind: tIdent, s: s[i+1 : i+1+j], quoted: true}), i+2+j
		case c == '!' || c == '=' || c == '<' || c == '>':
			j := i + 1
			if j < len(s) && s[j] == '=' {
				j++
			}
			op := s[i:j]
			if op == "!" || op == "==" {
				if op == "==" {
					op = "="
				} else {
					return nil, invalid("invalid operator ! in %q", s)
				}
			}
			out, i = append(out, token{kind: tOp, s: op}), j
		case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && strings.IndexByte("0123456789.eE+-", s[j]) >= 0 {
				j++
			}
			out, i = append(out, token{kind: tNumber, s: s[i:j]}), j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] == '-' || s[j] == '/' || s[j] == ':' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			word := s[i:j]
			// prefix."quoted key" or prefix.`quoted key`
			if strings.HasSuffix(word, ".") && j < len(s) && (s[j] == '"' || s[j] == '`') {
				k := strings.IndexByte(s[j+1:], s[j])
				if k < 0 {
					return nil, invalid("unterminated quoted key in %q", s)
				}
				out, i = append(out, token{kind: tIdent, s: word + s[j+1:j+1+k], quoted: true}), j+2+k
				continue
			}
			out, i = append(out, token{kind: tIdent, s: word}), j
		default:
			return nil, invalid("unexpected %q in %q", c, s)
		}
	}
	return out, nil
}

func (ids idents) ident(s string) (kind, key string, err error) {
	if p, k, ok := strings.Cut(s, "."); ok {
		if kind, ok := ids.prefixes[p]; ok {
			if k == "" {
				return "", "", invalid("identifier %q has no key", s)
			}
			if kind == store.FilterAttribute {
				if a, ok := ids.aliases[k]; ok {
					k = a
				}
			}
			return kind, k, nil
		}
		if _, ok := ids.prefixes["metric"]; ok {
			return "", "", invalid("invalid identifier %q: expected metrics., params., tags. or attributes.", s)
		}
	}
	if a, ok := ids.aliases[s]; ok {
		s = a
	}
	return store.FilterAttribute, s, nil
}

func isWord(t token, w string) bool {
	return t.kind == tIdent && !t.quoted && strings.EqualFold(t.s, w)
}

// parseFilter parses MLflow's search syntax: clauses joined by AND.
func parseFilter(s string, ids idents) ([]store.Filter, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	var out []store.Filter
	for i := 0; i < len(toks); {
		if len(out) > 0 {
			if !isWord(toks[i], "AND") {
				if isWord(toks[i], "OR") {
					return nil, invalid("invalid filter %q: only AND is supported, not OR", s)
				}
				return nil, invalid("invalid filter %q: expected AND before %q", s, toks[i].s)
			}
			i++
		}
		if i+2 >= len(toks) {
			return nil, invalid("invalid filter %q: incomplete clause", s)
		}
		if toks[i].kind != tIdent {
			return nil, invalid("invalid filter %q: expected an identifier, got %q", s, toks[i].s)
		}
		kind, key, err := ids.ident(toks[i].s)
		if err != nil {
			return nil, err
		}
		i++
		var op string
		switch t := toks[i]; {
		case t.kind == tOp:
			op = t.s
		case isWord(t, "LIKE"), isWord(t, "ILIKE"), isWord(t, "IN"):
			op = strings.ToUpper(t.s)
		case isWord(t, "NOT") && i+1 < len(toks) && isWord(toks[i+1], "IN"):
			op, i = "NOT IN", i+1
		default:
			return nil, invalid("invalid filter %q: %q is not a comparison operator", s, t.s)
		}
		i++
		if i >= len(toks) {
			return nil, invalid("invalid filter %q: no value after %s", s, op)
		}
		f := store.Filter{Kind: kind, Key: key, Op: op}
		switch t := toks[i]; {
		case op == "IN" || op == "NOT IN":
			if t.kind != tLParen {
				return nil, invalid("invalid filter %q: %s needs a list like ('a', 'b')", s, op)
			}
			var vs []string
			for i++; i < len(toks) && toks[i].kind != tRParen; i++ {
				if toks[i].kind == tComma {
					continue
				}
				if toks[i].kind != tString {
					return nil, invalid("invalid filter %q: %s lists quoted strings", s, op)
				}
				vs = append(vs, toks[i].s)
			}
			if i >= len(toks) {
				return nil, invalid("invalid filter %q: unclosed (", s)
			}
			f.Value = vs
		case ids.numeric(kind, key):
			if t.kind != tNumber {
				return nil, invalid("invalid filter %q: %s %q compares with a number, not %q", s, kind, key, t.s)
			}
			v, err := strconv.ParseFloat(t.s, 64)
			if err != nil {
				return nil, invalid("invalid filter %q: %q is not a number", s, t.s)
			}
			f.Value = v
		case t.kind == tString:
			f.Value = t.s
		default:
			return nil, invalid("invalid filter %q: %s %q compares with a quoted string, not %s", s, kind, key, t.s)
		}
		i++
		out = append(out, f)
	}
	return out, nil
}

// parseOrders parses order_by terms like "metrics.acc DESC".
func parseOrders(terms []string, ids idents) ([]store.Order, error) {
	var out []store.Order
	for _, term := range terms {
		toks, err := lex(term)
		if err != nil {
			return nil, err
		}
		if len(toks) == 0 || len(toks) > 2 || toks[0].kind != tIdent {
			return nil, invalid("invalid order_by clause %q", term)
		}
		o := store.Order{}
		if o.Kind, o.Key, err = ids.ident(toks[0].s); err != nil {
			return nil, err
		}
		if len(toks) == 2 {
			switch {
			case isWord(toks[1], "DESC"):
				o.Desc = true
			case isWord(toks[1], "ASC"):
			default:
				return nil, invalid("invalid order_by clause %q: expected ASC or DESC", term)
			}
		}
		out = append(out, o)
	}
	return out, nil
}
