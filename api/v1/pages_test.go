package v1

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

func TestPagePathEscapesAndStopsAtAMissingValue(t *testing.T) {
	for _, c := range []struct {
		p    Page
		vals []string
		want string
	}{
		{PageJob, []string{"acme", "train"}, "/tenants/acme/jobs/train"},
		{PageModel, []string{"acme", "digits/best"}, "/tenants/acme/models/digits%2Fbest"},
		{PageRun, []string{"acme", ""}, "/tenants/acme/runs"},
		{PageTenant, []string{"acme"}, "/tenants/acme"},
	} {
		if got := PagePath(c.p, c.vals...); got != c.want {
			t.Errorf("PagePath(%s, %q) = %q, want %q", c.p, c.vals, got, c.want)
		}
	}
	if got := PageURL("http://127.0.0.1:8080/", PageJob, "a", "b"); got != "http://127.0.0.1:8080/tenants/a/jobs/b" {
		t.Errorf("PageURL = %q", got)
	}
}

// TestEveryPageIsADashboardRoute: each link the CLI and SDK print is a
// path pattern of the dashboard's router, so none leads to "not found".
func TestEveryPageIsADashboardRoute(t *testing.T) {
	files, err := filepath.Glob("../../web/src/pages/*/routes.ts")
	if err != nil || len(files) == 0 {
		t.Fatalf("the dashboard's route files: %v (%d)", err, len(files))
	}
	routes := map[string]bool{}
	re := regexp.MustCompile(`path: '([^']+)'`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			routes[m[1]] = true
		}
	}
	for _, p := range Pages {
		if !routes[string(p)] {
			t.Errorf("page %s is no route of the dashboard (web/src/pages/*/routes.ts)", p)
		}
	}
}
