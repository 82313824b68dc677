package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/schemas"
)

type simFlags struct {
	scenario    string
	seed        int64
	scale       float64
	speed       float64
	batch       int
	concurrency int
	token       string // the collector's token; "" sends none
}

func (f *simFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.scenario, "scenario", "2021-04-06", "scenario to replay: "+strings.Join(simulate.Names(), ", "))
	cmd.Flags().Int64Var(&f.seed, "seed", 1, "random seed: the same seed sends the same events, ids included")
	cmd.Flags().Float64Var(&f.scale, "scale", 1, "volume multiplier, 0.05 (a few events a minute per service and region) to 100; 1 ≈ 350k events for 2021-04-06")
	cmd.Flags().Float64Var(&f.speed, "speed", 0, "time compression: 0 = as fast as possible, 60 = one simulated minute per second")
	cmd.Flags().IntVar(&f.batch, "batch", 2000, "events per POST")
	cmd.Flags().IntVar(&f.concurrency, "concurrency", 2, "POSTs in flight")
}

// run generates the scenario and sends it to the collector at url, with a
// progress bar on progress.
func (f *simFlags) run(ctx context.Context, url string, progress io.Writer) (simulate.SendStats, simulate.ProbeStats, error) {
	return f.replay(ctx, f.scenario, url, progress)
}

// replay sends the scenario's events, then what the probes of each region
// would have seen (simulate.Probes), both through the ingest API.
func (f *simFlags) replay(ctx context.Context, name, url string, progress io.Writer) (simulate.SendStats, simulate.ProbeStats, error) {
	sc, err := simulate.Lookup(name)
	if err != nil {
		return simulate.SendStats{}, simulate.ProbeStats{}, err
	}
	total, err := simulate.Count(sc, f.seed, f.scale)
	if err != nil {
		return simulate.SendStats{}, simulate.ProbeStats{}, err
	}
	events, err := simulate.Stream(sc, f.seed, f.scale)
	if err != nil {
		return simulate.SendStats{}, simulate.ProbeStats{}, err
	}
	fmt.Fprintf(progress, "Replaying %s (%s): %d events to %s\n", sc.Name, sc.Description, total, url)
	opts := simulate.SendOptions{BatchSize: f.batch, Concurrency: f.concurrency, Speed: f.speed, Total: total, Progress: progress, Token: f.token}
	st, err := simulate.Send(ctx, url, events, opts)
	if err != nil {
		return st, simulate.ProbeStats{}, err
	}
	probes, pst := simulate.Probes(sc, f.seed)
	opts.Total, opts.Progress = len(probes), nil
	pt, err := simulate.Send(ctx, url, slices.Values(probes), opts)
	st.Add(pt)
	return st, pst, err
}

// probeLine says what the simulated probes saw, by outcome.
func probeLine(st simulate.ProbeStats) string {
	var parts []string
	for _, o := range schemas.Outcomes {
		if n := st.ByOutcome[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", o, n))
		}
	}
	return fmt.Sprintf("%d probe results from a prober in each region (%s)", st.Events, strings.Join(parts, ", "))
}

func simulateCmd(g *globals) *cobra.Command {
	var f simFlags
	var url, tokenFile string
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay an incident scenario into a collector (POST /v1/events)",
		Long: `Generate a scenario morning — every region's ENT and the CNED virtual classroom — and
send it through the collector's HTTP ingest API, as real sources would. Deterministic for a
seed; --speed compresses time. One simulated user stands for many pupils: the volumes are a
model (docs/design.md, "The domain"), never measurements.

Scenarios:
  2021-04-06  first morning of remote school: ENTs of seven regions fail under load
              (quotas, waiting rooms), CNED slow 8h–10h under attack-like traffic
  2020-03-16  first lockdown morning: the same shape a year earlier`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			local := url == ""
			if local {
				url = reach.LocalURL(cfg.HTTP.Listen)
			}
			if f.token, err = collectorToken(tokenFile, cfg.DataDir, local); err != nil {
				return err
			}
			st, pst, err := f.run(cmd.Context(), url, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %d events in %d batches (%d retries, %d refused) in %s, of which %s\n",
				st.Events, st.Batches, st.Retries, st.Rejected, st.Elapsed.Round(1e6), probeLine(pst))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&url, "url", "", "collector base URL (default: http.listen of this configuration)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the collector's token (default: $VIGIE_TOKEN, else the data dir's token of a server on this machine)")
	return cmd
}

// collectorToken is the token simulate sends: the file's, else $VIGIE_TOKEN,
// else, for the server of this configuration (local), the data dir's token
// when that server wrote one, else none (an open loopback server). Never a
// command-line argument, which every user of the machine can read, and the
// data dir's token never goes to another URL.
func collectorToken(file, dataDir string, local bool) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	if tok := os.Getenv("VIGIE_TOKEN"); tok != "" {
		return tok, nil
	}
	if !local {
		return "", nil
	}
	tok, err := sqlapi.ReadToken(dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return tok, err
}
