package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func reportCmd(g *globals) *cobra.Command {
	var from, to, format, out, langFlag string
	cmd := &cobra.Command{
		Use:   "report --from TIME --to TIME",
		Short: "Write the post-mortem report for a time range (Markdown, JSON, HTML or PDF), in French or English",
		Long: `Write the post-mortem report for [from, to), in French by default (--lang en for English):
summary with wall-clock times and regions per platform, impact with people by role estimated
for the whole population, trigger, detection, response and resolution, a timeline merging the
data with the annotations people entered (vigie annotate), cause signals and hosting
providers (catalogue.*), comparison with earlier incidents, capacity needed, action items
(vigie action), lessons, the region × hour availability table and a glossary. Incident
thresholds come from the incidents.* configuration keys. Times are RFC 3339
(2021-04-06T06:00:00+02:00) or a day (2021-04-06, meaning that whole day in Europe/Paris).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			lang, err := i18n.Parse(langFlag)
			if err != nil {
				return fmt.Errorf("--lang: %w", err)
			}
			f, t, err := rangeFlags(from, to)
			if err != nil {
				return err
			}
			// A running server owns the warehouse (chDB: one process per
			// data dir): export.Run asks it, once it proved it owns the data
			// dir (a report from another program could be forged), with the
			// data dir's token (none when no server wrote one: an open server
			// needs none), else opens the warehouse here.
			token := localToken(cfg)
			paths, err := export.Run(cmd.Context(),
				export.Request{From: f, To: t, Format: format, Out: out, DataDir: cfg.DataDir, Stdout: cmd.OutOrStdout(), Token: token, Lang: lang},
				reach.Options{ServerURL: reach.LocalURL(cfg.HTTP.Listen), DataDir: cfg.DataDir, OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
					return app.OpenWarehouse(cfg)
				}},
				cfg.Warehouse.Database, report.Options{Incidents: cfg.Incidents, Catalogue: cfg.Catalogue})
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), "report written:", p)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the range (required)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range, exclusive (default: one day after --from)")
	cmd.Flags().StringVar(&format, "format", "md", "md (Markdown), json, html (self-contained page with charts), pdf (that page printed by Chromium) or all (md, json, html)")
	cmd.Flags().StringVar(&langFlag, "lang", "fr", "language of the report: fr (French) or en (English)")
	cmd.Flags().StringVarP(&out, "out", "o", "", `output file ("-" for stdout); default <data_dir>/reports/lessons-<from>.<ext>`)
	_ = cmd.MarkFlagRequired("from")
	cmd.AddCommand(reportSendCmd(g), reportStatusCmd(g))
	return cmd
}
