package gpu

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
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

func TestPluginRegistersAdvertisesAndAllocates(t *testing.T) {
	t.Parallel()
	dir := shortTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(dir, "kubelet.sock"))
	if err != nil {
		t.Fatal(err)
	}
	k := &kubelet{got: make(chan *pluginapi.RegisterRequest, 4)}
	srv := grpc.NewServer()
	pluginapi.RegisterRegistrationServer(srv, k)
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

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
