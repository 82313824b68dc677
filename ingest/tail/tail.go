// Package tail follows web servers' access logs (nginx, Apache; combined,
// JSON or a configured format) and turns each request into a schema v1
// event (source log): routes map hosts and paths to a platform, service,
// region and kind; statuses and markers map to an outcome; the user field
// is pseudonymised with the same keyed HMAC as the API (package publish).
//
// It survives rotation by rename (a renamed file is read to its end) and
// by copytruncate (the copy is read from where the original was left),
// and keeps each file's position in a checkpoint written only after Kafka
// acknowledged the lines before it: a restart neither loses nor re-sends a
// line, and the lines sent between the last checkpoint and a crash are
// sent again with the same ids (derived from the file's identity and the
// line's offset), which the aggregator counts once. Unreadable lines are
// counted and sampled in the log with their file and line number.
//
// It does not parse lines (package logline does) and does not read
// compressed rotations (.gz…): a file compressed before it was read to its
// end loses its last lines, which the log says.
package tail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/ingest/publish"
	"github.com/vigie-fr/vigie/ingest/tail/logline"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/progress"
	"github.com/vigie-fr/vigie/schemas"
)

// Source is the source of every event read from a log.
const Source = "log"

// CheckpointFile is the checkpoint's name in the data dir by default.
const CheckpointFile = "tail.checkpoint"

// fingerprintMax bounds the first line hashed to know a file again.
const fingerprintMax = 4096

// Options wire a Tailer.
type Options struct {
	// Config is a tail section that passed config.Validate.
	Config config.TailConfig
	// DataDir holds the checkpoint when tail.checkpoint is empty.
	DataDir   string
	Publisher *publish.Publisher
	// MaxFuture is ingest.max_future: lines dated further ahead are refused as the API would.
	MaxFuture      time.Duration
	ProduceTimeout time.Duration
	Log            *slog.Logger
	Registerer     prometheus.Registerer
	// Progress shows the reading of a backlog; nil shows nothing.
	Progress io.Writer
}

// Tailer follows the configured logs. Run it once.
type Tailer struct {
	opt   Options
	log   *slog.Logger
	m     *metrics
	ckpt  *checkpoints
	files []*follower
	// For the progress display: bytes behind at start, bytes read since.
	backlog, read atomic.Int64
}

// New compiles the formats, routes and markers and reads the checkpoint.
func New(opt Options) (*Tailer, error) {
	if opt.Publisher == nil {
		return nil, errors.New("tail: no publisher")
	}
	if opt.Registerer == nil {
		return nil, errors.New("tail: no Prometheus registerer")
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.ProduceTimeout <= 0 {
		opt.ProduceTimeout = 10 * time.Second
	}
	cp := opt.Config.Checkpoint
	if cp == "" {
		cp = filepath.Join(opt.DataDir, CheckpointFile)
	}
	ckpt, err := loadCheckpoints(cp)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opt.Registerer)
	if err != nil {
		return nil, fmt.Errorf("tail: %w", err)
	}
	t := &Tailer{opt: opt, log: opt.Log, m: m, ckpt: ckpt}
	for i, fc := range opt.Config.Files {
		r, err := newRules(fc, opt.Config)
		if err != nil {
			return nil, fmt.Errorf("tail.files[%d]: %w", i, err) // config.Validate checked it: not expected
		}
		t.files = append(t.files, &follower{t: t, cfg: fc, rules: r, log: opt.Log.With("file", fc.Path)})
	}
	return t, nil
}

// Run follows every log until ctx ends.
func (t *Tailer) Run(ctx context.Context) error {
	for _, f := range t.files {
		f.restore()
	}
	stop := func() {}
	if t.backlog.Load() > 0 && t.opt.Progress != nil {
		began := time.Now()
		stop = progress.Start(t.opt.Progress, false, func() string {
			back, read := t.backlog.Load(), t.read.Load()
			rate := float64(read) / max(time.Since(began).Seconds(), 1e-3) / 1e6
			return fmt.Sprintf("tail: backlog %5.1f%% of %.1f MB read, %.1f MB/s", 100*float64(min(read, back))/float64(back), float64(back)/1e6, rate)
		})
	}
	var caughtUp sync.WaitGroup
	caughtUp.Add(len(t.files))
	shown := make(chan struct{})
	go func() { caughtUp.Wait(); stop(); close(shown) }()
	defer func() { <-shown }() // the last progress line is written before Run returns
	var wg sync.WaitGroup
	for _, f := range t.files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(ctx, caughtUp.Done)
		}()
	}
	wg.Wait()
	return nil
}

// rules turn a parsed line into an event.
type rules struct {
	format   *logline.Format
	user     string
	routes   []route
	markers  []marker
	outcomes map[int]string
}

type route struct {
	config.TailRoute
	path *regexp.Regexp
}

type marker struct {
	field, outcome string
	re             *regexp.Regexp
}

func newRules(fc config.TailFile, tc config.TailConfig) (*rules, error) {
	f, err := logline.Compile(fc.Format)
	if err != nil {
		return nil, err
	}
	r := &rules{format: f, user: fc.User, outcomes: map[int]string{}}
	for _, rc := range fc.Routes {
		re, err := regexp.Compile(rc.Path)
		if err != nil {
			return nil, err
		}
		if rc.Kind == "" {
			rc.Kind = "page"
		}
		rc.Host = strings.ToLower(rc.Host)
		r.routes = append(r.routes, route{rc, re})
	}
	for _, mc := range fc.Markers {
		re, err := regexp.Compile(mc.Match)
		if err != nil {
			return nil, err
		}
		r.markers = append(r.markers, marker{mc.Field, mc.Outcome, re})
	}
	for outcome, list := range map[string][]int{"rejected": tc.RejectedStatus, "queued": tc.QueuedStatus, "timeout": tc.TimeoutStatus} {
		for _, s := range list {
			r.outcomes[s] = outcome
		}
	}
	return r, nil
}

// route returns the first route taking the line.
func (r *rules) route(l *logline.Line) (route, bool) {
	for _, rt := range r.routes {
		if rt.Host != "" {
			if ok, _ := path.Match(rt.Host, l.Host); !ok {
				continue
			}
		}
		if rt.path.MatchString(l.Path) {
			return rt, true
		}
	}
	return route{}, false
}

// Outcome is what the line says a user saw: a marker first (the 2021 quota
// page was a 200), then the status lists, then any other status from 500 is
// an error and below it ok.
func (r *rules) Outcome(l *logline.Line) string {
	for _, m := range r.markers {
		v := l.Path
		if m.field != "path" {
			v = l.Field(m.field)
		}
		if m.re.MatchString(v) {
			return m.outcome
		}
	}
	if o, ok := r.outcomes[l.Status]; ok {
		return o
	}
	if l.Status >= 500 {
		return "error"
	}
	return "ok"
}

// event builds the line's event; ok is false when no route takes it.
func (r *rules) event(l *logline.Line, id string) (schemas.Event, bool) {
	rt, ok := r.route(l)
	if !ok {
		return schemas.Event{}, false
	}
	lat := l.LatencyMS
	ev := schemas.Event{
		ID: id, TS: l.Time.Truncate(time.Millisecond), Platform: rt.Platform, Service: rt.Service, Region: rt.Region,
		Kind: rt.Kind, Outcome: r.Outcome(l), Status: l.Status, LatencyMS: &lat, Source: Source,
	}
	if r.user != "" {
		ev.User = l.Field(r.user)
	}
	attrs := map[string]string{}
	// The path is not kept: it can hold names and ids. The address is cut
	// to its network by package publish.
	if ua := l.Fields["http_user_agent"]; ua != "" {
		attrs["ua"] = truncate(ua, schemas.MaxAttrValLen)
	}
	if src := l.Fields["remote_addr"]; src != "" {
		attrs["src"] = truncate(src, schemas.MaxAttrValLen)
	}
	if len(attrs) > 0 {
		ev.Attrs = attrs
	}
	return ev, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

// file is one open log file.
type file struct {
	f    *os.File
	pos  Position
	name string // the name it was opened under, for messages
	// rotated is when another file took its name (zero while current).
	rotated    time.Time
	lastGrowth time.Time
	skipping   bool // inside a line longer than logline.MaxLine
}

// follower follows one configured path.
type follower struct {
	t     *Tailer
	cfg   config.TailFile
	rules *rules
	log   *slog.Logger
	cur   *file
	old   []*file // renamed or copied files still being read, oldest first
	bad   int64   // unreadable lines seen, for sampling the log
}

// identity reads a file's device, inode and first-line fingerprint; ready
// is false while the file has no complete first line yet.
func identity(f *os.File) (dev, ino uint64, fp string, size int64, ready bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, "", 0, false, err
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		dev, ino = uint64(sys.Dev), sys.Ino
	}
	buf := make([]byte, fingerprintMax)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, "", 0, false, err
	}
	buf = buf[:n]
	if i := slices.Index(buf, '\n'); i >= 0 {
		buf = buf[:i+1]
	} else if n < fingerprintMax {
		return dev, ino, "", st.Size(), false, nil
	}
	sum := sha256.Sum256(buf)
	return dev, ino, hex.EncodeToString(sum[:8]), st.Size(), true, nil
}

// restore reopens what the checkpoint says was being read: the file at the
// path, a renamed file by its inode, a copytruncate copy by its first line.
func (fl *follower) restore() {
	var curPos *Position
	for _, p := range fl.t.ckpt.of(fl.cfg.Path) {
		if f, ok := fl.find(p); ok {
			if f.name == fl.cfg.Path {
				curPos = &p
				fl.cur = f
				continue
			}
			f.rotated = time.Now()
			fl.old = append(fl.old, f)
			continue
		}
		fl.log.Warn("a log file of the checkpoint is gone (removed or compressed before it was read to its end): its last lines are lost",
			"path", p.Path, "inode", p.Ino, "offset", p.Offset, "line", p.Line)
	}
	for _, f := range append(slices.Clone(fl.old), fl.cur) {
		if f != nil {
			if st, err := f.f.Stat(); err == nil && st.Size() > f.pos.Offset {
				fl.t.backlog.Add(st.Size() - f.pos.Offset)
			}
		}
	}
	if curPos == nil {
		fl.openCurrent()
		if fl.cur != nil {
			if st, err := fl.cur.f.Stat(); err == nil {
				fl.t.backlog.Add(st.Size())
			}
		}
	}
}

// find locates the file of a saved position: at the configured path, then
// among its siblings (access.log.1, access.log-20210406…).
func (fl *follower) find(p Position) (*file, bool) {
	candidates := []string{fl.cfg.Path}
	dir, base := filepath.Split(fl.cfg.Path)
	if entries, err := os.ReadDir(filepath.Clean(dir + ".")); err == nil {
		for _, e := range entries {
			n := e.Name()
			if n != base && strings.HasPrefix(n, base) && !compressed(n) {
				candidates = append(candidates, filepath.Join(dir, n))
			}
		}
	}
	// By inode first (rename keeps it), then by first line (a copy).
	for _, byInode := range []bool{true, false} {
		for _, c := range candidates {
			f, err := os.Open(c)
			if err != nil {
				continue
			}
			dev, ino, fp, size, ready, err := identity(f)
			match := err == nil && ready && fp == p.Fingerprint && size >= p.Offset
			if byInode {
				match = match && dev == p.Dev && ino == p.Ino
			}
			if match {
				return &file{f: f, pos: p, name: c}, true
			}
			f.Close()
		}
	}
	return nil, false
}

func compressed(name string) bool {
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// openCurrent opens the configured path from its start, once it has a
// first line.
func (fl *follower) openCurrent() {
	f, err := os.Open(fl.cfg.Path)
	if err != nil {
		return
	}
	dev, ino, fp, _, ready, err := identity(f)
	if err != nil || !ready {
		f.Close()
		return
	}
	fl.cur = &file{f: f, name: fl.cfg.Path, lastGrowth: time.Now(),
		pos: Position{Path: fl.cfg.Path, Dev: dev, Ino: ino, Fingerprint: fp}}
}

// run reads until ctx ends; caughtUp is called once, when every file was
// first read to its end.
func (fl *follower) run(ctx context.Context, caughtUp func()) {
	defer func() {
		for _, f := range append(fl.old, fl.cur) {
			if f != nil {
				f.f.Close()
			}
		}
	}()
	var once sync.Once
	defer once.Do(caughtUp)
	for ctx.Err() == nil {
		fl.checkRotation()
		progressed := false
		for _, f := range append(slices.Clone(fl.old), fl.cur) {
			if f == nil {
				continue
			}
			n, err := fl.readBatch(ctx, f)
			if err != nil {
				return // ctx ended while Kafka was not taking the batch
			}
			progressed = progressed || n
		}
		fl.retire()
		if !progressed {
			once.Do(caughtUp)
			select {
			case <-ctx.Done():
			case <-time.After(fl.t.opt.Config.PollInterval):
			}
		}
	}
}

// checkRotation notices a new file at the path (the current one was
// renamed) and a truncation of the current one (copytruncate).
func (fl *follower) checkRotation() {
	if fl.cur == nil {
		fl.openCurrent()
		return
	}
	st, err := os.Stat(fl.cfg.Path)
	if err != nil {
		return // renamed, its successor not created yet: keep reading it
	}
	sys, _ := st.Sys().(*syscall.Stat_t)
	if sys != nil && (uint64(sys.Dev) != fl.cur.pos.Dev || sys.Ino != fl.cur.pos.Ino) {
		fl.log.Info("log rotated by rename: reading the old file to its end", "old_inode", fl.cur.pos.Ino, "new_inode", sys.Ino)
		fl.t.m.rotations.WithLabelValues(fl.cfg.Path, "rename").Inc()
		fl.cur.rotated = time.Now()
		fl.old = append(fl.old, fl.cur)
		fl.cur = nil
		fl.openCurrent()
		return
	}
	_, _, fp, size, ready, err := identity(fl.cur.f)
	if err != nil || (size >= fl.cur.pos.Offset && ready && fp == fl.cur.pos.Fingerprint) {
		return
	}
	// Truncated (and maybe written again): the lines between our position
	// and the truncation are in the copy, if logrotate made one.
	fl.t.m.rotations.WithLabelValues(fl.cfg.Path, "truncate").Inc()
	old := fl.cur.pos
	fl.cur.f.Close()
	fl.cur = nil
	if c, ok := fl.find(old); ok {
		fl.log.Info("log truncated (copytruncate): reading the rest from its copy", "copy", c.name, "offset", old.Offset)
		c.rotated = time.Now()
		fl.old = append(fl.old, c)
	} else {
		fl.log.Warn("log truncated and no copy of it found: lines written after the last read may be lost", "offset", old.Offset, "line", old.Line)
	}
	fl.openCurrent()
	fl.save()
}

// retire closes rotated files read to their end that have not grown for
// rotate_wait since they were replaced.
func (fl *follower) retire() {
	keep := fl.old[:0]
	changed := false
	for _, f := range fl.old {
		st, err := f.f.Stat()
		atEnd := err != nil || st.Size() <= f.pos.Offset
		quiet := time.Since(f.rotated) >= fl.t.opt.Config.RotateWait && time.Since(f.lastGrowth) >= fl.t.opt.Config.RotateWait
		if atEnd && quiet {
			f.f.Close()
			changed = true
			continue
		}
		keep = append(keep, f)
	}
	fl.old = keep
	if changed {
		fl.save()
	}
}

func (fl *follower) save() {
	var ps []Position
	for _, f := range append(slices.Clone(fl.old), fl.cur) {
		if f != nil {
			ps = append(ps, f.pos)
		}
	}
	if err := fl.t.ckpt.save(fl.cfg.Path, ps); err != nil {
		// Not fatal: the next save may work; a restart re-sends (same ids).
		fl.log.Error("tail checkpoint not written", "err", err)
	}
}

// readBatch reads complete lines of f up to batch_events events, sends the
// events and then checkpoints past them. It reports whether it read
// anything; an error only when ctx ended before Kafka took the batch.
func (fl *follower) readBatch(ctx context.Context, f *file) (bool, error) {
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	n, err := f.f.ReadAt(buf, f.pos.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		fl.log.Error("log not readable", "path", f.name, "err", err)
		return false, nil
	}
	buf = buf[:n]
	pos := f.pos
	var events []schemas.Event
	now := time.Now()
	for len(events) < fl.t.opt.Config.BatchEvents {
		i := slices.Index(buf, '\n')
		if i < 0 {
			if len(buf) > logline.MaxLine || (f.skipping && len(buf) > 0) {
				// A line too long to hold: skip it (reported once).
				if !f.skipping {
					pos.Line++
					fl.reportBad(f, pos.Line, buf[:120], &logline.Error{Msg: fmt.Sprintf("longer than %d bytes", logline.MaxLine)})
				}
				f.skipping = true
				pos.Offset += int64(len(buf))
			}
			break
		}
		raw := buf[:i]
		start := pos.Offset
		pos.Offset += int64(i + 1)
		buf = buf[i+1:]
		if f.skipping {
			f.skipping = false // the end of the over-long line
			continue
		}
		pos.Line++
		raw = []byte(strings.TrimSuffix(string(raw), "\r"))
		if len(strings.TrimSpace(string(raw))) == 0 {
			continue
		}
		l, perr := fl.rules.format.Parse(raw)
		if perr != nil {
			fl.reportBad(f, pos.Line, raw, perr)
			continue
		}
		ev, ok := fl.rules.event(&l, fmt.Sprintf("log-%016x-%d", fileID(pos), start))
		if !ok {
			fl.t.m.lines.WithLabelValues(fl.cfg.Path, "unrouted").Inc()
			continue
		}
		check := ev
		if check.User != "" {
			check.User = "u" // the user is checked once pseudonymised, whatever its length
		}
		if cerr := publish.Check(check, fl.t.opt.MaxFuture, now); cerr != nil {
			fl.reportBad(f, pos.Line, raw, cerr)
			continue
		}
		events = append(events, ev)
	}
	if pos.Offset == f.pos.Offset {
		return false, nil
	}
	if len(events) > 0 {
		if err := fl.send(ctx, events); err != nil {
			return false, err
		}
	}
	fl.t.read.Add(pos.Offset - f.pos.Offset)
	fl.t.m.lines.WithLabelValues(fl.cfg.Path, "event").Add(float64(len(events)))
	f.pos = pos
	f.lastGrowth = time.Now()
	fl.save()
	return true, nil
}

// fileID is the identity a line's event id is derived from.
func fileID(p Position) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%s", p.Dev, p.Ino, p.Fingerprint)
	return h.Sum64()
}

// send produces the batch, retrying with backoff until Kafka takes it or
// ctx ends: nothing is checkpointed past lines Kafka does not have.
func (fl *follower) send(ctx context.Context, events []schemas.Event) error {
	wait := 500 * time.Millisecond
	for {
		// Publish prepares events in place (pseudonyms): resend the originals.
		batch := slices.Clone(events)
		for i := range batch {
			if batch[i].Attrs != nil {
				batch[i].Attrs = cloneMap(batch[i].Attrs)
			}
		}
		// A stop does not cut a batch in flight: what Kafka got is checkpointed.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fl.t.opt.ProduceTimeout)
		err := fl.t.opt.Publisher.Publish(pctx, batch, collectorName)
		cancel()
		if err == nil {
			fl.t.m.sent.WithLabelValues(fl.cfg.Path).Add(float64(len(events)))
			return nil
		}
		fl.t.m.publishErrors.Inc()
		fl.log.Warn("log events not sent, will retry", "events", len(events), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// reportBad counts an unreadable line and logs the first ones of each file,
// then one in a thousand, with file, line number and a short sample.
func (fl *follower) reportBad(f *file, line int64, raw []byte, err error) {
	fl.t.m.lines.WithLabelValues(fl.cfg.Path, "bad").Inc()
	fl.bad++
	if fl.bad <= 10 || fl.bad%1000 == 0 {
		fl.log.Warn("unreadable log line skipped", "path", f.name, "line", line, "err", err,
			"sample", truncate(strings.ToValidUTF8(string(raw), "?"), 120), "unreadable_so_far", fl.bad)
	}
}

// collectorName names this process's events for the aggregator's
// de-duplication (ids are unique per collector): the tail of this host.
var collectorName = func() string {
	h, _ := os.Hostname()
	return "vigie-tail@" + h
}()
