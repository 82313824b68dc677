package main

import (
	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
)

func probeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "probe",
		Short: "Probe the portals' pages on a schedule and send what a user would have seen",
		Long: `Fetch each page of probe.targets on its own jittered schedule (probe.interval), as a
new visitor would: DNS, connect, TLS, first byte and total times, and the outcome — ok, error
(status or text not as expected), timeout, rejected (429, 503 with Retry-After, or a quota text
such as "le nombre de sessions est limité") or queued (a waiting-room text). A target may log
in: GET the form, POST the credentials of a secret file, follow the redirects, expect a text of
the landing page.

Each probe is an event (kind probe, source probe) produced to kafka.brokers like the API's,
and Prometheus metrics in blackbox_exporter's shape (probe_success, probe_duration_seconds,
probe_http_duration_seconds{phase}) on http.listen/metrics. A slow target never delays the
others. Needs kafka.brokers. The same probes can run inside vigie serve (probe.in_serve).

Complete examples: docs/collectors.md. Runs until SIGTERM or Ctrl-C, then sends what it holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd)
			if err != nil {
				return err
			}
			return app.RunCollector(cmd.Context(), app.Probe, cfg, log, nil)
		},
	}
}

func tailCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tail",
		Short: "Follow nginx or Apache access logs and send each request as an event",
		Long: `Follow the access logs of tail.files (nginx or Apache; combined with the request time,
JSON, or a configured format) and turn each line into an event (source log): routes map hosts
and paths to a platform, service, region and kind; statuses and markers to an outcome; the user
field (remote_user, a cookie) is pseudonymised with ingest.hmac_key, the key every collector
shares. A backlog is read at full speed with a progress line, then the logs are read as they grow.

Rotation by rename and by copytruncate is followed; each file's position is checkpointed
(tail.checkpoint) once Kafka has its lines, so a restart neither loses nor re-sends a line.
Unreadable lines are skipped, counted (vigie_tail_lines_total{result="bad"}) and logged with
their file and line number. Needs kafka.brokers and ingest.hmac_key.

Complete examples for nginx and Apache: docs/collectors.md. Runs until SIGTERM or Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, log, err := g.load(cmd)
			if err != nil {
				return err
			}
			return app.RunCollector(cmd.Context(), app.Tail, cfg, log, cmd.ErrOrStderr())
		},
	}
}
