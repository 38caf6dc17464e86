package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/kind"
	"github.com/ferry-ml/ferry/bootstrap/logs"
	"github.com/ferry-ml/ferry/internal/kubeclient"
)

func newExportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Export what it takes to debug a cluster"}
	var t targetFlags
	logsCmd := &cobra.Command{
		Use:   "logs DIR",
		Short: "Write kind's node logs, the control plane's and node agents' pod logs and ferry's namespaces' events into DIR",
		Long: "For the local kind cluster (--name): kind's log export (nodes' journals, containers, kubelet) into DIR/kind.\n" +
			"For it or an existing cluster (--kubeconfig/--context): the logs of the pods in " + logs.ControlPlaneNamespace + " (DIR/control-plane),\n" +
			"of the ferry-node-agent pods (DIR/node-agent), and the events of " + logs.ControlPlaneNamespace + ", " + logs.NodeAgentNamespace +
			" and the tenant namespaces (DIR/events).\nGoes on past a failed step and reports every failure at the end.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := logs.Options{Dir: args[0], Out: g.stderr}
			kubeconfig, kctx := t.kubeconfig, t.kubeContext
			if kubeconfig == "" && kctx == "" {
				if exists, err := kind.Exists(t.name); err != nil || !exists {
					return errors.Join(err, fmt.Errorf("local cluster %s does not exist; name another with --name, or a remote one with --kubeconfig/--context", t.name))
				}
				kubeconfig, kctx = kind.DefaultKubeconfig(), kind.ContextName(t.name)
				name := t.name
				o.KindLogs = func(dir string) error { return kind.ExportLogs(name, dir) }
			}
			cs, clientErr := kubeclient.New(kubeconfig, kctx)
			if clientErr == nil {
				o.Client = cs
			} else if o.KindLogs == nil {
				return clientErr
			}
			return errors.Join(clientErr, logs.Export(cmd.Context(), o))
		},
	}
	t.add(logsCmd)
	cmd.AddCommand(logsCmd)
	return cmd
}
