package web_test

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

// The 10-million-event day: 6 April 2021 in Paris at full volume, 18
// regions, each with its ENT and the CNED, loaded straight into the
// warehouse through the store's encoders (agg_in for the minute windows,
// events for the raw rows) rather than through Kafka and the aggregator,
// whose own speed is measured elsewhere: pushing 10 M events through the
// pipeline would take about four minutes on this machine before the first
// measurement. The windows are consistent with the raw events: each raw
// event is one attempt of its window, with its outcome and user.

const (
	dayEvents = 10_000_000
	cnedShare = 0.3
)

var (
	dayFrom = time.Date(2021, 4, 5, 22, 0, 0, 0, time.UTC) // midnight in Paris
	// failingENTs fail from 08:00 to 10:30 in Paris; the CNED times out
	// nationally from 08:00 to 10:00.
	failingENTs = []string{"11", "32", "76", "28", "24", "44", "52"}
)

// hourWeight is the school day's shape, by Paris hour.
func hourWeight(h int) float64 {
	switch {
	case h < 6:
		return 0.05
	case h < 8:
		return 0.8
	case h < 12:
		return 3
	case h < 14:
		return 1.5
	case h < 17:
		return 2.5
	case h < 20:
		return 1.2
	}
	return 0.3
}

// regionWeight is a region's share of pupils, roughly: Île-de-France is
// the largest, Corse and Mayotte the smallest.
func regionWeight(i int) float64 { return 1 + float64(len(schemas.Regions)-i)/6 }

type daySeries struct {
	platform, service, region string
	base                      uint64 // first pseudonym of its population
	weight                    float64
}

func daySeriesList() []daySeries {
	var out []daySeries
	var rw float64
	for i := range schemas.Regions {
		rw += regionWeight(i)
	}
	for i, r := range schemas.Regions {
		w := regionWeight(i) / rw
		out = append(out,
			daySeries{"ent", "ent-" + r, r, uint64(i+1) * 10_000_000, w * (1 - cnedShare)},
			daySeries{"cned", "cned-classe-virtuelle", r, uint64(i+1)*10_000_000 + 5_000_000, w * cnedShare})
	}
	return out
}

// dayMinute is one window of the day and its raw events.
func dayMinute(s daySeries, m int, total float64) (store.Window, []store.Event) {
	at := dayFrom.Add(time.Duration(m) * time.Minute)
	ph := at.In(tzParis()).Hour()
	n := uint64(math.Round(s.weight * total * hourWeight(ph)))
	entFail := s.platform == "ent" && slices.Contains(failingENTs, s.region) && m >= 8*60 && m < 10*60+30
	cnedFail := s.platform == "cned" && m >= 8*60 && m < 10*60
	w := store.Window{Bucket: at, Platform: s.platform, Service: s.service, Region: s.region}
	lat := []float64{80, 120, 180, 250, 400, 800}
	share := []float64{0.3, 0.3, 0.2, 0.1, 0.07, 0.03}
	outcome := func(i uint64) string { // 1 % errors on a normal day
		if i%100 == 99 {
			return "error"
		}
		return "ok"
	}
	switch {
	case entFail: // saturated: quota rejections, errors, a waiting room
		lat, share = []float64{400, 1200, 3000, 8000}, []float64{0.2, 0.3, 0.3, 0.2}
		outcome = func(i uint64) string {
			return [...]string{"ok", "ok", "ok", "ok", "rejected", "rejected", "rejected", "error", "queued", "queued"}[i%10]
		}
	case cnedFail: // flooded: timeouts, many requests without a user
		lat, share = []float64{2000, 4000, 8000, 12000}, []float64{0.2, 0.3, 0.3, 0.2}
		outcome = func(i uint64) string {
			return [...]string{"ok", "ok", "timeout", "ok", "timeout", "ok", "ok", "ok", "ok", "timeout"}[i%10]
		}
	}
	events := make([]store.Event, 0, n)
	users := map[uint64]bool{}
	failed := map[uint64]bool{}
	pop := uint64(max(n/3, 1))
	for i := range n {
		o := outcome(i)
		user := s.base + (uint64(m)*7+i)%(pop*4)
		if cnedFail && i%2 == 0 {
			user = 0
		}
		switch o {
		case "ok":
			w.OK++
		case "error":
			w.Error++
		case "timeout":
			w.Timeout++
		case "rejected":
			w.Rejected++
		case "queued":
			w.Queued++
			w.QueueKind++
			w.QueueN++
			w.QueueSum += 30_000
			w.QueueMax = 30_000
		}
		w.Total++
		w.Page++
		var latency *float32
		if o == "ok" || o == "error" {
			v := float32(lat[int(i)%len(lat)])
			latency = &v
		}
		if user != 0 {
			users[user] = true
			if o == "error" || o == "timeout" || o == "rejected" {
				failed[user] = true
			}
		}
		ev := store.Event{ID: s.service + "/" + s.region + "/" + strconv.Itoa(m) + "/" + strconv.FormatUint(i, 10), TS: at.Add(time.Duration(i) * time.Minute / time.Duration(n)),
			Platform: s.platform, Service: s.service, Region: s.region, Academy: "ac-" + s.region + "-" + strconv.FormatUint(i%3, 10),
			Kind: "page", Outcome: o, Status: map[string]uint16{"ok": 200, "error": 503, "timeout": 0, "rejected": 429, "queued": 302}[o],
			LatencyMS: latency, User: user, Role: "student", Source: "beacon", Attrs: map[string]string{"src": "10.0." + strconv.FormatUint(i%200, 10) + ".0/24"}}
		events = append(events, ev)
	}
	for k, v := range lat {
		c := uint64(math.Round(share[k] * float64(w.OK+w.Error)))
		if c > 0 {
			w.LatValues = append(w.LatValues, v)
			w.LatCounts = append(w.LatCounts, c)
			w.LatencyN += c
			w.LatencySum += v * float64(c)
			w.LatencyMax = max(w.LatencyMax, float32(v))
		}
	}
	for u := range users {
		w.Users = append(w.Users, u)
	}
	for u := range failed {
		w.UsersFailed = append(w.UsersFailed, u)
	}
	slices.Sort(w.Users)
	slices.Sort(w.UsersFailed)
	return w, events
}

func tzParis() *time.Location {
	loc, _ := time.LoadLocation("Europe/Paris")
	return loc
}

var (
	dayOnce  sync.Once
	dayDB    string
	dayStats string
)

// loadDay writes the day once per process and returns its database.
func loadDay(b *testing.B) string {
	dayOnce.Do(func() {
		db := incidenttest.DB(b)
		st := incidenttest.Store(b, db)
		ctx := context.Background()
		series := daySeriesList()
		var sum float64
		for m := range 1440 {
			sum += hourWeight(dayFrom.Add(time.Duration(m) * time.Minute).In(tzParis()).Hour())
		}
		total := dayEvents / sum // events per minute at weight 1, for all series
		start := time.Now()
		var windows []store.Window
		var events []store.Event
		var nEvents, nWindows int
		flush := func(final bool) {
			if len(events) >= 500_000 || (final && len(events) > 0) {
				if err := st.InsertEvents(ctx, events, ""); err != nil {
					b.Fatal(err)
				}
				events = events[:0]
			}
			if len(windows) >= 2_000 || (final && len(windows) > 0) {
				if err := st.InsertWindows(ctx, windows, ""); err != nil {
					b.Fatal(err)
				}
				windows = windows[:0]
			}
		}
		for m := range 1440 {
			for _, s := range series {
				w, evs := dayMinute(s, m, total)
				windows = append(windows, w)
				events = append(events, evs...)
				nEvents += len(evs)
				nWindows++
			}
			flush(false)
		}
		flush(true)
		dayStats = fmt.Sprintf("%d events, %d windows loaded in %s", nEvents, nWindows, time.Since(start).Round(time.Second))
		dayDB = db
	})
	if dayDB == "" {
		b.Skip("the day could not be loaded (see the first benchmark's log)")
	}
	b.Log(dayStats)
	return dayDB
}

// timeCalls calls path n times on handler h (a fresh server each time when
// cold: no answer is reused) and reports the median, p95 and max in ms.
func timeCalls(b *testing.B, st *store.Store, path string, cold bool) {
	newServer := func() *httptest.Server {
		mux := http.NewServeMux()
		web.New(st, config.Default().Incidents, nil).Register(mux)
		return httptest.NewServer(mux)
	}
	srv := newServer()
	defer srv.Close()
	var d []time.Duration
	get := func(url string) {
		t0 := time.Now()
		res, err := http.Get(url + path)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
		}
		d = append(d, time.Since(t0))
	}
	for range b.N {
		if cold {
			s := newServer()
			get(s.URL)
			s.Close()
		} else {
			get(srv.URL)
		}
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(ms(d[len(d)/2]), "p50-ms")
	b.ReportMetric(ms(d[min(len(d)-1, int(math.Ceil(float64(len(d))*0.95))-1)]), "p95-ms")
	b.ReportMetric(ms(d[len(d)-1]), "max-ms")
}

// BenchmarkTenMillionEventDay measures the report and every dashboard call
// on the 10-million-event day (VIGIE_LONG_TESTS=1; docs/benchmarks.md).
// Targets: GET /api/v1/report under 2 s; every dashboard call under 200 ms
// at p95. "cold" calls start a new server each time (nothing reused);
// "warm" calls repeat one request to one server (its answer cache).
//
//	VIGIE_LONG_TESTS=1 go test -run '^$' -bench TenMillion -benchtime 20x -timeout 60m ./dashboards/web/
func BenchmarkTenMillionEventDay(b *testing.B) {
	if os.Getenv("VIGIE_LONG_TESTS") != "1" {
		b.Skip("a 10-million-event day takes minutes to load: VIGIE_LONG_TESTS=1")
	}
	st := incidenttest.Store(b, loadDay(b))
	day := "from=2021-04-06"
	morning := "from=2021-04-06T08:00:00%2B02:00&to=2021-04-06T12:00:00%2B02:00"
	calls := []struct{ name, path string }{
		{"range", "/api/v1/range"},
		{"availability-hour-day", "/api/v1/availability?platform=ent&grain=hour&" + day},
		{"availability-minute-morning", "/api/v1/availability?platform=cned&grain=minute&" + morning},
		{"availability-day-month", "/api/v1/availability?platform=ent&grain=day&from=2021-03-07&to=2021-04-06"},
		{"incidents-day", "/api/v1/incidents?" + day},
		{"regions-day", "/api/v1/regions?" + day},
		{"region-11-day", "/api/v1/regions/11?grain=hour&" + day},
		{"drilldown-ent-11", "/api/v1/drilldown?service=ent-11&region=11&" + morning},
		{"compare-hour", "/api/v1/compare?a_from=2021-04-05&b_from=2021-04-06"},
		{"status", "/api/v1/status"},
		{"status-11", "/api/v1/status/11"},
	}
	b.Run("report", func(b *testing.B) { timeCalls(b, st, "/api/v1/report?format=json&"+day, true) })
	for _, c := range calls {
		b.Run(c.name+"/cold", func(b *testing.B) { timeCalls(b, st, c.path, true) })
		b.Run(c.name+"/warm", func(b *testing.B) { timeCalls(b, st, c.path, false) })
	}
}

// timedStore is the store with the time each read took, summed by method:
// where a slow answer spends its time.
type timedStore struct {
	*store.Store
	mu    sync.Mutex
	spent map[string]time.Duration
	calls map[string]int
}

func (t *timedStore) took(name string, start time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spent[name] += time.Since(start)
	t.calls[name]++
}

func (t *timedStore) Stats(ctx context.Context, g store.Grain, from, to time.Time) ([]store.Stats, error) {
	defer t.took("Stats/"+string(g), time.Now())
	return t.Store.Stats(ctx, g, from, to)
}

func (t *timedStore) UsersFailed(ctx context.Context, g store.Grain, sets [][]store.Span) ([]uint64, error) {
	defer t.took("UsersFailed", time.Now())
	return t.Store.UsersFailed(ctx, g, sets)
}

func (t *timedStore) SlowCounts(ctx context.Context, g store.Grain, from, to time.Time, th []store.Threshold, def float64) ([]store.Slow, error) {
	defer t.took("SlowCounts/"+string(g), time.Now())
	return t.Store.SlowCounts(ctx, g, from, to, th, def)
}

func (t *timedStore) Grid(ctx context.Context, platform string, g store.Grain, from, to time.Time) ([]store.GridCell, error) {
	defer t.took("Grid", time.Now())
	return t.Store.Grid(ctx, platform, g, from, to)
}

func (t *timedStore) Anonymous(ctx context.Context, service string, regions []string, inFrom, inTo, from, to time.Time) (store.Anonymous, error) {
	defer t.took("Anonymous", time.Now())
	return t.Store.Anonymous(ctx, service, regions, inFrom, inTo, from, to)
}

func (t *timedStore) Series(ctx context.Context, q store.SeriesQuery) ([]store.Point, error) {
	defer t.took("Series/"+string(q.Grain), time.Now())
	return t.Store.Series(ctx, q)
}

// BenchmarkTenMillionEventDayProfile logs where one cold call of each slow
// route spends its time, read by read.
func BenchmarkTenMillionEventDayProfile(b *testing.B) {
	if os.Getenv("VIGIE_LONG_TESTS") != "1" {
		b.Skip("a 10-million-event day takes minutes to load: VIGIE_LONG_TESTS=1")
	}
	st := incidenttest.Store(b, loadDay(b))
	for _, path := range []string{"/api/v1/report?format=json&from=2021-04-06", "/api/v1/incidents?from=2021-04-06", "/api/v1/regions?from=2021-04-06"} {
		ts := &timedStore{Store: st, spent: map[string]time.Duration{}, calls: map[string]int{}}
		mux := http.NewServeMux()
		web.New(ts, config.Default().Incidents, nil).Register(mux)
		srv := httptest.NewServer(mux)
		t0 := time.Now()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		total := time.Since(t0)
		srv.Close()
		var reads time.Duration
		var parts []string
		for _, name := range slices.Sorted(maps.Keys(ts.spent)) {
			reads += ts.spent[name]
			parts = append(parts, fmt.Sprintf("%s %d× %s", name, ts.calls[name], ts.spent[name].Round(time.Millisecond)))
		}
		// One line a route: the benchmark's log keeps ten lines.
		b.Logf("%s: %s in all, %s in reads: %s", path, total.Round(time.Millisecond), reads.Round(time.Millisecond), strings.Join(parts, ", "))
	}
}
