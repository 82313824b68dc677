// Command vigie is Vigie's one binary: collectors, stream processor,
// warehouse migrations, dashboards, reports and ad-hoc SQL, as subcommands.
// Run `vigie --help` for the list and `vigie demo` to see it all work.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vigie:", err)
		if errors.Is(err, warehouse.ErrReadOnly) {
			fmt.Fprintln(os.Stderr, "\nvigie query is read-only: the engine refuses statements that write or change settings (INSERT, CREATE, ALTER, DROP, SET).\nTo change the schema, use vigie migrate.")
		}
		if errors.Is(err, chdb.ErrLibraryMissing) {
			fmt.Fprintln(os.Stderr, "\nThe in-process ClickHouse engine (libchdb.so, ~560 MB) is not installed.\nInstall it with:  make chdb   (or: scripts/install-chdb.sh)\nor point warehouse.driver at a ClickHouse server (warehouse.driver: clickhouse).")
		}
		os.Exit(1)
	}
}

// globals are the flags every command shares.
type globals struct {
	configFile string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "vigie",
		Short: "Telemetry and analytics for France's remote-schooling platforms (ENT, CNED)",
		Long: `Vigie collects connection and latency events from the regional ENT portals and the
CNED virtual classroom, streams them through Kafka, aggregates them by region, hour and
minute into ClickHouse, and turns them into dashboards and lessons-learned reports.

On one machine everything runs in one process on embedded parts (a Kafka-protocol broker
and ClickHouse's engine in-process); the same commands run against a Kafka cluster and a
ClickHouse server when configured.

Configuration: --config FILE (YAML, see deploy/vigie.example.yaml), every key overridable
by an environment variable (kafka.partitions → VIGIE_KAFKA_PARTITIONS) and by the flags below.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.configFile, "config", "c", "", "YAML configuration file")
	config.RegisterFlags(pf)
	root.AddCommand(
		demoCmd(g), serveCmd(g, "serve"), serveCmd(g, "collect"), serveCmd(g, "aggregate"), serveCmd(g, "dashboards"),
		simulateCmd(g), reportCmd(g), annotateCmd(g), actionCmd(g), queryCmd(g), migrateCmd(g), offsetsCmd(g), probeCmd(g), tailCmd(g), authCmd(),
	)
	return root
}

// load reads the configuration with this command's flags applied.
func (g *globals) load(cmd *cobra.Command) (config.Config, *slog.Logger, error) {
	cfg, err := config.Load(g.configFile, cmd.Flags(), config.ChangedFlags(cmd.Flags()))
	if err != nil {
		return cfg, nil, err
	}
	return cfg, newLogger(cfg.Log, os.Stderr), nil
}

func newLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
