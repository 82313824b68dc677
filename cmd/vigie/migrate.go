package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/internal/store"
)

func migrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the warehouse DDL (schemas/migrations) and the configured retention",
		Long: `Apply the versioned warehouse DDL in schemas/migrations, recording each version in
<database>.schema_migrations, then bring table TTLs to warehouse.retention. Safe to run
twice (the second run changes nothing) and from two processes at once. With
warehouse.clickhouse.cluster set, tables are Replicated and DDL runs ON CLUSTER.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			wh, err := app.OpenWarehouse(cfg)
			if err != nil {
				return err
			}
			defer wh.Close()
			applied, err := store.Migrate(cmd.Context(), wh, app.MigrateOptions(cfg))
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "warehouse is up to date")
				return nil
			}
			for _, v := range applied {
				fmt.Fprintln(cmd.OutOrStdout(), "applied", v)
			}
			return nil
		},
	}
}
