// Package gpu holds ferry's GPU helpers. FakePlugin implements the kubelet
// device-plugin API (v1beta1) and advertises N nvidia.com/gpu per node, so
// that scheduling, quotas and admission of GPU work are tested for real on
// machines without GPUs.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// FakePlugin advertises Count healthy fake devices of Resource.
type FakePlugin struct {
	pluginapi.UnimplementedDevicePluginServer
	Resource string
	Count    int
	// Replicas shares each device between that many containers, as the
	// NVIDIA plugin's time-slicing does (IDs "<device>::<replica>").
	Replicas int
	// Dir is the kubelet's device-plugin directory (holds kubelet.sock).
	Dir string
	Log *slog.Logger
	// Socket is the plugin's socket name inside Dir.
	Socket string
}

// Validate fills defaults.
func (p *FakePlugin) Validate() error {
	if p.Resource == "" {
		p.Resource = "nvidia.com/gpu"
	}
	if p.Count < 1 {
		return fmt.Errorf("fake GPU count %d: must be at least 1", p.Count)
	}
	if p.Replicas == 0 {
		p.Replicas = 1
	}
	if p.Replicas < 1 {
		return fmt.Errorf("fake GPU replicas %d: must be at least 1", p.Replicas)
	}
	if p.Dir == "" {
		p.Dir = pluginapi.DevicePluginPath
	}
	if p.Socket == "" {
		p.Socket = "ferry-fake-gpu.sock"
	}
	if p.Log == nil {
		return errors.New("fake GPU plugin: logger is nil")
	}
	return nil
}

// DeviceIDs are the fake devices' IDs, one per time-slicing replica.
func (p *FakePlugin) DeviceIDs() []string {
	if p.Replicas <= 1 {
		ids := make([]string, p.Count)
		for i := range ids {
			ids[i] = fmt.Sprintf("fake-gpu-%d", i)
		}
		return ids
	}
	ids := make([]string, 0, p.Count*p.Replicas)
	for i := range p.Count {
		for r := range p.Replicas {
			ids = append(ids, fmt.Sprintf("fake-gpu-%d::%d", i, r))
		}
	}
	return ids
}

// Start serves the plugin and registers it with the kubelet; when the
// kubelet restarts (it removes plugin sockets), it serves and registers anew.
func (p *FakePlugin) Start(ctx context.Context) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for {
		err := p.serveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.Log.Warn("device plugin restarting", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(2 * time.Second):
		}
	}
}

// serveOnce serves until ctx ends or the socket disappears.
func (p *FakePlugin) serveOnce(ctx context.Context) error {
	path := filepath.Join(p.Dir, p.Socket)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	srv := grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(srv, p)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer srv.Stop()
	if err := p.register(ctx); err != nil {
		return err
	}
	p.Log.Info("device plugin registered", "resource", p.Resource, "count", p.Count, "socket", path)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-served:
			return fmt.Errorf("grpc server: %w", err)
		case <-tick.C:
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("socket %s removed (kubelet restarted?)", path)
			}
		}
	}
}

func (p *FakePlugin) register(ctx context.Context) error {
	kubelet := filepath.Join(p.Dir, filepath.Base(pluginapi.KubeletSocket))
	conn, err := grpc.NewClient("unix://"+kubelet, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial kubelet at %s: %w", kubelet, err)
	}
	defer conn.Close()
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(rctx, &pluginapi.RegisterRequest{
		Version: pluginapi.Version, Endpoint: p.Socket, ResourceName: p.Resource,
		Options: &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true},
	})
	if err != nil {
		return fmt.Errorf("register %s with kubelet: %w", p.Resource, err)
	}
	return nil
}

// GetDevicePluginOptions says the plugin offers preferred allocations.
func (p *FakePlugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true}, nil
}

// ListAndWatch sends the device list once; fake devices never change.
func (p *FakePlugin) ListAndWatch(_ *pluginapi.Empty, stream grpc.ServerStreamingServer[pluginapi.ListAndWatchResponse]) error {
	devs := make([]*pluginapi.Device, 0, p.Count)
	for _, id := range p.DeviceIDs() {
		devs = append(devs, &pluginapi.Device{ID: id, Health: pluginapi.Healthy})
	}
	if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

// GetPreferredAllocation prefers the lowest-numbered available devices.
func (p *FakePlugin) GetPreferredAllocation(_ context.Context, req *pluginapi.PreferredAllocationRequest) (*pluginapi.PreferredAllocationResponse, error) {
	out := &pluginapi.PreferredAllocationResponse{}
	for _, c := range req.ContainerRequests {
		ids := append([]string{}, c.MustIncludeDeviceIDs...)
		for _, id := range c.AvailableDeviceIDs {
			if len(ids) >= int(c.AllocationSize) {
				break
			}
			if !contains(ids, id) {
				ids = append(ids, id)
			}
		}
		out.ContainerResponses = append(out.ContainerResponses, &pluginapi.ContainerPreferredAllocationResponse{DeviceIDs: ids})
	}
	return out, nil
}

// Allocate tells the container which fake devices it got, the way the
// NVIDIA runtime is told (NVIDIA_VISIBLE_DEVICES).
func (p *FakePlugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	out := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		for _, id := range c.DevicesIds {
			if !contains(p.DeviceIDs(), id) {
				return nil, fmt.Errorf("allocate: unknown device %q", id)
			}
		}
		out.ContainerResponses = append(out.ContainerResponses, &pluginapi.ContainerAllocateResponse{
			Envs: map[string]string{"NVIDIA_VISIBLE_DEVICES": strings.Join(c.DevicesIds, ","), "FERRY_FAKE_GPU": "1"},
		})
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
