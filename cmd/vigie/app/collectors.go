package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/segmentio/kafka-go"

	"github.com/vigie-fr/vigie/ingest/probe"
	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/ingest/tail"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/config"
)

// Collector is what a collector process runs: the prober or the tailer.
type Collector string

// The collectors that run as processes of their own.
const (
	Probe Collector = "probe"
	Tail  Collector = "tail"
)

// RunCollector runs vigie probe or vigie tail until ctx ends: it produces to
// kafka.brokers through the same path as the API (package publish) and
// serves /metrics and /healthz on http.listen. progress shows the reading
// of a log backlog (tail only).
func RunCollector(ctx context.Context, c Collector, cfg config.Config, log *slog.Logger, progress io.Writer) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Kafka.Embedded() {
		return fmt.Errorf("kafka.brokers: empty, but vigie %s runs on its own and produces to a Kafka cluster "+
			"(set kafka.brokers or --brokers to the brokers of the collectors, or run the probes inside vigie serve with probe.in_serve)", c)
	}
	switch {
	case c == Probe && len(cfg.Probe.Targets) == 0:
		return errors.New("probe.targets: empty, name the pages to probe (docs/collectors.md)")
	case c == Tail && len(cfg.Tail.Files) == 0:
		return errors.New("tail.files: empty, name the access logs to follow (docs/collectors.md)")
	case c == Tail && cfg.Ingest.HMACKey == "":
		// The users of the logs must get the pseudonyms the API gives them.
		return errors.New("ingest.hmac_key: empty, but vigie tail pseudonymises users and must share the collectors' key " +
			"(set VIGIE_INGEST_HMAC_KEY to the secret every collector has)")
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	access, err := broker.Connect(ctx, cfg.Kafka.Brokers, cfg.Kafka)
	if err != nil {
		return err
	}
	defer access.Close()
	w, pub, err := newPublisher(cfg, access, log, sourceOf(c))
	if err != nil {
		return err
	}
	defer w.Close()
	if err := checkKey(ctx, access, cfg.Kafka.Topic, pub.CheckKey); err != nil {
		return err
	}
	var run func(context.Context) error
	switch c {
	case Probe:
		p, err := probe.New(probe.Options{Config: cfg.Probe, Publisher: pub, ProduceTimeout: cfg.Ingest.ProduceTimeout, Log: log, Registerer: reg})
		if err != nil {
			return err
		}
		run = p.Run
	case Tail:
		t, err := tail.New(tail.Options{Config: cfg.Tail, DataDir: cfg.DataDir, Publisher: pub, MaxFuture: cfg.Ingest.MaxFuture,
			ProduceTimeout: cfg.Ingest.ProduceTimeout, Log: log, Registerer: reg, Progress: progress})
		if err != nil {
			return err
		}
		run = t.Run
	default:
		return fmt.Errorf("unknown collector %q", c)
	}
	// Only /metrics and /healthz: http.ops_listen when set (the address
	// Prometheus scrapes, no authentication), else http.listen.
	listen := cfg.HTTP.Listen
	if cfg.HTTP.OpsListen != "" {
		listen = cfg.HTTP.OpsListen
	}
	srv, err := serveMetrics(listen, reg, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	log.Info("vigie "+string(c)+" started", "brokers", cfg.Kafka.Brokers, "metrics", "http://"+srv.Addr+"/metrics")
	err = run(ctx)
	log.Info("vigie " + string(c) + " stopped")
	return err
}

func sourceOf(c Collector) string {
	if c == Tail {
		return tail.Source
	}
	return probe.Source
}

// newPublisher is the producer of a collector: broker.NewWriter (acks=all)
// and the pseudonym key of ingest.hmac_key or the data dir.
func newPublisher(cfg config.Config, access broker.Access, log *slog.Logger, source string) (*kafka.Writer, *publish.Publisher, error) {
	key, err := pseudonym.LoadOrCreateKey(cfg.DataDir, cfg.Ingest.HMACKey)
	if err != nil {
		return nil, nil, err
	}
	ps, err := pseudonym.New(key)
	if err != nil {
		return nil, nil, err
	}
	w := broker.NewWriter(access, cfg.Kafka.Topic, cfg.Kafka)
	w.ErrorLogger = broker.ErrorLogger(log.With("topic", cfg.Kafka.Topic))
	pub, err := publish.New(w, ps, source)
	if err != nil {
		w.Close()
		return nil, nil, err
	}
	return w, pub, nil
}

// checkKey refuses to produce with a pseudonymisation key other than the
// one of the topic's newest events (check is a Publisher's CheckKey).
func checkKey(ctx context.Context, access broker.Access, topic string, check func([][]kafka.Header) error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	newest, err := broker.NewestHeaders(ctx, access, topic)
	if err != nil {
		return fmt.Errorf("check the pseudonymisation key against %s: %w", topic, err)
	}
	return check(newest)
}

func serveMetrics(listen string, reg *prometheus.Registry, log *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", listen, err)
	}
	srv := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return srv, nil
}

// startProbes runs the configured probes inside this process (probe.in_serve),
// producing with the ingest writer; the returned channel closes once they stopped.
func (a *App) startProbes(ctx context.Context) (<-chan struct{}, error) {
	key, err := pseudonym.LoadOrCreateKey(a.cfg.DataDir, a.cfg.Ingest.HMACKey)
	if err != nil {
		return nil, err
	}
	ps, err := pseudonym.New(key)
	if err != nil {
		return nil, err
	}
	pub, err := publish.New(a.producer, ps, probe.Source)
	if err != nil {
		return nil, err
	}
	p, err := probe.New(probe.Options{Config: a.cfg.Probe, Publisher: pub, ProduceTimeout: a.cfg.Ingest.ProduceTimeout,
		Log: a.log.With("part", "probe"), Registerer: a.registerer, Now: a.probeNow})
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return done, nil
}
