package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-ml/ferry/bootstrap/workloadimage"
	"github.com/ferry-ml/ferry/internal/version"
	"github.com/ferry-ml/ferry/runtime/server"
)

func newServerCmd(g *globals) *cobra.Command {
	opts := server.Options{}
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane (API and reconcilers) backed by SQLite",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Logger = g.logger()
			opts.Version = version.Version
			s, err := server.New(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return s.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", "", "directory for the database and the admin token (required)")
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	cmd.Flags().DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 0, "how long in-flight requests may take on SIGTERM (default 20s)")
	cmd.Flags().StringVar(&opts.Kube, "kube", "auto", `Kubernetes access for the reconcilers: "auto" (in-cluster when in a pod), "off", or a kubeconfig path`)
	cmd.Flags().StringVar(&opts.KubeContext, "kube-context", "", "kubeconfig context (with --kube PATH)")
	cmd.Flags().DurationVar(&opts.Resync, "resync", time.Minute, "how often every tenant is reconciled without events")
	cmd.Flags().StringVar(&opts.AdminTokenSecret, "admin-token-secret", "", "with Kubernetes access: also store the admin token in this Secret")
	cmd.Flags().StringVar(&opts.SeedTokenSecret, "seed-token-secret", "", "with Kubernetes access: also store the node agents' (ferry seed) token in this Secret")
	cmd.Flags().StringVar(&opts.GatewayTokenSecret, "gateway-token-secret", "", "with Kubernetes access: also store the serving gateway's token in this Secret")
	cmd.Flags().StringVar(&opts.BlobURL, "blob-url", "", "where ended pods' logs are kept: a gocloud.dev blob URL (default: file://DATA-DIR/blobs)")
	cmd.Flags().StringVar(&opts.ExternalURL, "external-url", "", "how browsers reach the server (e.g. https://ferry.example); https makes notebook cookies Secure")
	cmd.Flags().StringVar(&opts.StepImage, "step-image", "", "the platform image, whose ferry binary pipeline step pods copy in (the chart passes its own)")
	cmd.Flags().StringVar(&opts.ServeImage, "serve-image", workloadimage.Tag(), "the image of the built-in scikit-learn serving runtime (the workload image)")
	cmd.Flags().StringVar(&opts.InternalURL, "internal-url", "", "how pods in the cluster reach the server (e.g. http://ferry.ferry-system.svc:8080); jobs get their MLflow tracking URI from it")
	cmd.Flags().StringVar(&opts.GatewayInternalURL, "gateway-internal-url", "", "how pods in the cluster reach the serving gateway (e.g. http://ferry-gateway.ferry-system.svc:8081); notebooks get it as FERRY_GATEWAY")
	cmd.Flags().BoolVar(&opts.TrustForwardedProto, "trust-forwarded-proto", false, "believe X-Forwarded-Proto for notebook cookies' Secure flag (only behind a proxy that sets it)")
	cmd.Flags().StringVar(&opts.AuditKeyFile, "audit-key-file", "", "key that signs audit checkpoints, created 0600 if missing (default audit.key beside --data-dir)")
	cmd.Flags().StringVar(&opts.AuditKeySecret, "audit-key-secret", "", "with Kubernetes access: keep the audit checkpoint key in this Secret of the server's namespace (created on first start)")
	cmd.Flags().DurationVar(&opts.AuditCheckpointInterval, "audit-checkpoint-interval", time.Minute, "how often the audit log's head is checkpointed to the blob bucket")
	cmd.Flags().StringVar(&opts.AdminTokenNamespace, "admin-token-namespace", "", "namespace of --admin-token-secret (default $POD_NAMESPACE, else the pod's own)")
	cmd.Flags().DurationVar(&opts.Monitor.Interval, "sample-interval", 15*time.Second, "how often every workload's CPU, memory and GPU use is sampled from the kubelets")
	cmd.Flags().DurationVar(&opts.Monitor.Retention.Quarter, "usage-retention", 7*24*time.Hour, "how long usage series (15-minute buckets) and gone workloads are kept")
	cmd.Flags().DurationVar(&opts.Monitor.Access.Age, "reads-retention", 90*24*time.Hour, "how long the log of who read artifacts, models and logs is kept (at most 1,000,000 rows)")
	_ = cmd.MarkFlagRequired("data-dir")

	var dataDir, to string
	backup := &cobra.Command{
		Use:   "backup",
		Short: "Write a consistent copy of the database (safe while the server runs)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := server.Backup(cmd.Context(), dataDir, to); err != nil {
				return err
			}
			cmd.Printf("backup written to %s\n", to)
			return nil
		},
	}
	backup.Flags().StringVar(&dataDir, "data-dir", "", "the server's data directory (required)")
	backup.Flags().StringVar(&to, "to", "", "file to write; must not exist (required)")
	_ = backup.MarkFlagRequired("data-dir")
	_ = backup.MarkFlagRequired("to")
	cmd.AddCommand(backup)
	return cmd
}
