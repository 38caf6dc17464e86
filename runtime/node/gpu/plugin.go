// Package gpu holds ferry's GPU device plugin. Plugin implements the
// kubelet device-plugin API (v1beta1) for nvidia.com/gpu with one of two
// sources of devices:
//
//   - CDI (CDIKind set): the devices the node's CDI specs describe, handed
//     to containers as CDI devices that containerd injects (device nodes,
//     mounts, environment and hooks from the spec). This is how kind nodes
//     get the host's NVIDIA GPUs, and, with ferry's fake vendor, how the
//     same path is tested on machines without one.
//   - Count: N synthetic devices per node that exist only as IDs in the
//     environment, for clusters whose nodes ferry cannot give a spec to, so
//     that scheduling, quotas and admission of GPU work are still tested.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/ferry-ml/ferry/internal/cdi"
)

// Plugin advertises healthy devices of Resource: those of CDIKind in the
// specs under SpecDirs, or else Count synthetic ones.
type Plugin struct {
	pluginapi.UnimplementedDevicePluginServer
	Resource string
	Count    int
	// CDIKind ("vendor/class") selects the devices of that kind in the CDI
	// specs under SpecDirs; they are read again every Rescan, and a change
	// is sent to the kubelet.
	CDIKind  string
	SpecDirs []string
	Rescan   time.Duration
	mu       sync.Mutex
	last     []string // the devices of the last good read of the specs
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
func (p *Plugin) Validate() error {
	if p.Resource == "" {
		p.Resource = "nvidia.com/gpu"
	}
	if p.CDIKind != "" {
		if err := cdi.ValidKind(p.CDIKind); err != nil {
			return err
		}
		if len(p.SpecDirs) == 0 {
			p.SpecDirs = cdi.Dirs
		}
		if p.Rescan <= 0 {
			p.Rescan = 10 * time.Second
		}
	} else if p.Count < 1 {
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
		p.Socket = "ferry-gpu.sock"
	}
	if p.Log == nil {
		return errors.New("fake GPU plugin: logger is nil")
	}
	return nil
}

// devices are the names of the node's devices now: from the CDI specs, or
// fake-gpu-0..Count-1.
// A spec that cannot be read (being rewritten, or broken) leaves the last
// good list in force, so allocations go on meanwhile.
func (p *Plugin) devices() ([]string, error) {
	if p.CDIKind != "" {
		specs, err := cdi.Load(p.CDIKind, p.SpecDirs...)
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			if p.last != nil {
				p.Log.Warn("read CDI specs; keeping the last good devices", "kind", p.CDIKind, "err", err, "devices", p.last)
				return p.last, nil
			}
			return nil, err
		}
		p.last = cdi.Devices(specs)
		return p.last, nil
	}
	names := make([]string, p.Count)
	for i := range names {
		names[i] = fmt.Sprintf("fake-gpu-%d", i)
	}
	return names, nil
}

// DeviceIDs are the IDs advertised for the devices named, one per
// time-slicing replica ("<device>::<replica>").
func (p *Plugin) DeviceIDs(names []string) []string {
	if p.Replicas <= 1 {
		return slices.Clone(names)
	}
	ids := make([]string, 0, len(names)*p.Replicas)
	for _, n := range names {
		for r := range p.Replicas {
			ids = append(ids, fmt.Sprintf("%s::%d", n, r))
		}
	}
	return ids
}

// device is the device an advertised ID stands for.
func device(id string) string {
	name, _, _ := strings.Cut(id, "::")
	return name
}

// Start serves the plugin and registers it with the kubelet; when the
// kubelet restarts (it removes plugin sockets), it serves and registers anew.
func (p *Plugin) Start(ctx context.Context) error {
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
func (p *Plugin) serveOnce(ctx context.Context) error {
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
	source := []any{"count", p.Count}
	if p.CDIKind != "" {
		source = []any{"cdiKind", p.CDIKind, "specDirs", p.SpecDirs}
	}
	p.Log.Info("device plugin registered", append([]any{"resource", p.Resource, "socket", path}, source...)...)
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

func (p *Plugin) register(ctx context.Context) error {
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
func (p *Plugin) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{GetPreferredAllocationAvailable: true}, nil
}

// ListAndWatch sends the device list, and again whenever the CDI specs
// come to name other devices (synthetic devices never change).
func (p *Plugin) ListAndWatch(_ *pluginapi.Empty, stream grpc.ServerStreamingServer[pluginapi.ListAndWatchResponse]) error {
	var sent []string
	for {
		names, err := p.devices()
		if err != nil {
			// A spec being rewritten or broken: keep what the kubelet has.
			p.Log.Warn("read CDI specs", "kind", p.CDIKind, "err", err)
			names = sent
		}
		if sent == nil || !slices.Equal(names, sent) {
			ids := p.DeviceIDs(names)
			devs := make([]*pluginapi.Device, 0, len(ids))
			for _, id := range ids {
				devs = append(devs, &pluginapi.Device{ID: id, Health: pluginapi.Healthy})
			}
			if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
				return err
			}
			p.Log.Info("advertised devices", "resource", p.Resource, "devices", names, "ids", len(ids))
			sent = append([]string{}, names...)
		}
		if p.CDIKind == "" {
			<-stream.Context().Done()
			return nil
		}
		select {
		case <-stream.Context().Done():
			return nil
		case <-time.After(p.Rescan):
		}
	}
}

// GetPreferredAllocation prefers the lowest-numbered available devices.
func (p *Plugin) GetPreferredAllocation(_ context.Context, req *pluginapi.PreferredAllocationRequest) (*pluginapi.PreferredAllocationResponse, error) {
	out := &pluginapi.PreferredAllocationResponse{}
	for _, c := range req.ContainerRequests {
		ids := append([]string{}, c.MustIncludeDeviceIDs...)
		for _, id := range c.AvailableDeviceIDs {
			if len(ids) >= int(c.AllocationSize) {
				break
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		out.ContainerResponses = append(out.ContainerResponses, &pluginapi.ContainerPreferredAllocationResponse{DeviceIDs: ids})
	}
	return out, nil
}

// Allocate hands each container its devices: as CDI devices, which the
// runtime injects from the spec, or, for synthetic ones, by name in
// NVIDIA_VISIBLE_DEVICES (as NVIDIA's legacy runtime is told) beside
// FERRY_FAKE_GPU=1. Time-sliced replicas of one device are one device.
func (p *Plugin) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	names, err := p.devices()
	if err != nil {
		return nil, fmt.Errorf("allocate: %w", err)
	}
	known := p.DeviceIDs(names)
	out := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		var devs []string
		for _, id := range c.DevicesIds {
			if !slices.Contains(known, id) {
				return nil, fmt.Errorf("allocate: unknown device %q", id)
			}
			if d := device(id); !slices.Contains(devs, d) {
				devs = append(devs, d)
			}
		}
		r := &pluginapi.ContainerAllocateResponse{}
		if p.CDIKind != "" {
			for _, d := range devs {
				r.CdiDevices = append(r.CdiDevices, &pluginapi.CDIDevice{Name: cdi.Qualified(p.CDIKind, d)})
			}
		} else {
			r.Envs = map[string]string{"NVIDIA_VISIBLE_DEVICES": strings.Join(c.DevicesIds, ","), "FERRY_FAKE_GPU": "1"}
		}
		out.ContainerResponses = append(out.ContainerResponses, r)
	}
	return out, nil
}
