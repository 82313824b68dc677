package main

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func queryCmd(g *globals) *cobra.Command {
	var file, format string
	cmd := &cobra.Command{
		Use:   `query ["SQL"]`,
		Short: "Run read-only SQL against the warehouse (table, CSV or JSON)",
		Long: `Run one read-only SQL statement against the warehouse and print the result.

The SQL comes from the argument, from -f FILE, or from standard input. ClickHouse's own parser
reads it and the sandbox allows one SELECT, SHOW, DESCRIBE, EXISTS or EXPLAIN on the warehouse's
tables, without table functions other than generators, SETTINGS, FORMAT or INTO OUTFILE
(docs/security.md); the engine enforces read-only sessions, warehouse.query.timeout and
max_rows, and the sandbox.* limits. Control characters in the results are shown as \x1b…
When vigie serve is running on this machine the query goes through its authenticated SQL
endpoint (the server owns the data dir); otherwise the warehouse is opened here.
Example queries for post-incident questions are in schemas/queries/.

  vigie query "SELECT region, round(avg(availability), 3) FROM vigie.hour_stats GROUP BY region"
  vigie query -f schemas/queries/02_availability_by_region_hour.sql --format csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			opts := sqlapi.RunOptions{
				File: file, Stdin: os.Stdin, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
				Format: format, ServerURL: reach.LocalURL(cfg.HTTP.Listen),
				Token: cfg.HTTP.SQLToken, DataDir: cfg.DataDir,
				Limits: app.SQLLimits(cfg),
				OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
					return app.OpenWarehouse(cfg)
				},
			}
			if len(args) == 1 {
				opts.SQL = args[0]
			}
			return sqlapi.Run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `read the SQL from FILE ("-" for stdin)`)
	cmd.Flags().StringVar(&format, "format", "table", "output: "+strings.Join(sqlapi.Formats, ", "))
	return cmd
}
