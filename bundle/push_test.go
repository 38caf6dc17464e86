package bundle

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushKeepsDigestsUnderThePrefix(t *testing.T) {
	t.Parallel()
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	host := strings.TrimPrefix(reg.URL, "http://")
	dir := filepath.Join(t.TempDir(), "x")
	m, err := Read(bytes.NewReader(sample(t)), ReadOptions{ExtractDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	d := &Dir{Path: dir, Manifest: m}
	pushed, err := d.Push(context.Background(), host+"/site", m.Images...)
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 2 {
		t.Fatalf("pushed %+v", pushed)
	}
	for _, p := range pushed {
		repo, err := Target(host+"/site", p.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(repo.String(), host+"/site/") {
			t.Errorf("%s went to %s, outside the prefix", p.Ref, repo)
		}
		desc, err := remote.Head(repo.Digest(p.Digest))
		if err != nil {
			t.Fatalf("%s not in the registry by its bundle digest: %v", p.Ref, err)
		}
		if desc.Digest.String() != p.Digest {
			t.Errorf("%s: registry digest %s, bundle %s", p.Ref, desc.Digest, p.Digest)
		}
	}
}

func TestTargetNamesAndPlainHTTPOnlyForPrivateHosts(t *testing.T) {
	t.Parallel()
	cases := map[[2]string]string{
		{"registry.site:5000/mirror", "nvcr.io/nvidia/k8s-device-plugin:v0.17.1"}: "registry.site:5000/mirror/nvidia/k8s-device-plugin",
		{"registry.site", "ferry.local/ferry:v1-abc"}:                             "registry.site/ferry",
		{"172.18.0.1:5000/ferry", "ferry-e2e/user:1"}:                             "172.18.0.1:5000/ferry/ferry-e2e/user",
	}
	for in, want := range cases {
		got, err := Target(in[0], in[1])
		if err != nil || got.String() != want {
			t.Errorf("Target(%q, %q) = %s, %v; want %s", in[0], in[1], got, err, want)
		}
	}
	for host, want := range map[string]bool{"127.0.0.1:5000": true, "localhost": true, "172.18.0.1:5000/x": true, "172.32.0.1": false, "10.1.2.3": true, "registry.example.com": false} {
		if insecureHost(host) != want {
			t.Errorf("insecureHost(%q) = %v", host, !want)
		}
	}
}
