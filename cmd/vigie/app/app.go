// Package app wires Vigie's parts into one process: the embedded or remote
// Kafka, the warehouse, the ingest API, the aggregator and the dashboards,
// behind one HTTP server with /metrics, /healthz and /readyz. It owns the
// order of start-up and of shutdown (stop accepting → drain → flush →
// close the sinks), nothing else: each part lives in its own package.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/aggregate"
	"github.com/vigie-fr/vigie/dashboards/alert"
	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/notes"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/ingest/httpapi"
	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/internal/auth"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
	"github.com/vigie-fr/vigie/internal/warehouse/chserver"
)

// Parts says which components this process runs.
type Parts struct {
	Ingest, Aggregate, Dashboards bool
}

// All is the single-machine service: every part.
var All = Parts{Ingest: true, Aggregate: true, Dashboards: true}

// App is one running Vigie process.
type App struct {
	cfg   config.Config
	parts Parts
	log   *slog.Logger
	reg   *prometheus.Registry
	// registerer is where the parts register their metrics: reg itself (a
	// test wraps it to see each collector, docs/metrics.md is checked so).
	registerer prometheus.Registerer

	embedded *broker.Embedded
	kafka    broker.Access // the brokers, with kafka.tls and kafka.sasl
	wh       warehouse.Warehouse
	st       *store.Store
	sql      *sqlapi.Handler // the ad-hoc SQL endpoint, cancelled first at Shutdown
	producer *kafka.Writer
	dlq      *kafka.Writer
	agg      *aggregate.Aggregator
	live     *alert.Evaluator
	delivery *delivery.Service // report e-mails, started with delivery.enabled
	ln       net.Listener
	srv      *http.Server
	opsSrv   *http.Server // http.ops_listen: /metrics and pprof apart, nil when not configured
	guard    *auth.Guard

	// localToken is the data dir's token (auth.Options.LocalToken).
	localToken string

	health    *health
	gate      *ingestGate
	stopWatch context.CancelFunc
	aggDone   chan error
	stopAgg   context.CancelFunc
	once      sync.Once
	// The in-process probes (probe.in_serve): stop, then wait for them.
	stopProbes context.CancelFunc
	probesDone <-chan struct{}
	probeNow   func() time.Time // stamps the probes' events; nil is time.Now (tests compress time)
}

// New checks the configuration against the parts; it opens nothing.
func New(cfg config.Config, parts Parts, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if (parts.Ingest || parts.Aggregate) && parts != All && cfg.Kafka.Embedded() {
		// An embedded broker per process would give each its own log.
		return nil, errors.New("kafka.brokers: empty, but collect and aggregate run on their own against a Kafka cluster " +
			"(set kafka.brokers, or run everything in one process with vigie serve)")
	}
	if parts.Ingest && parts != All && cfg.Ingest.HMACKey == "" {
		// One key per collector would give one user several pseudonyms.
		return nil, errors.New("ingest.hmac_key: empty, but collectors running on their own must share one key " +
			"(set VIGIE_INGEST_HMAC_KEY to the same secret of at least 32 characters on every collector)")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &App{cfg: cfg, parts: parts, log: log, reg: reg, registerer: reg}, nil
}

// OpenWarehouse opens the configured transport: chDB in-process, or a
// ClickHouse server (which never loads libchdb.so).
func OpenWarehouse(cfg config.Config) (warehouse.Warehouse, error) {
	if cfg.Warehouse.Driver == "clickhouse" {
		// "default": the migrator creates Vigie's database and all SQL names it.
		db, err := chserver.Open(cfg.Warehouse.ClickHouse, "default")
		if err != nil {
			return nil, err
		}
		if cfg.Sandbox.ClickHouseUsername != "" {
			db.UseSandboxUser(cfg.Sandbox.ClickHouseUsername, cfg.Sandbox.ClickHousePassword)
		}
		return db, nil
	}
	if err := os.MkdirAll(cfg.ChDBPath(), 0o750); err != nil {
		return nil, fmt.Errorf("warehouse data dir: %w", err)
	}
	return chdb.Open(cfg.ChDBPath())
}

// MigrateOptions are the migrator's options from the configuration.
func MigrateOptions(cfg config.Config) store.MigrateOptions {
	return store.MigrateOptions{
		Database:  cfg.Warehouse.Database,
		Cluster:   cfg.Warehouse.ClickHouse.Cluster,
		Retention: cfg.Warehouse.Retention,
	}
}

// Start brings the parts up in dependency order and serves HTTP.
func (a *App) Start(ctx context.Context) error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", a.cfg.DataDir, err)
	}
	var err error
	// Serve first: /healthz answers (and /readyz says "starting") while the
	// broker starts and the warehouse migrates; routes are added as their
	// parts come up (ServeMux is safe for that).
	// Every route of mux is behind the guard (auth.Policy); the ops
	// routes go on a listener of their own when http.ops_listen says so.
	mux := http.NewServeMux()
	if a.health, err = newHealth(a.registerer); err != nil {
		return err
	}
	// A full disk corrupts what is written on it: refuse to start rather
	// than find out half-way.
	if problem := a.localDisk(); problem != nil {
		if p := problem(ctx); p != "" {
			return fmt.Errorf("min_free_mb: %s", p)
		}
	}
	if err := a.startGuard(mux); err != nil {
		return err
	}
	a.probes(mux)
	ops := mux
	if a.cfg.HTTP.OpsListen != "" {
		ops = http.NewServeMux()
		a.probes(ops)
	}
	ops.Handle("GET /metrics", promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.registerer}))
	if a.cfg.HTTP.Pprof {
		ops.HandleFunc("/debug/pprof/", pprof.Index)
		ops.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	if a.parts.Ingest {
		// Registered now: until ingest is wired it answers 503, never 404.
		a.gate = &ingestGate{h: a.health}
		a.health.set(partIngest, "starting")
		mux.Handle(httpapi.Path, a.gate)
	}
	if ops != mux {
		srv, ln, err := a.serve(a.cfg.HTTP.OpsListen, "http.ops_listen", ops)
		if err != nil {
			return err
		}
		a.opsSrv = srv
		a.log.Info("metrics and probes served apart, without authentication", "url", reach.LocalURL(ln.Addr().String()))
	}
	srv, ln, err := a.serve(a.cfg.HTTP.Listen, "http.listen", a.guard.Wrap(mux))
	if err != nil {
		return err
	}
	a.srv, a.ln = srv, ln
	needKafka := a.parts.Ingest || a.parts.Aggregate
	if needKafka && a.cfg.Kafka.Embedded() {
		b, err := broker.StartEmbedded(ctx, a.cfg.DataDir, a.cfg.Kafka.EmbeddedPort, a.log)
		if err != nil {
			return err
		}
		a.embedded, a.kafka = b, b.Access()
	} else if needKafka {
		if a.kafka, err = broker.Connect(ctx, a.cfg.Kafka.Brokers, a.cfg.Kafka); err != nil {
			return err
		}
	}
	if needKafka {
		if err := broker.EnsureTopics(ctx, a.kafka, a.cfg.Kafka, a.log); err != nil {
			return err
		}
	}
	if a.parts.Aggregate || a.parts.Dashboards {
		wh, err := OpenWarehouse(a.cfg)
		if err != nil {
			return err
		}
		a.wh = wh
		if a.st, err = store.New(wh, a.cfg.Warehouse.Database); err != nil {
			return err
		}
		if a.cfg.Warehouse.MigrateOnStart {
			applied, err := store.Migrate(ctx, wh, MigrateOptions(a.cfg))
			if err != nil {
				return err
			}
			if len(applied) > 0 {
				a.log.Info("warehouse migrated", "applied", applied)
			}
		}
	}
	if a.parts.Ingest {
		key, err := pseudonym.LoadOrCreateKey(a.cfg.DataDir, a.cfg.Ingest.HMACKey)
		if err != nil {
			return err
		}
		ps, err := pseudonym.New(key)
		if err != nil {
			return err
		}
		a.producer = broker.NewWriter(a.kafka, a.cfg.Kafka.Topic, a.cfg.Kafka)
		a.producer.ErrorLogger = broker.ErrorLogger(a.log.With("topic", a.cfg.Kafka.Topic))
		h, err := httpapi.New(a.cfg.Ingest, a.cfg.HTTP.MaxBodyBytes, a.producer, ps, a.log, a.registerer)
		if err != nil {
			return err
		}
		if err := checkKey(ctx, a.kafka, a.cfg.Kafka.Topic, h.CheckKey); err != nil {
			return err
		}
		a.gate.open(h)
		if a.cfg.Probe.InServe {
			pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			a.stopProbes = cancel
			if a.probesDone, err = a.startProbes(pctx); err != nil {
				return err
			}
		}
	}
	if a.parts.Dashboards {
		nonce, err := reach.WriteNonce(a.cfg.DataDir)
		if err != nil {
			return err
		}
		mux.Handle(reach.ProofPath, reach.ProofHandler(nonce, a.URL()))
		a.sql = sqlapi.NewHandler(a.wh, a.localToken, SQLLimits(a.cfg), a.log)
		mux.Handle(sqlapi.Path, a.sql)
		web.New(a.st, a.cfg.Incidents, a.log).WithCatalogue(a.cfg.Catalogue).Register(mux)
		notes.New(a.st, a.log).Register(mux)
		if a.cfg.Alerts.Enabled {
			live, err := alert.New(a.st, alert.Options{Incidents: a.cfg.Incidents, Alerts: a.cfg.Alerts, Log: a.log, Registerer: a.registerer})
			if err != nil {
				return err
			}
			if err := live.Start(ctx); err != nil {
				return err
			}
			a.live = live
		}
		// The subscriptions' API is there whether or not this process
		// sends (administrators prepare them; delivery.enabled picks the
		// one replica that sends).
		dl, err := delivery.New(a.st, delivery.Options{Delivery: a.cfg.Delivery, Incidents: a.cfg.Incidents, Catalogue: a.cfg.Catalogue, Log: a.log, Registerer: a.registerer})
		if err != nil {
			return err
		}
		delivery.NewAPI(dl).Register(mux)
		if a.cfg.Delivery.Enabled {
			if err := dl.Start(ctx); err != nil {
				return err
			}
			a.delivery = dl
		}
	}
	if a.parts.Aggregate {
		a.dlq = broker.NewWriter(a.kafka, a.cfg.Kafka.DLQTopic, a.cfg.Kafka)
		a.dlq.ErrorLogger = broker.ErrorLogger(a.log.With("topic", a.cfg.Kafka.DLQTopic))
		agg, err := aggregate.New(aggregate.Options{
			Access: a.kafka, Kafka: a.cfg.Kafka, Config: a.cfg.Aggregate,
			Database: a.cfg.Warehouse.Database, Warehouse: a.wh, DLQ: a.dlq,
			Log: a.log, Registerer: a.registerer,
		})
		if err != nil {
			return err
		}
		a.agg = agg
		actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		a.stopAgg, a.aggDone = cancel, make(chan error, 1)
		go func() { a.aggDone <- agg.Run(actx) }()
	}
	a.watchHealth()
	a.health.setPhase("running")
	a.log.Info("vigie started", "url", a.URL(), "brokers", a.kafka.Brokers(), "kafka_tls", a.cfg.Kafka.TLS.Enabled, "kafka_sasl", a.cfg.Kafka.SASL.Mechanism, "warehouse", a.cfg.Warehouse.Driver)
	return nil
}

// localDisk is the free-space check of data_dir when this process writes
// there (the embedded broker's log, chDB's data), nil otherwise.
func (a *App) localDisk() func(context.Context) string {
	usesDisk := ((a.parts.Ingest || a.parts.Aggregate) && a.cfg.Kafka.Embedded()) ||
		((a.parts.Aggregate || a.parts.Dashboards) && a.cfg.Warehouse.Driver == "chdb")
	if !usesDisk || a.cfg.MinFreeMB == 0 {
		return nil
	}
	return diskCheck(a.cfg.DataDir, uint64(a.cfg.MinFreeMB)<<20)
}

// watchHealth checks every part this process runs until Shutdown.
func (a *App) watchHealth() {
	cs := checks{}
	if a.parts.Ingest || a.parts.Aggregate {
		cs[partBroker] = brokerCheck(a.kafka, a.cfg.Kafka.Topic)
	}
	if a.st != nil {
		cs[partWarehouse] = func(ctx context.Context) string {
			if err := a.st.Ping(ctx); err != nil {
				return err.Error()
			}
			return ""
		}
	}
	if disk := a.localDisk(); disk != nil {
		cs[partDisk] = disk
	}
	if a.agg != nil {
		cs[partAggregator] = aggregatorCheck(a.agg.Stopped)
	}
	ctx, cancel := context.WithCancel(context.Background())
	for name, check := range cs { // a first verdict before "running"
		cctx, c := context.WithTimeout(ctx, healthEvery)
		a.health.set(name, check(cctx))
		c()
	}
	done := make(chan struct{})
	go func() { defer close(done); a.health.watch(ctx, cs) }()
	a.stopWatch = func() { cancel(); <-done }
}

// SQLLimits are the bounds of engineers' ad-hoc SQL from configuration
// (warehouse.query and sandbox), the same for the server's endpoint and a
// `vigie query` that opens the warehouse itself.
func SQLLimits(cfg config.Config) warehouse.Limits {
	return warehouse.Limits{
		Timeout: cfg.Warehouse.Query.Timeout, MaxRows: cfg.Warehouse.Query.MaxRows,
		Database: cfg.Warehouse.Database, MaxMemory: cfg.Sandbox.MaxMemoryBytes,
		MaxResultBytes: cfg.Sandbox.MaxResultBytes, MaxThreads: cfg.Sandbox.MaxThreads,
		Sessions: cfg.Sandbox.Sessions,
	}
}

// startGuard builds the authentication in front of mux and, with the
// dashboards, mounts its own routes (login, logout, /api/v1/me, the admin
// listing, OIDC) and the admins' view of the configuration, secrets hidden.
func (a *App) startGuard(mux *http.ServeMux) error {
	if a.parts.Dashboards || a.parts.Ingest {
		tok, err := sqlapi.LoadOrCreateToken(a.cfg.DataDir, a.cfg.HTTP.SQLToken)
		if err != nil {
			return err
		}
		a.localToken = tok
	}
	open := a.cfg.Open()
	if open {
		// config.Validate refused this anywhere but on loopback.
		a.log.Warn("no authentication: nobody is configured (auth.users, ingest.collectors, auth.oidc), "+
			"every request is served with every role; this is for one machine only (docs/access.md)", "listen", a.cfg.HTTP.Listen)
	}
	g, err := auth.New(auth.Options{Auth: a.cfg.Auth, Ingest: a.cfg.Ingest, Open: open, LocalToken: a.localToken, Log: a.log, Registerer: a.registerer})
	if err != nil {
		return err
	}
	a.guard = g
	if a.parts.Dashboards { // the login pages are for the dashboards' users
		g.Routes(mux)
		mux.HandleFunc("GET /api/v1/admin/config", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_ = json.NewEncoder(w).Encode(a.cfg.Redacted())
		})
	}
	return nil
}

// probes mounts /healthz and /readyz, which stay open to everyone.
func (a *App) probes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", a.health)
}

// serve listens on addr (named by its configuration key in errors) and
// serves h in the background.
func (a *App) serve(addr, key string, h http.Handler) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", key, addr, err)
	}
	srv := &http.Server{
		Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: a.cfg.HTTP.ReadTimeout, WriteTimeout: a.cfg.HTTP.WriteTimeout,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "listen", addr, "err", err)
		}
	}()
	return srv, ln, nil
}

// URL is where the HTTP server answers.
func (a *App) URL() string {
	if a.ln == nil {
		return ""
	}
	return reach.LocalURL(a.ln.Addr().String())
}

// Warehouse is the open warehouse (nil when this process has no use for it).
func (a *App) Warehouse() warehouse.Warehouse { return a.wh }

// Store is the store of the configured database on Warehouse (nil with it).
func (a *App) Store() *store.Store { return a.st }

// Registry is the process's metrics registry.
func (a *App) Registry() *prometheus.Registry { return a.reg }

// WaitCaughtUp blocks until the aggregator holds every message of the topic.
func (a *App) WaitCaughtUp(ctx context.Context) error {
	if a.agg == nil {
		return errors.New("this process runs no aggregator")
	}
	return a.agg.WaitCaughtUp(ctx, 200*time.Millisecond)
}

// Shutdown stops in reverse order: refuse new work, let in-flight requests
// finish, close the producer, let the aggregator flush, then close the
// warehouse and the broker. Bounded by ctx.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	a.once.Do(func() {
		if a.health != nil {
			a.health.setPhase("stopping")
		}
		if a.stopWatch != nil {
			a.stopWatch()
		}
		if a.sql != nil {
			// Ad-hoc statements are cancelled, not waited for: they hold no
			// data of ours, and one may run for warehouse.query.timeout.
			a.sql.Close()
		}
		for _, srv := range []*http.Server{a.srv, a.opsSrv} {
			if srv != nil {
				errs = append(errs, srv.Shutdown(ctx))
			}
		}
		if a.stopProbes != nil {
			a.stopProbes()
			if a.probesDone != nil {
				<-a.probesDone // they send what they hold before the producer closes
			}
		}
		if a.live != nil {
			errs = append(errs, a.live.Shutdown(ctx))
		}
		if a.delivery != nil { // a send in flight finishes and is recorded
			errs = append(errs, a.delivery.Shutdown(ctx))
		}
		if a.producer != nil {
			errs = append(errs, a.producer.Close())
		}
		if a.stopAgg != nil {
			a.stopAgg()
			select {
			case err := <-a.aggDone:
				errs = append(errs, err)
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("aggregator did not stop in time: %w", ctx.Err()))
			}
		}
		if a.dlq != nil {
			errs = append(errs, a.dlq.Close())
		}
		a.kafka.Close() // the secured transport's idle connections, once its writers closed
		if a.wh != nil {
			errs = append(errs, a.wh.Close())
		}
		if a.embedded != nil {
			a.embedded.Close()
		}
		a.log.Info("vigie stopped")
	})
	return errors.Join(errs...)
}
