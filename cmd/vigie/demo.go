package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
)

// demoMarker marks a data dir that vigie demo created, so that a later demo
// may wipe it and start fresh without ever deleting anything else.
const demoMarker = ".vigie-demo"

func demoCmd(g *globals) *cobra.Command {
	var f simFlags
	var exit bool
	var langFlag string
	var compare string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run everything on embedded parts, replay 6 April 2021, write the lessons-learned report",
		Long: `The main job on one machine: start the embedded Kafka broker, the in-process ClickHouse
engine, the ingest API, the aggregator and the dashboards in this process; replay the morning
of 16 March 2020 (the comparison point) and then that of 6 April 2021 through the ingest API,
with what a synthetic prober in each region would have seen (kind probe, source probe: quota
pages, waiting rooms, timeouts); wait until the aggregator has caught up; write the
lessons-learned report (Markdown, JSON and an HTML page with charts); print where the report and the dashboard are;
then keep serving until Ctrl-C (or stop at once with --exit).

The data dir (default ./vigie-demo) starts fresh on every demo: it is wiped only if an
earlier demo created it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("data-dir") && os.Getenv("VIGIE_DATA_DIR") == "" && g.configFile == "" {
				_ = cmd.Flags().Set("data-dir", "vigie-demo")
			}
			cfg, log, err := g.load(cmd)
			if err != nil {
				return err
			}
			lang, err := i18n.Parse(langFlag)
			if err != nil {
				return fmt.Errorf("--lang: %w", err)
			}
			// The demo serves everyone with every role: this machine only.
			if !config.IsLoopback(cfg.HTTP.Listen) {
				return fmt.Errorf("http.listen: %q is not a loopback address, but vigie demo runs without authentication: listen on 127.0.0.1 (or run vigie serve with users, docs/access.md)", cfg.HTTP.Listen)
			}
			cfg.Auth.Users, cfg.Ingest.Collectors, cfg.Auth.OIDC.Issuer = nil, nil, ""
			// The report names the simulated services with the simulator's
			// own (fictional) catalogue unless the configuration has one.
			if len(cfg.Catalogue.Services) == 0 {
				if cfg.Catalogue, err = simulate.Catalogue(); err != nil {
					return err
				}
			}
			if len(cfg.Kafka.Brokers) == 0 && cfg.Warehouse.Driver == "chdb" {
				if err := freshDataDir(cfg.DataDir); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			began := time.Now()
			ctx := cmd.Context()
			a, err := start(ctx, cfg, app.All, log)
			if err != nil {
				return err
			}
			defer shutdown(a)
			fmt.Fprintf(out, "Vigie is running at %s (démo sans authentification, accessible depuis cette machine seulement / demo without authentication, this machine only)\n", a.URL())
			// The comparison point first, in time order: the report of the
			// main scenario then shows "the same situation as last year".
			names := []string{f.scenario}
			if compare != "" && compare != f.scenario {
				names = []string{compare, f.scenario}
			}
			for _, name := range names {
				st, pst, err := f.replay(ctx, name, a.URL(), cmd.ErrOrStderr())
				if err != nil {
					return fmt.Errorf("replay %s: %w", name, err)
				}
				fmt.Fprintf(out, "Replayed %s: %d events (%d refused) in %s\n  of which %s\n", name, st.Events, st.Rejected, st.Elapsed.Round(time.Millisecond), probeLine(pst))
			}
			fmt.Fprintln(out, "Waiting for the aggregator to catch up…")
			wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			if err := a.WaitCaughtUp(wctx); err != nil {
				return err
			}
			sc, _ := simulate.Lookup(f.scenario)
			src, err := export.Local(ctx, a.Store(), sc.Start, sc.End, report.Options{Incidents: cfg.Incidents, Catalogue: cfg.Catalogue}, lang)
			if err != nil {
				return err
			}
			paths, err := export.Request{From: sc.Start, To: sc.End, Format: export.All, DataDir: cfg.DataDir}.Write(ctx, src)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "\nLessons-learned report for %s (done in %s):\n", sc.Name, time.Since(began).Round(time.Second))
			for _, p := range paths {
				abs, _ := filepath.Abs(p)
				fmt.Fprintf(out, "  %s\n", abs)
			}
			fmt.Fprintf(out, "Dashboard: %s/\nMetrics:   %s/metrics\nSQL:       %s query --data-dir %s --listen %s \"SELECT region, round(avg(availability), 3) FROM vigie.hour_stats WHERE platform = 'ent' GROUP BY region ORDER BY 2\"\n",
				a.URL(), a.URL(), os.Args[0], cfg.DataDir, cfg.HTTP.Listen)
			if exit {
				return nil
			}
			fmt.Fprintln(out, "Serving until Ctrl-C.")
			<-ctx.Done()
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&exit, "exit", false, "stop after writing the report (for scripts)")
	cmd.Flags().StringVar(&langFlag, "lang", "fr", "language of the report: fr (French) or en (English)")
	cmd.Flags().StringVar(&compare, "compare", "2020-03-16", `earlier scenario replayed first, for the report's comparison ("" for none)`)
	return cmd
}

// freshDataDir empties dir if an earlier demo made it, creates it otherwise,
// and refuses a non-empty directory it did not make.
func freshDataDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(entries) == 0:
	default:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return fmt.Errorf("data dir %s is not empty and was not made by vigie demo: give another --data-dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by vigie demo; the next demo wipes this directory\n"), 0o640)
}
