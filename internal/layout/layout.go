// Package layout states which of ferry's packages may import which, and
// checks an import graph against those rules (its test runs them on the
// real graph from `go list -deps -json`). Each folder says which process
// runs it; the rules keep the roles apart.
package layout

import (
	"fmt"
	"sort"
	"strings"
)

// Module is ferry's module path.
const Module = "github.com/ferry-ml/ferry"

// Package is one node of the import graph, with ferry's paths relative to
// the module ("runtime/api"); Imports are direct, Deps transitive.
type Package struct {
	Path    string
	Imports []string
	Deps    []string
}

func under(path, dir string) bool { return path == dir || strings.HasPrefix(path, dir+"/") }

// rule is one constraint: which packages it applies to, and a check of
// one imported path (direct or transitive, as it says).
type rule struct {
	name       string
	applies    func(pkg string) bool
	transitive bool
	forbidden  func(imp string) bool
}

var rules = []rule{
	{"store imports nothing of ferry but internal helpers",
		func(p string) bool { return under(p, "store") }, false,
		func(i string) bool { return !under(i, "internal") && !under(i, "store") }},
	{"the contract (api/v1) imports nothing of ferry",
		func(p string) bool { return under(p, "api") }, true,
		func(i string) bool { return !under(i, "api") }},
	{"the Go client imports only the contract",
		func(p string) bool { return under(p, "client") }, true,
		func(i string) bool { return !under(i, "api") && !under(i, "client") }},
	{"the bundle format imports neither bootstrap nor runtime",
		func(p string) bool { return under(p, "bundle") }, true,
		func(i string) bool { return under(i, "bootstrap") || under(i, "runtime") || under(i, "cli") }},
	{"runtime imports neither bootstrap nor cli",
		func(p string) bool { return under(p, "runtime") }, true,
		func(i string) bool { return under(i, "bootstrap") || under(i, "cli") }},
	{"bootstrap imports nothing of runtime",
		func(p string) bool { return under(p, "bootstrap") }, true,
		func(i string) bool { return under(i, "runtime") || under(i, "cli") }},
	{"the control plane never imports the node daemons",
		func(p string) bool { return under(p, "runtime") && !under(p, "runtime/node") }, true,
		func(i string) bool { return under(i, "runtime/node") }},
	{"node daemons speak the contract, never the store or the control plane",
		func(p string) bool { return under(p, "runtime/node") }, true,
		func(i string) bool {
			return under(i, "store") || (under(i, "runtime") && !under(i, "runtime/node"))
		}},
	{"the gateway never opens the database: it asks the control plane through the client",
		func(p string) bool { return under(p, "runtime/gateway") }, true,
		func(i string) bool { return under(i, "store") || (under(i, "runtime") && !under(i, "runtime/gateway")) }},
	{"only cmd imports cli",
		func(p string) bool { return !under(p, "cmd") && !under(p, "cli") }, false,
		func(i string) bool { return under(i, "cli") }},
	{"cli does not import store",
		func(p string) bool { return under(p, "cli") }, false,
		func(i string) bool { return under(i, "store") }},
}

// Check lists every broken rule, one line each, sorted.
func Check(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		for _, r := range rules {
			if !r.applies(p.Path) {
				continue
			}
			imps := p.Imports
			if r.transitive {
				imps = p.Deps
			}
			for _, i := range imps {
				if r.forbidden(i) {
					out = append(out, fmt.Sprintf("%s imports %s: %s", p.Path, i, r.name))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Relative keeps ferry's own paths of a list, relative to the module.
func Relative(paths []string) []string {
	var out []string
	for _, p := range paths {
		if rel, ok := strings.CutPrefix(p, Module+"/"); ok {
			out = append(out, rel)
		}
	}
	return out
}
