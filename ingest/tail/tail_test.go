package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie-fr/vigie/ingest/pseudonym"
	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// syncBuffer is a log destination the test reads while the tailer writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type rig struct {
	t       testing.TB
	dir     string
	logPath string
	brokers []string
	kafka   config.KafkaConfig
	cfg     config.TailConfig
	key     []byte
	logs    *syncBuffer
	// progress receives the backlog's progress lines.
	progress *syncBuffer
}

func newRig(t testing.TB) *rig {
	kc := brokertest.Config(2)
	b := brokertest.Start(t, kc)
	dir := t.TempDir()
	r := &rig{t: t, dir: dir, logPath: filepath.Join(dir, "access.log"), brokers: b.Addrs(), kafka: kc,
		key: []byte(strings.Repeat("k", 32)), logs: &syncBuffer{}, progress: &syncBuffer{}}
	r.cfg = config.DefaultTail()
	r.cfg.PollInterval = 20 * time.Millisecond
	r.cfg.RotateWait = 300 * time.Millisecond
	r.cfg.BatchEvents = 7 // several batches, so a stop falls between checkpoints
	r.cfg.Checkpoint = filepath.Join(dir, "state", "tail.checkpoint")
	r.cfg.Files = []config.TailFile{{
		Path: r.logPath, Format: "combined", User: "remote_user",
		Routes: []config.TailRoute{
			{Path: "^/api/", Platform: "ent", Service: "ent-32", Region: "32", Kind: "api"},
			{Host: "", Path: "^/", Platform: "ent", Service: "ent-32", Region: "32"},
		},
		Markers: []config.TailMarker{{Field: "path", Match: "^/quota", Outcome: "rejected"}, {Field: "path", Match: "^/file-attente", Outcome: "queued"}},
	}}
	c := config.Default()
	c.Tail = r.cfg
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a tailer until the returned stop is called.
func (r *rig) start() (stop func(), reg *prometheus.Registry) {
	w := broker.NewWriter(broker.Plain(r.brokers), r.kafka.Topic, r.kafka)
	ps, _ := pseudonym.New(r.key)
	pub, err := publish.New(w, ps, Source)
	if err != nil {
		r.t.Fatal(err)
	}
	reg = prometheus.NewRegistry()
	tl, err := New(Options{Config: r.cfg, Publisher: pub, MaxFuture: time.Hour, Registerer: reg,
		Log: slog.New(slog.NewTextHandler(r.logs, nil)), Progress: r.progress})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tl.Run(ctx); close(done) }()
	return func() { cancel(); <-done; w.Close() }, reg
}

// writer appends lines of a scripted morning to the log, as a server would.
type writer struct {
	t     testing.TB
	path  string
	n     int
	truth map[string]int // minute|outcome → lines
}

var statuses = []struct {
	path    string
	status  int
	outcome string
}{
	{"/", 200, "ok"}, {"/api/notes", 200, "ok"}, {"/login", 429, "rejected"}, {"/", 503, "rejected"},
	{"/quota.html", 200, "rejected"}, {"/file-attente", 200, "queued"}, {"/api/x", 504, "timeout"},
	{"/", 500, "error"}, {"/cdt", 302, "ok"}, {"/", 499, "timeout"},
}

func (w *writer) write(n int) {
	f, err := os.OpenFile(w.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	base := time.Date(2021, 4, 6, 8, 30, 0, 0, time.FixedZone("CEST", 7200))
	var b strings.Builder
	for range n {
		s := statuses[w.n%len(statuses)]
		at := base.Add(time.Duration(w.n) * 700 * time.Millisecond)
		fmt.Fprintf(&b, "192.0.2.%d - eleve%d [%s] \"GET %s?x=%d HTTP/1.1\" %d 512 \"-\" \"Mozilla/5.0\" 0.%03d\n",
			w.n%250, w.n%40, at.Format("02/Jan/2006:15:04:05 -0700"), s.path, w.n, s.status, w.n%1000)
		w.truth[at.UTC().Truncate(time.Minute).Format("15:04")+"|"+s.outcome]++
		w.n++
	}
	if _, err := f.WriteString(b.String()); err != nil {
		w.t.Fatal(err)
	}
}

// waitSent waits until the tailer's registry says it sent n events in all.
func waitSent(t *testing.T, regs []*prometheus.Registry, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sent := 0.0
		for _, reg := range regs {
			sent += sentOf(reg, path)
		}
		if int(sent) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the tailers did not send %d events in 30s", n)
}

func sentOf(reg *prometheus.Registry, path string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "vigie_tail_lines_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			file, result := "", ""
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "file":
					file = l.GetValue()
				case "result":
					result = l.GetValue()
				}
			}
			if file == path && result == "event" {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// counts reads the topic back and counts the distinct events by minute and
// outcome, as the aggregator does (a re-sent id counts once).
func counts(t *testing.T, r *rig) (map[string]int, []schemas.Event, int) {
	msgs := brokertest.ReadAll(t, r.brokers, r.kafka.Topic)
	seen := map[string]bool{}
	out := map[string]int{}
	var evs []schemas.Event
	for _, m := range msgs {
		var ev schemas.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil {
			t.Fatal(err)
		}
		if seen[ev.ID] {
			continue
		}
		seen[ev.ID] = true
		evs = append(evs, ev)
		out[ev.TS.UTC().Format("15:04")+"|"+ev.Outcome]++
	}
	return out, evs, len(msgs)
}

// checkCounts reads the topic back and compares it with what w wrote: each
// line once, in one message (clean stops neither lose nor re-send), the
// same counts by minute and outcome.
func checkCounts(t *testing.T, r *rig, w *writer) []schemas.Event {
	t.Helper()
	got, evs, msgs := counts(t, r)
	if len(evs) != w.n || msgs != w.n {
		t.Errorf("%d distinct events in %d messages for %d lines: a clean stop must neither lose nor re-send", len(evs), msgs, w.n)
	}
	for k, n := range w.truth {
		if got[k] != n {
			t.Errorf("%s: %d events, want %d", k, got[k], n)
		}
	}
	for k, n := range got {
		if w.truth[k] == 0 {
			t.Errorf("%s: %d events, none written", k, n)
		}
	}
	return evs
}

func TestTailCountsEveryLineOnceAcrossRotationsAndAStop(t *testing.T) {
	r := newRig(t)
	w := &writer{t: t, path: r.logPath, truth: map[string]int{}}
	w.write(40)
	stop, reg1 := r.start()
	waitSent(t, []*prometheus.Registry{reg1}, r.logPath, 40)
	w.write(25)

	// Rotation by rename, while the server still writes to the old file
	// for a moment (it reopens its log later), then to the new one.
	if err := os.Rename(r.logPath, r.logPath+".1"); err != nil {
		t.Fatal(err)
	}
	old := &writer{t: t, path: r.logPath + ".1", n: w.n, truth: w.truth}
	old.write(10)
	w.n = old.n
	w.write(30)
	waitSent(t, []*prometheus.Registry{reg1}, r.logPath, 105)

	// Stop between two writes, write while nothing reads, start again.
	stop()
	w.write(33)
	stop, reg2 := r.start()
	waitSent(t, []*prometheus.Registry{reg2}, r.logPath, 33)

	// copytruncate: copy, a few more lines reach the file, truncate only
	// after another moment (lines written between the copy and the
	// truncation are lost by logrotate itself: none here).
	w.write(12)
	time.Sleep(100 * time.Millisecond)
	data, err := os.ReadFile(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	w.write(0)
	if err := os.WriteFile(r.logPath+".2", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(r.logPath, 0); err != nil {
		t.Fatal(err)
	}
	w.write(21)
	waitSent(t, []*prometheus.Registry{reg2}, r.logPath, 33+12+21)
	// A bad line and an unrouted one in the middle.
	f, _ := os.OpenFile(r.logPath, os.O_APPEND|os.O_WRONLY, 0o644)
	f.WriteString("this is not an access log line\n")
	f.Close()
	w.write(5)
	waitSent(t, []*prometheus.Registry{reg2}, r.logPath, 33+12+21+5)
	stop()

	evs := checkCounts(t, r, w)
	if !strings.Contains(r.logs.String(), `path=`+r.logPath+` line=22 err="field remote_addr: no \" - \" after it (from byte 0)"`) {
		t.Errorf("the bad line is not reported with its file and line number (line 22 of the truncated file):\n%s", r.logs.String())
	}
	if got := testutil.ToFloat64(mustLines(reg2).WithLabelValues(r.logPath, "bad")); got != 1 {
		t.Errorf("vigie_tail_lines_total{result=bad} = %v, want 1", got)
	}
	ps, _ := pseudonym.New(r.key)
	for _, ev := range evs {
		if ev.Source != "log" || ev.Platform != "ent" || ev.Service != "ent-32" || ev.Region != "32" {
			t.Fatalf("event %+v does not carry the route", ev)
		}
		if len(ev.User) != pseudonym.Len || strings.HasPrefix(ev.User, "eleve") {
			t.Fatalf("user %q is not a pseudonym", ev.User)
		}
		if ev.Attrs["src"] == "" || !strings.HasSuffix(ev.Attrs["src"], ".0/24") {
			t.Fatalf("src %q is not a truncated address", ev.Attrs["src"])
		}
	}
	if evs[0].User != ps.Of("eleve0") {
		t.Errorf("first user %q, want the HMAC of eleve0 %q (the API's key and function)", evs[0].User, ps.Of("eleve0"))
	}
}

func mustLines(reg *prometheus.Registry) *prometheus.CounterVec {
	// The tailer registered its vector on reg; a second registration of the
	// same description returns it.
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vigie_tail_lines_total",
		Help: "Log lines read, by configured file and result: event (sent), bad (unreadable, logged with its line number), unrouted (no route takes it).",
	}, []string{"file", "result"})
	if err := reg.Register(v); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			return are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return v
}

// Rotations that happen while vigie tail is down: the renamed file is found
// again by its inode, the copytruncate copy by its first line, and each is
// read from where the checkpoint left it.
func TestTailResumesRotationsThatHappenedWhileItWasDown(t *testing.T) {
	r := newRig(t)
	w := &writer{t: t, path: r.logPath, truth: map[string]int{}}
	w.write(30)
	stop, reg := r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 30)
	stop()

	w.write(10) // unread, then renamed away
	if err := os.Rename(r.logPath, r.logPath+".1"); err != nil {
		t.Fatal(err)
	}
	w.write(15)
	stop, reg = r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 25)
	stop()

	w.write(6) // unread, then copied and truncated
	data, _ := os.ReadFile(r.logPath)
	os.WriteFile(r.logPath+".2", data, 0o644)
	os.Truncate(r.logPath, 0)
	w.write(4)
	stop, reg = r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 10)
	stop()

	checkCounts(t, r, w)
	if strings.Contains(r.logs.String(), "lost") {
		t.Errorf("the tailer says lines were lost:\n%s", r.logs.String())
	}
	// Each start found a backlog and showed it read to the end.
	if p := r.progress.String(); strings.Count(p, "tail: backlog 100.0% of") != 3 {
		t.Errorf("progress lines:\n%s\nwant three backlogs read to 100%%", p)
	}
}

// A crash after Kafka took a batch but before the checkpoint moved: the
// lines are read again and sent with the same ids, so that the aggregator
// (which drops re-sent ids) counts each line once.
func TestLinesReadAgainAfterACrashKeepTheirIDs(t *testing.T) {
	r := newRig(t)
	w := &writer{t: t, path: r.logPath, truth: map[string]int{}}
	w.write(30)
	stop, reg := r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 30)
	stop()
	saved, err := os.ReadFile(r.cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	w.write(20)
	stop, reg = r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 20)
	stop()
	// The crash: the checkpoint is as it was before those 20 lines.
	if err := os.WriteFile(r.cfg.Checkpoint, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	stop, reg = r.start()
	waitSent(t, []*prometheus.Registry{reg}, r.logPath, 20)
	stop()
	_, evs, msgs := counts(t, r)
	if len(evs) != 50 || msgs != 70 {
		t.Errorf("%d distinct events in %d messages, want 50 in 70 (20 lines sent twice under the same ids)", len(evs), msgs)
	}
}
