package server

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestTheGatewaysInternalURLMustBeAnHTTPURLWithoutAPath: --gateway-internal-url
// (the notebooks' FERRY_GATEWAY) is checked like --internal-url, its trailing
// slash dropped, and a bad one names the flag.
func TestTheGatewaysInternalURLMustBeAnHTTPURLWithoutAPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "",
		"http://ferry-gateway.ferry-system.svc:8081/": "http://ferry-gateway.ferry-system.svc:8081",
		"https://gw.example":                          "https://gw.example",
		"ftp://gw.example":                            "error",
		"http://gw.example/serve":                     "error",
		"gw.example:8081":                             "error",
		"http://":                                     "error",
	} {
		o := Options{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), GatewayInternalURL: in}
		err := o.Validate()
		switch {
		case want == "error" && (err == nil || !strings.Contains(err.Error(), "--gateway-internal-url")):
			t.Errorf("%q: err %v, want one naming --gateway-internal-url", in, err)
		case want != "error" && (err != nil || o.GatewayInternalURL != want):
			t.Errorf("%q: %q, %v; want %q", in, o.GatewayInternalURL, err, want)
		}
	}
}
