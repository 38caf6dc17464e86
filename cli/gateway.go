package cli

import (
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ferry-ml/ferry/client"
	"github.com/ferry-ml/ferry/runtime/gateway"
)

func newGatewayCmd(g *globals) *cobra.Command {
	var server, tokenFile, listen, metrics string
	var hold time.Duration
	var maxHeld, lookupBurst int
	var lookupRate float64
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the serving gateway (stateless: routes /serve/<tenant>/<deployment>/ from the control plane's table)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if server == "" || tokenFile == "" {
				return errors.New("--server and --token-file are required")
			}
			token := func() (string, error) {
				b, err := os.ReadFile(tokenFile)
				return string(trimNL(b)), err
			}
			cp := client.New(server, client.WithTokenFunc(token))
			host, _ := os.Hostname()
			gw, err := gateway.New(gateway.Config{ControlPlane: cp, Logger: g.logger(), Name: host, HoldTimeout: hold, MaxHeld: maxHeld,
				LookupRate: lookupRate, LookupBurst: lookupBurst})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: gw.Handler(), ReadHeaderTimeout: 10 * time.Second}
			eg, ctx := errgroup.WithContext(cmd.Context())
			eg.Go(func() error { return gw.Start(ctx) })
			eg.Go(func() error {
				<-ctx.Done()
				return hs.Close()
			})
			if metrics != "" {
				mln, err := net.Listen("tcp", metrics)
				if err != nil {
					return errors.Join(err, ln.Close())
				}
				ms := &http.Server{Handler: gw.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
				eg.Go(func() error {
					if err := ms.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						return err
					}
					return nil
				})
				eg.Go(func() error {
					<-ctx.Done()
					return ms.Close()
				})
			}
			g.logger().Info("gateway serving", "addr", ln.Addr().String(), "server", server)
			if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return eg.Wait()
		},
	}
	cmd.Flags().StringVar(&server, "server", "", "the control plane's URL (e.g. http://ferry.ferry-system.svc:8080)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the token the gateway authenticates with")
	cmd.Flags().StringVar(&listen, "listen", ":8081", "address to serve on")
	cmd.Flags().StringVar(&metrics, "metrics-listen", ":9091", "address of /metrics (Prometheus), apart from the serving port: its series name every tenant's deployments; empty: none")
	cmd.Flags().DurationVar(&hold, "hold-timeout", 30*time.Second, "how long a request waits for a revision at zero to start")
	cmd.Flags().IntVar(&maxHeld, "max-held", 100, "requests held per revision at most")
	cmd.Flags().Float64Var(&lookupRate, "lookup-rate", 10, "credential lookups per second per client address for tokens the gateway has not cached; over it: 429")
	cmd.Flags().IntVar(&lookupBurst, "lookup-burst", 20, "burst of --lookup-rate per client address")
	return cmd
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
