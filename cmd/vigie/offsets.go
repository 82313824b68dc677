package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/aggregate"
	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
)

func offsetsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "offsets",
		Short: "Show and repair where each Kafka partition stands in the warehouse (operators)",
		Long: `The warehouse, not Kafka, records which offsets it holds, with a hash of the last record
of each range. When the log no longer matches (a torn or corrupted segment, a deleted log, an
unclean leader election, a re-created topic), the aggregator stops that partition rather than
guess, says so in its log, in /readyz and in vigie_aggregate_partition_stopped, and waits for
an operator: see docs/operations.md.

On one machine (embedded broker and chDB), stop vigie serve first: these commands open the
data dir themselves. Against a Kafka cluster and a ClickHouse server they can run while the
aggregators run; a stopped partition picks the reset up within seconds.`,
	}
	cmd.AddCommand(offsetsStatusCmd(g), offsetsResumeCmd(g))
	return cmd
}

func offsetsStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Each partition: the warehouse's last range, the log's bounds, and whether they match",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOffsets(cmd, g, func(ctx context.Context, cfg config.Config, l aggregate.Log, offs *store.Offsets) error {
				states, err := aggregate.Inspect(ctx, l, offs, cfg.Kafka.Partitions)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PARTITION\tEPOCH\tWAREHOUSE HOLDS TO\tLOG\tRESUMES AT\tBEHIND\tPROBLEM")
				for _, s := range states {
					held := "-"
					if s.Marker.Found {
						held = fmt.Sprintf("%d (%s)", s.Marker.Last, s.Marker.State)
					}
					problem := s.Problem
					if problem == "" {
						problem = "none"
					}
					fmt.Fprintf(tw, "%d\t%d\t%s\t%d..%d\t%d\t%d\t%s\n", s.Partition, s.Marker.Epoch, held, s.LogStart, s.LogEnd, s.Next, s.Behind, problem)
				}
				return tw.Flush()
			})
		},
	}
}

func offsetsResumeCmd(g *globals) *cobra.Command {
	var partition int
	var from string
	cmd := &cobra.Command{
		Use:   "resume --partition N --from start|end|OFFSET",
		Short: "Restart a stopped partition at the log start, its end or an offset, in a new epoch",
		Long: `Restart a partition whose log no longer matches the warehouse. --from start re-reads
everything the log holds now: events the warehouse already has are recognised by their ids and
not counted again (within aggregate.dedup_horizon). --from end skips what the log holds now.
--from OFFSET starts there. The partition's epoch goes up by one, so the new log's ranges
replace the old ones in the offset store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withOffsets(cmd, g, func(ctx context.Context, cfg config.Config, l aggregate.Log, offs *store.Offsets) error {
				if partition < 0 || partition >= cfg.Kafka.Partitions {
					return fmt.Errorf("--partition %d: the topic has partitions 0 to %d", partition, cfg.Kafka.Partitions-1)
				}
				r, err := aggregate.Reset(ctx, l, offs, partition, from)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "partition %d resumes at offset %d in epoch %d\n", partition, r.First, r.Epoch)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&partition, "partition", -1, "the partition to restart (required)")
	cmd.Flags().StringVar(&from, "from", "", "start, end or an offset (required)")
	_ = cmd.MarkFlagRequired("partition")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// withOffsets opens what the offsets commands need: the Kafka log (the
// embedded broker on the data dir, on a free port, when no brokers are
// configured) and the warehouse's offset store.
func withOffsets(cmd *cobra.Command, g *globals, run func(context.Context, config.Config, aggregate.Log, *store.Offsets) error) error {
	cfg, log, err := g.load(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	var access broker.Access
	if cfg.Kafka.Embedded() {
		b, err := broker.StartEmbedded(ctx, cfg.DataDir, 0, log)
		if err != nil {
			return fmt.Errorf("%w (is vigie serve running on this data dir? stop it first)", err)
		}
		defer b.Close()
		access = b.Access()
	} else {
		if access, err = broker.Connect(ctx, cfg.Kafka.Brokers, cfg.Kafka); err != nil {
			return err
		}
		defer access.Close()
	}
	wh, err := app.OpenWarehouse(cfg)
	if err != nil {
		return err
	}
	defer wh.Close()
	st, err := store.New(wh, cfg.Warehouse.Database)
	if err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	return run(ctx, cfg, aggregate.Log{Access: access, Topic: cfg.Kafka.Topic, ErrorLog: quiet}, st.Offsets(cfg.Kafka.Group, cfg.Kafka.Topic))
}
