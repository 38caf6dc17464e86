package gpu

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/ferry-ml/ferry/internal/cdi"
)

// kubelet is a real gRPC registration server standing in for the kubelet.
type kubelet struct {
	pluginapi.UnimplementedRegistrationServer
	got chan *pluginapi.RegisterRequest
}

func (k *kubelet) Register(_ context.Context, r *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	k.got <- r
	return &pluginapi.Empty{}, nil
}

func shortTempDir(t *testing.T) string {
	// Unix socket paths are limited to 108 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("/tmp", "dp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// standIn serves a stand-in kubelet's registration socket in a new
// device-plugin directory.
func standIn(t *testing.T) (string, *kubelet) {
	t.Helper()
	dir := shortTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(dir, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	k := &kubelet{got: make(chan *pluginapi.RegisterRequest, 4)}
	srv := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(srv, k)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return dir, k
}

func TestPluginRegistersAdvertisesAndAllocates(t *testing.T) {
	t.Parallel()
	dir, k := standIn(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := &Plugin{Count: 3, Dir: dir, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan error, 1)
	go func() { done <- p.Start(ctx) }()

	var reg *pluginapi.RegisterRequest
	select {
	case reg = <-k.got:
	case <-time.After(10 * time.Second):
		t.Fatal("plugin never registered with the kubelet")
	}
	if reg.ResourceName != "nvidia.com/gpu" || reg.Version != pluginapi.Version || reg.Endpoint != "ferry-gpu.sock" {
		t.Fatalf("register request = %+v", reg)
	}

	conn, err := grpc.NewClient("unix://"+filepath.Join(dir, reg.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pluginapi.NewDevicePluginClient(conn)
	stream, err := client.ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Devices) != 3 {
		t.Fatalf("advertised %d devices, want 3", len(list.Devices))
	}
	for _, d := range list.Devices {
		if d.Health != pluginapi.Healthy {
			t.Errorf("device %s is %s", d.ID, d.Health)
		}
	}
	alloc, err := client.Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"fake-gpu-0", "fake-gpu-2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := alloc.ContainerResponses[0].Envs["NVIDIA_VISIBLE_DEVICES"]; got != "fake-gpu-0,fake-gpu-2" {
		t.Fatalf("NVIDIA_VISIBLE_DEVICES = %q", got)
	}
	if _, err := client.Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"gpu-99"}}}}); err == nil {
		t.Fatal("allocating an unknown device succeeded")
	}
	pref, err := client.GetPreferredAllocation(ctx, &pluginapi.PreferredAllocationRequest{ContainerRequests: []*pluginapi.ContainerPreferredAllocationRequest{{
		AvailableDeviceIDs: []string{"fake-gpu-1", "fake-gpu-2", "fake-gpu-0"}, MustIncludeDeviceIDs: []string{"fake-gpu-2"}, AllocationSize: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if ids := pref.ContainerResponses[0].DeviceIDs; len(ids) != 2 || ids[0] != "fake-gpu-2" {
		t.Fatalf("preferred = %v", ids)
	}

	// The kubelet restarts and wipes plugin sockets: the plugin registers again.
	if err := os.Remove(filepath.Join(dir, reg.Endpoint)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.got:
	case <-time.After(15 * time.Second):
		t.Fatal("plugin did not re-register after its socket was removed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPluginRejectsZeroDevices(t *testing.T) {
	t.Parallel()
	p := &Plugin{Count: 0, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := p.Validate(); err == nil {
		t.Fatal("count 0 accepted")
	}
}

func TestPluginTimeSlicingAdvertisesEveryReplica(t *testing.T) {
	t.Parallel()
	p := &Plugin{Count: 2, Replicas: 3, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	names, _ := p.devices()
	ids := p.DeviceIDs(names)
	if len(ids) != 6 || ids[0] != "fake-gpu-0::0" || ids[5] != "fake-gpu-1::2" {
		t.Fatalf("device IDs %v", ids)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate device ID %s", id)
		}
		seen[id] = true
	}
	if err := (&Plugin{Count: 1, Replicas: -1, Log: p.Log}).Validate(); err == nil {
		t.Fatal("negative replicas accepted")
	}
}

// startPlugin serves p against a stand-in kubelet and returns a client.
func startPlugin(t *testing.T, p *Plugin) pluginapi.DevicePluginClient {
	t.Helper()
	dir, k := standIn(t)
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	p.Dir, p.Log = dir, slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { _ = p.Start(ctx) }()
	var reg *pluginapi.RegisterRequest
	select {
	case reg = <-k.got:
	case <-time.After(10 * time.Second):
		t.Fatal("plugin never registered with the kubelet")
	}
	conn, err := grpc.NewClient("unix://"+filepath.Join(dir, reg.Endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pluginapi.NewDevicePluginClient(conn)
}

func writeFakeSpec(t *testing.T, dir string, count int) {
	t.Helper()
	s, _, err := cdi.FakeSpec("/unused", "n", count)
	if err != nil {
		t.Fatal(err)
	}
	data, err := cdi.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fake.json.tmp"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "fake.json.tmp"), filepath.Join(dir, "fake.json")); err != nil {
		t.Fatal(err)
	}
}

func ids(devs []*pluginapi.Device) []string {
	var out []string
	for _, d := range devs {
		out = append(out, d.ID)
	}
	return out
}

func TestTheCDISourceAdvertisesTheSpecsDevicesAndAllocatesThemAsCDIDevices(t *testing.T) {
	t.Parallel()
	specDir := t.TempDir()
	writeFakeSpec(t, specDir, 2)
	client := startPlugin(t, &Plugin{CDIKind: cdi.FakeKind, SpecDirs: []string{specDir}, Replicas: 2, Rescan: 50 * time.Millisecond})
	stream, err := client.ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(list.Devices), " "); got != "gpu0::0 gpu0::1 gpu1::0 gpu1::1" {
		t.Fatalf("advertised %s", got)
	}
	// Two replicas of gpu1 and one of gpu0: two CDI devices, no variables.
	alloc, err := client.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"gpu1::0", "gpu1::1", "gpu0::1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := alloc.ContainerResponses[0]
	var names []string
	for _, d := range r.CdiDevices {
		names = append(names, d.Name)
	}
	if strings.Join(names, " ") != "ferry.io/gpu=gpu1 ferry.io/gpu=gpu0" || len(r.Envs) != 0 {
		t.Fatalf("allocated CDI devices %q, envs %v", names, r.Envs)
	}
	if _, err := client.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"gpu7::0"}}}}); err == nil {
		t.Fatal("allocating a device the specs do not name succeeded")
	}
	// A third device appears in the spec: the kubelet is told.
	writeFakeSpec(t, specDir, 3)
	list, err = stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Devices) != 6 || list.Devices[5].ID != "gpu2::1" {
		t.Fatalf("after the spec grew: %v", ids(list.Devices))
	}
}

func TestTheCDISourceWithNoSpecAdvertisesNothing(t *testing.T) {
	t.Parallel()
	client := startPlugin(t, &Plugin{CDIKind: cdi.NVIDIAKind, SpecDirs: []string{filepath.Join(t.TempDir(), "none")}})
	stream, err := client.ListAndWatch(t.Context(), &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := stream.Recv()
	if err != nil || len(list.Devices) != 0 {
		t.Fatalf("a node without a spec advertised %v (%v)", list, err)
	}
	if err := (&Plugin{CDIKind: "gpu", Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Validate(); err == nil {
		t.Fatal("a CDI kind without a vendor domain accepted")
	}
}

func TestABrokenSpecKeepsTheLastGoodDevicesForAllocation(t *testing.T) {
	t.Parallel()
	specDir := t.TempDir()
	writeFakeSpec(t, specDir, 2)
	p := &Plugin{CDIKind: cdi.FakeKind, SpecDirs: []string{specDir}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if names, err := p.devices(); err != nil || len(names) != 2 {
		t.Fatalf("devices %v %v", names, err)
	}
	// The spec is being rewritten badly: the node keeps allocating.
	if err := os.WriteFile(filepath.Join(specDir, "fake.json"), []byte(`{"cdiVersion":"0.5.0","kind":"ferry.io/gpu","devices":[{"name":"x"},{"name":"x"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	alloc, err := p.Allocate(t.Context(), &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"gpu1"}}}})
	if err != nil || alloc.ContainerResponses[0].CdiDevices[0].Name != "ferry.io/gpu=gpu1" {
		t.Fatalf("allocate with a broken spec: %v %v", alloc, err)
	}
	// With no good read ever, the error shows.
	fresh := &Plugin{CDIKind: cdi.FakeKind, SpecDirs: []string{specDir}, Log: p.Log}
	if _, err := fresh.devices(); err == nil || !strings.Contains(err.Error(), "named twice") {
		t.Fatalf("a first read of a broken spec: %v", err)
	}
}
