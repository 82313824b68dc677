// Package probe is Vigie's synthetic prober, in the spirit of Prometheus'
// blackbox_exporter: it fetches the configured pages of the ENT portals and
// of the CNED on a jittered schedule, times each phase (DNS, connect, TLS,
// first byte, total) with net/http/httptrace, says what a user would have
// seen (ok, error, timeout, rejected by a quota, queued in a waiting room),
// and sends each result as a schema v1 event (kind probe, source probe)
// through package publish, as well as Prometheus metrics in blackbox's shape.
// It does not judge availability over time: the aggregator and the incident
// rules do, from its events like from any other.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// Source is the source of every probe event.
const Source = "probe"

// MaxBody is how much of a page is read to look for its texts.
const MaxBody = 1 << 20

// Options wire a Prober.
type Options struct {
	// Config is a probe section that passed config.Validate.
	Config config.ProbeConfig
	// Publisher sends the events; nil runs probes for metrics only.
	Publisher *publish.Publisher
	// ProduceTimeout bounds one Publish (ingest.produce_timeout).
	ProduceTimeout time.Duration
	Log            *slog.Logger
	Registerer     prometheus.Registerer
	// Now stamps the events; nil is time.Now. The schedule always runs on
	// the real clock (a replay can compress event time, never waiting).
	Now func() time.Time
}

// Prober probes its targets. Run it once.
type Prober struct {
	opt     Options
	targets []*target
	log     *slog.Logger
	m       *metrics
	now     func() time.Time
	events  chan schemas.Event
}

// target is one configured target, ready to probe.
type target struct {
	config.ProbeTarget
	client   *http.Client
	username string
	password string
}

// New prepares the targets: an HTTP client each (no keep-alive, so every
// probe pays DNS, connect and TLS as a new visitor does), their CA files and
// login credentials read now, so that a missing file fails at start with
// the key that names it.
func New(opt Options) (*Prober, error) {
	if opt.Registerer == nil {
		return nil, errors.New("probe: no Prometheus registerer")
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	if opt.ProduceTimeout <= 0 {
		opt.ProduceTimeout = 10 * time.Second
	}
	p := &Prober{opt: opt, log: log, now: now, events: make(chan schemas.Event, 4096)}
	var errs []error
	for i := range opt.Config.Targets {
		t, err := newTarget(opt.Config.Effective(i), fmt.Sprintf("probe.targets[%d]", i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.targets = append(p.targets, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	m, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("probe: %w", err)
	}
	p.m = m
	return p, nil
}

func newTarget(tc config.ProbeTarget, key string) (*target, error) {
	tlsCfg := &tls.Config{InsecureSkipVerify: tc.TLSInsecure} //nolint:gosec // only when configured, for a test portal
	if tc.CAFile != "" {
		pem, err := os.ReadFile(tc.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", key, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: %s holds no PEM certificate", key, tc.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		TLSClientConfig:   tlsCfg,
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}
	t := &target{ProbeTarget: tc, client: &http.Client{Transport: tr}}
	if tc.Login.Enabled() {
		b, err := os.ReadFile(tc.Login.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("%s.login.credentials_file: %w", key, err)
		}
		line, _, _ := strings.Cut(strings.TrimRight(string(b), "\r\n"), "\n")
		user, pass, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !ok || user == "" || pass == "" {
			// Never show the file's content: it is a secret.
			return nil, fmt.Errorf("%s.login.credentials_file: %s does not start with a line username:password", key, tc.Login.CredentialsFile)
		}
		t.username, t.password = user, pass
	}
	return t, nil
}

// Run probes every target on its own schedule until ctx ends, then sends
// what is still pending (bounded by the produce timeout) and returns.
func (p *Prober) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, t := range p.targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.schedule(ctx, t)
		}()
	}
	done := make(chan struct{})
	go func() {
		p.publishLoop(ctx)
		close(done)
	}()
	wg.Wait()
	close(p.events)
	<-done
	return nil
}

// schedule runs one target's probes: the first at a random point of the
// first interval (so that a prober's targets, and several probers, do not
// all fire together), then every interval, each moved by up to ±5 % (at
// most a second) so that probers never lock step. A probe that overruns is
// followed by the next slot that has not passed: probes never pile up.
func (p *Prober) schedule(ctx context.Context, t *target) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), hash(t.Name)))
	next := time.Now().Add(time.Duration(rng.Int64N(int64(t.Interval))))
	for {
		if !sleepUntil(ctx, next) {
			return
		}
		res := p.Probe(ctx, t)
		if ctx.Err() != nil {
			return // a probe cut short by shutdown says nothing of the target
		}
		p.record(t, res)
		spread := min(t.Interval/20, time.Second)
		jitter := time.Duration(0)
		if spread > 0 {
			jitter = time.Duration(rng.Int64N(int64(2*spread))) - spread
		}
		next = next.Add(t.Interval)
		for now := time.Now(); !next.After(now); next = next.Add(t.Interval) {
		}
		next = next.Add(jitter)
	}
}

func sleepUntil(ctx context.Context, at time.Time) bool {
	timer := time.NewTimer(time.Until(at))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// record turns a result into metrics and an event.
func (p *Prober) record(t *target, r Result) {
	p.m.observe(t, r)
	if r.Outcome != "ok" {
		p.log.Info("probe failed", "target", t.Name, "service", t.Service, "region", t.Region, "outcome", r.Outcome, "status", r.Status, "err", r.Err)
	}
	if p.opt.Publisher == nil {
		return
	}
	ev := p.Event(t.ProbeTarget, r)
	select {
	case p.events <- ev:
	default:
		p.m.dropped.Inc()
		p.log.Warn("probe event dropped: the sending queue is full (Kafka unreachable for long)", "target", t.Name)
	}
}

// Event is the schema v1 event of one probe result.
func (p *Prober) Event(t config.ProbeTarget, r Result) schemas.Event {
	at := r.At
	lat := ms(r.Phases.Total)
	attrs := map[string]string{
		"target":     t.Name,
		"dns_ms":     fmtMS(r.Phases.DNS),
		"connect_ms": fmtMS(r.Phases.Connect),
		"tls_ms":     fmtMS(r.Phases.TLS),
		"ttfb_ms":    fmtMS(r.Phases.TTFB),
	}
	if p.opt.Config.Location != "" {
		attrs["from"] = p.opt.Config.Location
	}
	if r.Err != "" {
		attrs["error"] = truncate(r.Err, schemas.MaxAttrValLen)
	}
	// Unique per prober location, target and instant: a re-sent batch
	// carries the same ids and is counted once.
	id := fmt.Sprintf("probe-%016x-%d", hash(p.opt.Config.Location+"\x00"+t.Name), at.UnixMilli())
	return schemas.Event{
		ID: id, TS: at.UTC().Truncate(time.Millisecond), Platform: t.Platform, Service: t.Service, Region: t.Region,
		Kind: "probe", Outcome: r.Outcome, Status: r.Status, LatencyMS: &lat, Source: Source, Attrs: attrs,
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtMS(d time.Duration) string { return strconv.FormatFloat(ms(d), 'f', 3, 64) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// publishLoop sends the events in batches. A batch Kafka did not take is
// kept and sent again (same ids: counted once) before anything newer;
// beyond maxPending events the oldest are dropped and counted.
func (p *Prober) publishLoop(ctx context.Context) {
	const maxPending, maxBatch = 10000, 500
	var pending []schemas.Event
	send := func(c context.Context) {
		for len(pending) > 0 {
			n := min(len(pending), maxBatch)
			batch := append([]schemas.Event(nil), pending[:n]...)
			pctx, cancel := context.WithTimeout(c, p.opt.ProduceTimeout)
			err := p.opt.Publisher.Publish(pctx, batch, collectorName)
			cancel()
			if err != nil {
				p.m.publishErrors.Inc()
				p.log.Warn("probe events not sent, will retry", "events", n, "err", err)
				return
			}
			p.m.sent.Add(float64(n))
			pending = pending[n:]
		}
	}
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				// Shutdown: one last try, bounded, on a context of its own.
				fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.opt.ProduceTimeout)
				send(fctx)
				cancel()
				if len(pending) > 0 {
					p.m.dropped.Add(float64(len(pending)))
					p.log.Warn("probe events not sent before shutdown", "events", len(pending))
				}
				return
			}
			pending = append(pending, ev)
			// Take what else is waiting, then send it at once.
			for more := true; more && len(pending) < maxBatch; {
				select {
				case ev, ok := <-p.events:
					if !ok {
						more = false
						break
					}
					pending = append(pending, ev)
				default:
					more = false
				}
			}
			if over := len(pending) - maxPending; over > 0 {
				p.m.dropped.Add(float64(over))
				pending = pending[over:]
			}
			send(ctx)
		case <-retry.C:
			send(ctx)
		}
	}
}

// collectorName names this process's events for the aggregator's
// de-duplication (ids are unique per collector): the probe of this host.
var collectorName = func() string {
	h, _ := os.Hostname()
	return "vigie-probe@" + h
}()
