package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/internal/config"
)

// shutdownTimeout bounds the ordered shutdown on SIGTERM/Ctrl-C.
const shutdownTimeout = 30 * time.Second

var serveParts = map[string]struct {
	parts app.Parts
	short string
}{
	"serve":      {app.All, "Run the single-machine service: ingest API, aggregator and dashboards"},
	"collect":    {app.Parts{Ingest: true}, "Run only the ingest API (POST /v1/events → Kafka)"},
	"aggregate":  {app.Parts{Aggregate: true}, "Run only the stream processor (Kafka → warehouse); scale out by partitions"},
	"dashboards": {app.Parts{Dashboards: true}, "Run only the dashboards, JSON API and read-only SQL endpoint"},
}

func serveCmd(g *globals, name string) *cobra.Command {
	sp := serveParts[name]
	return &cobra.Command{
		Use:   name,
		Short: sp.short,
		Long: sp.short + `.

Runs until SIGTERM or Ctrl-C, then stops in order: refuse new requests, finish those in
flight, flush the aggregator's windows to the warehouse, close the warehouse and the broker.
HTTP: POST /v1/events, GET /metrics, /healthz, /readyz, / (dashboard), /api/v1/…`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			a, err := start(ctx, cfg, sp.parts, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Vigie %s is running at %s (Ctrl-C to stop)\n", name, a.URL())
			<-ctx.Done()
			return shutdown(a)
		},
	}
}

// start builds and starts the parts; on failure it stops what had started.
func start(ctx context.Context, cfg config.Config, parts app.Parts, log *slog.Logger) (*app.App, error) {
	a, err := app.New(cfg, parts, log)
	if err != nil {
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		shutdown(a)
		return nil, err
	}
	return a, nil
}

func shutdown(a *app.App) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return a.Shutdown(ctx)
}
