package cli

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ferry-ml/ferry/internal/kubeclient"
	"github.com/ferry-ml/ferry/runtime/node/netpol"
	"github.com/ferry-ml/ferry/runtime/node/podnet"
)

func newNodeAgentCmd(g *globals) *cobra.Command {
	var node, cidr, confDir, hostRoot, kubeconfig string
	var enforce bool
	var resync time.Duration
	cmd := &cobra.Command{
		Use:   "node-agent",
		Short: "Node agent of ferry's own clusters: pod CNI config, routes between nodes, NetworkPolicy in nftables (runs as a DaemonSet)",
		Long: "Writes this node's CNI config for its pod CIDR, keeps a route to every other node's pod CIDR and masquerades\n" +
			"pod traffic leaving the cluster; with --network-policy it also compiles the cluster's NetworkPolicies into\n" +
			"this node's nftables ruleset (table inet ferry-netpol) and reports any it cannot enforce as Warning events.\n" +
			"It runs the node's own nft and ip from --host-root.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if node == "" {
				return errors.New("--node (or $NODE_NAME) is required")
			}
			cluster, err := netip.ParsePrefix(cidr)
			if err != nil || !cluster.Addr().Is4() {
				return fmt.Errorf("--cluster-cidr %q: not an IPv4 CIDR", cidr)
			}
			cs, err := kubeclient.New(kubeconfig, "")
			if err != nil {
				return err
			}
			log := g.logger().With("node", node)
			run := podnet.HostExec(hostRoot)
			gr, ctx := errgroup.WithContext(cmd.Context())
			gr.Go(func() error {
				a := &podnet.Agent{Client: cs, Node: node, ClusterCIDR: cluster.Masked(), ConfDir: confDir, Exec: run, Log: log.With("part", "podnet"), Resync: resync}
				return a.Run(ctx)
			})
			if enforce {
				gr.Go(func() error {
					a := &netpol.Agent{Client: cs, Node: node, Log: log.With("part", "netpol"), Resync: resync,
						Apply: func(ctx context.Context, script string) error {
							_, err := run(ctx, script, "nft", "-f", "-")
							return err
						}}
					return a.Run(ctx)
				})
			}
			return gr.Wait()
		},
	}
	cmd.Flags().StringVar(&node, "node", os.Getenv("NODE_NAME"), "this node's name (default $NODE_NAME)")
	cmd.Flags().StringVar(&cidr, "cluster-cidr", "10.244.0.0/16", "the pods' address range; traffic from it to elsewhere is masqueraded")
	cmd.Flags().StringVar(&confDir, "cni-conf-dir", "/etc/cni/net.d", "where the kubelet reads CNI configurations")
	cmd.Flags().StringVar(&hostRoot, "host-root", "/", "the node's root filesystem (nft and ip run chrooted there)")
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig (default: in-cluster)")
	cmd.Flags().BoolVar(&enforce, "network-policy", true, "enforce NetworkPolicy")
	cmd.Flags().DurationVar(&resync, "resync", 5*time.Minute, "how often everything is re-read without events")
	return cmd
}
