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

// Routes, as each part registers them in app.Start, with the roles that
// may use them (internal/auth.Policy; docs/access.md). Every role serves
// commonRoutes; a role's help lists only the routes of its parts.
const (
	ingestRoutes = `
  POST /v1/events             events in (NDJSON or JSON array, gzip)             collector token`
	dashboardsRoutes = `
  GET  /                      the dashboard (and /static/…, open)                analyst, union, engineer
  GET  /status[/{r}]          the public status page (docs/dashboard.md)         open
  GET  /i18n/{lang}           the pages' words in French or English              open
  GET  /api/v1/availability   region × hour availability (JSON)                  analyst, union, engineer
  GET  /api/v1/incidents      incidents found in a range (JSON)                  analyst, union, engineer
  GET  /api/v1/range          the time range the warehouse holds                 analyst, union, engineer
  GET  /api/v1/report         the post-mortem report (?format=md|json|html|pdf, ?lang=fr|en)  analyst, union, engineer (logged)
  GET  /api/v1/annotations    a range's annotations (timeline, lessons)          analyst, union, engineer
  POST /api/v1/annotations    add, replace or delete one (docs/reports.md)       analyst, engineer (logged)
  GET  /api/v1/actions        a range's action items                             analyst, union, engineer
  POST /api/v1/actions        add, replace or delete one                         analyst, engineer (logged)
  GET  /api/v1/report/status  a report range's status, draft or final            analyst, union, engineer
  POST /api/v1/report/status  set it                                             analyst, engineer (logged)
  GET  /api/v1/regions[/{r}]  the map of France; one region's page (JSON)       analyst, union, engineer
  GET  /api/v1/drilldown      an incident's minutes, failing events, SQL        analyst, union, engineer (raw events: engineer)
  GET  /api/v1/compare        two periods side by side (JSON)                    analyst, union, engineer
  GET  /api/v1/status[/{r}]   public status by region (docs/api.md)              open
  POST /api/v1/sql            read-only SQL in the sandbox (docs/security.md)    engineer (each statement logged)
  GET  /api/v1/proof          proves to vigie query that this server owns the data dir   anyone
  GET  /login, POST /login    the login page; POST /logout; /auth/oidc/… with auth.oidc
  GET  /api/v1/me             who you are, and your session's CSRF token         anyone logged in
  GET  /api/v1/admin/users    the configured users and collectors, no secrets    admin
  GET  /api/v1/admin/config   the configuration in force, secrets hidden         admin
  GET  /api/v1/admin/subscriptions  report e-mails and their deliveries (docs/delivery.md)  admin
  POST /api/v1/admin/subscriptions  add or replace one; DELETE …/{name} removes it   admin
  POST /api/v1/admin/subscriptions/{name}/send  send its report now              engineer, admin`
	commonRoutes = `
  GET  /metrics               Prometheus metrics (docs/metrics.md)               engineer, admin (open on http.ops_listen)
  GET  /healthz, /readyz      liveness, readiness                                open
  /debug/pprof/               Go's profiler, only with http.pprof                engineer, admin (open on http.ops_listen)

Without any user, collector or OIDC issuer the server asks nobody and listens on loopback
only. Scripts send "Authorization: Bearer <token>"; on this machine, vigie query, report and
simulate use <data_dir>/sql.token (or http.sql_token). docs/access.md explains it all.`
)

// serveParts is what each long-running command runs and says about itself:
// a role's help names only the routes and the shutdown steps of its parts.
var serveParts = map[string]struct {
	parts       app.Parts
	short, long string
}{
	"serve": {app.All, "Run the single-machine service: ingest API, aggregator and dashboards", `Run every part of Vigie in one process: the collector behind POST /v1/events, the
aggregator (Kafka → warehouse, exactly once) and the dashboards. Without kafka.brokers it starts
the embedded Kafka-protocol broker, and with warehouse.driver: chdb it runs ClickHouse's engine
in-process; both keep their data in data_dir. With probe.in_serve it also runs the synthetic
probes of probe.targets (as vigie probe does; docs/collectors.md).

Runs until SIGTERM or Ctrl-C, then stops in order: refuse new requests, finish those in flight,
stop the probes, close the producer, flush the aggregator's windows to the warehouse, close the warehouse and the
broker.

HTTP on http.listen:` + ingestRoutes + dashboardsRoutes + commonRoutes},

	"collect": {app.Parts{Ingest: true}, "Run only the collector: POST /v1/events → Kafka", `Run only the ingest API, for a deployment where collectors, aggregators and dashboards scale
separately. Each batch is checked event by event, user ids are pseudonymised with
ingest.hmac_key, and the valid events are produced to kafka.topic; the client gets 200 only once
every in-sync replica has them. Needs kafka.brokers (a Kafka cluster: an embedded broker per
process would give each collector its own log) and ingest.hmac_key, the same secret on every
collector. Opens no warehouse.

Runs until SIGTERM or Ctrl-C, then stops in order: refuse new requests, finish those in flight
(each is answered only after Kafka has its events), close the producer.

HTTP on http.listen:` + ingestRoutes + commonRoutes},

	"aggregate": {app.Parts{Aggregate: true}, "Run only the aggregator: Kafka → warehouse, exactly once; scale out by partitions", `Run only the stream processor: a member of the consumer group kafka.group that reads
kafka.topic, folds the events into minute windows and writes them, with the raw events, to the
warehouse exactly once; messages it cannot read go to kafka.dlq_topic with the reason. Up to
kafka.partitions aggregators share the work, any more wait idle. Needs kafka.brokers. With
warehouse.migrate_on_start it applies the warehouse DDL first.

Runs until SIGTERM or Ctrl-C, then stops in order: flush the windows it holds to the warehouse
(bounded), leave the group (its partitions move to another member), close the dead-letter
producer and the warehouse.

HTTP on http.listen, for probes and Prometheus only:` + commonRoutes},

	"dashboards": {app.Parts{Dashboards: true}, "Run only the dashboards, their JSON API and the read-only SQL endpoint", `Run only the read side: the dashboard page, its JSON API, the lessons-learned report over HTTP
and the read-only SQL endpoint, all reading the warehouse. Needs no Kafka. Meant for a ClickHouse
server (warehouse.driver: clickhouse): with chdb it opens the engine of its own data dir, which
only one process may hold. Replicas must share http.sql_token.

Runs until SIGTERM or Ctrl-C, then stops in order: refuse new requests, finish those in flight,
close the warehouse.

HTTP on http.listen:` + dashboardsRoutes + commonRoutes},
}

func serveCmd(g *globals, name string) *cobra.Command {
	sp := serveParts[name]
	return &cobra.Command{
		Use:   name,
		Short: sp.short,
		Long:  sp.long,
		Args:  cobra.NoArgs,
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
