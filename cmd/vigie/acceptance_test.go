package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/web"
	"github.com/vigie-fr/vigie/ingest/simulate"
	"github.com/vigie-fr/vigie/internal/i18n"
)

func TestDemoReportFindsTheScriptedIncidents(t *testing.T) {
	d := theDemo(t)
	out := d.res.stdout
	if want := "Dashboard: http://" + d.listen + "/"; !strings.Contains(out, want) {
		t.Errorf("demo output does not print the dashboard URL %q:\n%s", want, out)
	}
	var mdPath, jsonPath string
	for _, line := range strings.Split(out, "\n") {
		p := strings.TrimSpace(line)
		switch {
		case filepath.IsAbs(p) && strings.HasSuffix(p, ".md"):
			mdPath = p
		case filepath.IsAbs(p) && strings.HasSuffix(p, ".json"):
			jsonPath = p
		}
	}
	if mdPath == "" || jsonPath == "" {
		t.Fatalf("demo output does not print both report paths (.md and .json):\n%s", out)
	}
	if !fileExists(mdPath) {
		t.Errorf("the printed Markdown report %s does not exist", mdPath)
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatalf("the printed JSON report: %v", err)
	}
	var r report.Report
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("the JSON report does not parse as report.Report: %v", err)
	}

	md, err := os.ReadFile(mdPath)
	if err != nil {
		t.Fatalf("the printed Markdown report: %v", err)
	}
	now, err := simulate.Lookup("2021-04-06")
	if err != nil {
		t.Fatal(err)
	}
	then, err := simulate.Lookup("2020-03-16")
	if err != nil {
		t.Fatal(err)
	}
	// The demo writes its report in French, whole; the checks read it
	// rendered again in English from its JSON (the same numbers).
	if !bytes.HasPrefix(md, []byte("# Retour d'expérience : du 6 avril 2021")) || bytes.Contains(md, []byte("⟦")) {
		t.Errorf("the demo's Markdown report is not a complete French report: %.80q", md)
	}
	for _, h := range []string{"Résumé", "Impact", "Déclenchement", "Détection", "Réaction et rétablissement", "Chronologie",
		"Signaux de cause", "Actions correctives", "Enseignements", "Glossaire"} {
		if !bytes.Contains(md, []byte("\n## "+h+"\n")) {
			t.Errorf("the demo's French report has no section %q", h)
		}
	}
	for _, problem := range checkHeadline(&r, string(md), now) {
		t.Error(problem)
	}
	if en := markdown(t, &r); !strings.HasPrefix(en, "# Post-mortem: 6 April 2021") || strings.Contains(en, "⟦") {
		t.Errorf("the demo's report in English is not complete: %.80q", en)
	}
	if problems := checkDemoReport(&r, markdown(t, &r), now, then); len(problems) > 0 {
		for _, problem := range problems {
			t.Error(problem)
		}
		return
	}

	// The checks above must catch a report that is wrong in the ways a
	// detector or report bug would make it: each mutation of the real
	// report, rendered to Markdown again, must be refused.
	for _, m := range reportMutations(now) {
		bad := copyReport(t, &r)
		m.apply(bad)
		if problems := checkDemoReport(bad, markdown(t, bad), now, then); len(problems) == 0 {
			t.Errorf("a report with %s passes the demo's checks", m.name)
		}
	}
}

// markdown renders r in English, its signals' labels too.
func markdown(t *testing.T, r *report.Report) string {
	t.Helper()
	r.Lang = i18n.English
	if err := r.WriteJSON(io.Discard); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func copyReport(t *testing.T, r *report.Report) *report.Report {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var c report.Report
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// reportMutations are deliberate report bugs the demo test must catch.
func reportMutations(now simulate.Scenario) []struct {
	name  string
	apply func(*report.Report)
} {
	widen := func(start, end *time.Time) { *start, *end = start.Add(-5*time.Minute), end.Add(5*time.Minute) }
	dropSignals := func(r *report.Report, drop func(report.Signal) bool) {
		var keep []report.Signal
		for _, s := range r.Signals {
			if !drop(s) {
				keep = append(keep, s)
			}
		}
		r.Signals = keep
	}
	cnedRegion := now.Truth()[0].Region
	for _, tr := range now.Truth() {
		if tr.Platform == "cned" {
			cnedRegion = tr.Region
		}
	}
	return []struct {
		name  string
		apply func(*report.Report)
	}{
		{"every incident widened by 5 minutes", func(r *report.Report) {
			for i := range r.Incidents {
				widen(&r.Incidents[i].Start, &r.Incidents[i].End)
			}
		}},
		{"every incident, group, signal and capacity line widened by 5 minutes", func(r *report.Report) {
			for i := range r.Incidents {
				widen(&r.Incidents[i].Start, &r.Incidents[i].End)
			}
			for i := range r.Groups {
				widen(&r.Groups[i].Start, &r.Groups[i].End)
			}
			for i := range r.Signals {
				widen(&r.Signals[i].Start, &r.Signals[i].End)
			}
			for i := range r.Capacity {
				widen(&r.Capacity[i].Start, &r.Capacity[i].End)
			}
		}},
		{"the CNED in one region only", func(r *report.Report) {
			var keep []incident.Incident
			for _, in := range r.Incidents {
				if in.Platform != "cned" || in.Region == cnedRegion {
					keep = append(keep, in)
				}
			}
			r.Incidents = keep
			for i := range r.Groups {
				if r.Groups[i].Platform == "cned" {
					r.Groups[i].Regions = []string{cnedRegion}
				}
			}
			r.Summary.Incidents = len(keep)
		}},
		{"no cause signal", func(r *report.Report) { r.Signals = nil }},
		{"no saturation signal", func(r *report.Report) {
			dropSignals(r, func(s report.Signal) bool { return s.Kind == report.SignalSaturation })
		}},
		{"no attack-like signal", func(r *report.Report) {
			dropSignals(r, func(s report.Signal) bool { return attackLike[s.Kind] })
		}},
		{"a saturation signal on the attacked CNED", func(r *report.Report) {
			for _, s := range r.Signals {
				if attackLike[s.Kind] {
					s.Kind, s.Label = report.SignalSaturation, "load-driven saturation (quota, waiting room)"
					r.Signals = append(r.Signals, s)
					break
				}
			}
		}},
		{"no capacity line", func(r *report.Report) { r.Capacity = nil }},
		{"no comparison", func(r *report.Report) { r.Comparison = nil }},
		{"a comparison naming no repeated failure", func(r *report.Report) {
			for i := range r.Comparison.Days {
				r.Comparison.Days[i].Repeated = nil
			}
		}},
		{"a comparison missing one repeated failure", func(r *report.Report) {
			for i := range r.Comparison.Days {
				d := &r.Comparison.Days[i]
				d.Repeated = d.Repeated[:len(d.Repeated)-1]
			}
		}},
	}
}

// queryFiles are the example queries engineers copy.
func queryFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../schemas/queries/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d example queries in schemas/queries, want at least 10", len(files))
	}
	for i, f := range files {
		if files[i], err = filepath.Abs(f); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

var (
	localOnce sync.Once
	localCSV  map[string]result // by query file, run with no server up
)

// localAnswers runs every example query as CSV on the demo's data dir with
// no server (opening the warehouse in the query process), once.
func localAnswers(t *testing.T) map[string]result {
	t.Helper()
	d := theDemo(t)
	files := queryFiles(t)
	localOnce.Do(func() {
		m := map[string]result{}
		for _, f := range files {
			m[f] = vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", freeListen(t), "-f", f, "--format", "csv")
		}
		localCSV = m
	})
	if localCSV == nil {
		t.Fatal("the local example queries did not run")
	}
	return localCSV
}

var rowsLine = regexp.MustCompile(`\((\d+) rows?\)\s*$`)

// readOnlyMessage is what a refused write must say (the sandbox names the
// statement it refuses; the engine says read-only).
var readOnlyMessage = regexp.MustCompile(`(?i)read-?only|statements are not allowed`)

func TestQueryWithoutServerIsReadOnlyAndAnswersTheExampleQueries(t *testing.T) {
	d := theDemo(t)
	noServer := freeListen(t)

	r := vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", noServer, "CREATE TABLE x (a Int8) ENGINE=Memory")
	if r.code == 0 || !readOnlyMessage.MatchString(r.stderr) {
		t.Errorf("CREATE TABLE: exit %d, stderr %q; want a non-zero exit and a read-only message", r.code, r.stderr)
	}

	local := localAnswers(t)
	for _, f := range queryFiles(t) {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			tab := vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", noServer, "-f", f)
			if tab.code != 0 {
				t.Fatalf("table: exit %d: %s", tab.code, tab.stderr)
			}
			m := rowsLine.FindStringSubmatch(tab.stdout)
			if m == nil {
				t.Fatalf("table output has no \"(N rows)\" line:\n%s", tail(tab.stdout))
			}
			rows, _ := strconv.Atoi(m[1])
			if rows == 0 {
				t.Errorf("%s returns no rows on the demo's data:\n%s", name, tab.stdout)
			}

			c := local[f]
			if c.code != 0 {
				t.Fatalf("csv: exit %d: %s", c.code, c.stderr)
			}
			recs, err := csv.NewReader(strings.NewReader(c.stdout)).ReadAll()
			if err != nil {
				t.Fatalf("csv output does not parse: %v\n%s", err, tail(c.stdout))
			}
			if len(recs) != rows+1 {
				t.Errorf("csv output has %d lines, want a header and the table's %d rows", len(recs), rows)
			}

			js := vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", noServer, "-f", f, "--format", "json")
			if js.code != 0 {
				t.Fatalf("json: exit %d: %s", js.code, js.stderr)
			}
			var objs []map[string]any
			if err := json.Unmarshal([]byte(js.stdout), &objs); err != nil {
				t.Fatalf("json output does not parse as an array of objects: %v\n%s", err, tail(js.stdout))
			}
			if len(objs) != rows {
				t.Errorf("json output has %d objects, the table %d rows", len(objs), rows)
			}
		})
	}
}

func TestServeAnswersQueriesDashboardsAndMetricsOnTheDemoData(t *testing.T) {
	d := theDemo(t)
	local := localAnswers(t) // before serve takes the data dir
	s := startServe(t, d.dir)

	for _, f := range queryFiles(t) {
		// The server holds the data dir's lock: a local open would fail, so
		// an answer proves the query went through the server.
		r := vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", s.listen, "-f", f, "--format", "csv")
		if r.code != 0 {
			t.Errorf("%s through serve: exit %d: %s", filepath.Base(f), r.code, r.stderr)
			continue
		}
		if r.stdout != local[f].stdout {
			t.Errorf("%s through serve differs from the local answer:\nserve:\n%s\nlocal:\n%s",
				filepath.Base(f), tail(r.stdout), tail(local[f].stdout))
		}
	}
	r := vigie(t, time.Minute, nil, "query", "--data-dir", d.dir, "--listen", s.listen, "CREATE TABLE x (a Int8) ENGINE=Memory")
	if r.code == 0 || !readOnlyMessage.MatchString(r.stderr) {
		t.Errorf("CREATE TABLE through serve: exit %d, stderr %q; want a non-zero exit and a read-only message", r.code, r.stderr)
	}

	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	if code, _, body := get("/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz: %d %s", code, body)
	}
	code, _, metrics := get("/metrics")
	if code != http.StatusOK {
		t.Errorf("GET /metrics: %d", code)
	}
	for _, name := range []string{"vigie_ingest_events_accepted_total", "vigie_aggregate_events_total", "vigie_aggregate_flush_duration_seconds"} {
		if !strings.Contains(metrics, "\n"+name) {
			t.Errorf("GET /metrics has no %s", name)
		}
	}
	code, ctype, page := get("/")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(strings.ToLower(page), "<html") {
		t.Errorf("GET /: %d %q, want the dashboard HTML; body starts %q", code, ctype, page[:min(len(page), 200)])
	}
	code, _, body := get("/api/v1/availability?from=2021-04-06T00:00:00%2B02:00&to=2021-04-07T00:00:00%2B02:00")
	var av web.Availability
	if code != http.StatusOK {
		t.Errorf("GET /api/v1/availability: %d %s", code, body)
	} else if err := json.Unmarshal([]byte(body), &av); err != nil {
		t.Errorf("GET /api/v1/availability: %v", err)
	} else if len(av.Regions) != 18 {
		t.Errorf("GET /api/v1/availability for 2021-04-06: %d regions, want 18", len(av.Regions))
	}

	if code, took := s.terminate(t, 30*time.Second); code != 0 {
		t.Errorf("serve exited %d after SIGTERM (in %s):\n%s", code, took, tail(s.log()))
	}
}

// events2023 is a batch of n valid events of 9 January 2023 (a day the demo
// never touches), ids unique, spread over two hours, one in ten failing.
func events2023(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		ts := time.Date(2023, 1, 9, 8, 0, 0, 0, time.FixedZone("CET", 3600)).Add(time.Duration(i) * 14 * time.Second)
		ev := map[string]any{
			"id": fmt.Sprintf("acceptance-2023-01-09-%04d", i), "ts": ts.Format(time.RFC3339),
			"platform": "ent", "service": "ent-53", "region": "53", "kind": "login",
			"user": fmt.Sprintf("pupil-%d", i%97), "role": "student",
		}
		if i%10 == 0 {
			ev["outcome"], ev["status"] = "error", 503
		} else {
			ev["outcome"], ev["status"], ev["latency_ms"] = "ok", 200, 80+i%50
		}
		line, _ := json.Marshal(ev)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestServeShutdownOnSIGTERMKeepsEveryAcceptedEventOnce(t *testing.T) {
	d := theDemo(t)
	// A copy: these events must not change what the other tests read.
	dir := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command("cp", "-a", d.dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the demo's data dir: %v %s", err, out)
	}
	const n = 500
	s := startServe(t, dir)
	batch := events2023(n)
	resp, err := http.Post(s.url+"/v1/events", "application/x-ndjson", bytes.NewReader(batch))
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		Accepted, Rejected int
		Error              string
	}
	err = json.NewDecoder(resp.Body).Decode(&ack)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || ack.Accepted != n {
		t.Fatalf("POST /v1/events: %d %+v (%v), want 200 and %d accepted", resp.StatusCode, ack, err, n)
	}
	code, took := s.terminate(t, 30*time.Second)
	t.Logf("serve stopped %s after SIGTERM", took.Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("serve exited %d after SIGTERM:\n%s", code, tail(s.log()))
	}

	s2 := startServe(t, dir)
	count := func(sql string) (int, string) {
		r := vigie(t, time.Minute, nil, "query", "--data-dir", dir, "--listen", s2.listen, "--format", "csv", sql)
		recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if r.code != 0 || err != nil || len(recs) != 2 || len(recs[1]) != 1 {
			return -1, fmt.Sprintf("exit %d, %v: %s%s", r.code, err, r.stdout, r.stderr)
		}
		v, err := strconv.Atoi(recs[1][0])
		if err != nil {
			return -1, recs[1][0]
		}
		return v, ""
	}
	const rawSQL = "SELECT count() FROM vigie.events WHERE toDate(ts) = '2023-01-09'"
	const hourSQL = "SELECT toUInt64(sum(events)) FROM vigie.hour_stats WHERE toDate(bucket) = '2023-01-09'"
	var raw, hours int
	var note string
	deadline := time.Now().Add(60 * time.Second)
	for {
		raw, note = count(rawSQL)
		if raw >= 0 {
			hours, note = count(hourSQL)
		}
		if (raw >= n && hours >= n) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if raw == n && hours == n {
		// A doubling bug would show after the restarted aggregator's next
		// flushes (aggregate.flush_interval is 1 s): count again after three.
		time.Sleep(3 * time.Second)
		raw, note = count(rawSQL)
		if raw >= 0 {
			hours, note = count(hourSQL)
		}
	}
	if raw != n || hours != n {
		t.Errorf("after SIGTERM and restart: %d raw events and %d in hour_stats for 2023-01-09, want exactly %d in both %s\nfirst serve's log:\n%s\nsecond serve's log:\n%s",
			raw, hours, n, note, tail(s.log()), tail(s2.log()))
	}
	for _, problem := range checkHours2023(t, dir, s2.listen, batch) {
		t.Errorf("after SIGTERM and restart: %s", problem)
	}
}

func TestCommandLine(t *testing.T) {
	t.Run("vigie --help says what Vigie is and lists its commands", func(t *testing.T) {
		r := vigie(t, 30*time.Second, nil, "--help")
		for _, want := range []string{"collects connection and latency events", "ENT", "CNED", "demo", "serve", "collect", "aggregate", "dashboards", "simulate", "report", "query", "migrate", "probe", "tail"} {
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Errorf("vigie --help (exit %d) does not mention %q:\n%s", r.code, want, r.stdout)
			}
		}
	})
	t.Run("vigie demo --help says it replays 6 April 2021 and writes the report", func(t *testing.T) {
		r := vigie(t, 30*time.Second, nil, "demo", "--help")
		for _, want := range []string{"6 April 2021", "replay", "lessons-learned report", "--exit", "--data-dir"} {
			if r.code != 0 || !strings.Contains(r.stdout, want) {
				t.Errorf("vigie demo --help (exit %d) does not mention %q:\n%s", r.code, want, r.stdout)
			}
		}
	})
	t.Run("vigie query --help names query files that exist", func(t *testing.T) {
		r := vigie(t, 30*time.Second, nil, "query", "--help")
		files := regexp.MustCompile(`schemas/queries/\S+\.sql`).FindAllString(r.stdout, -1)
		if r.code != 0 || len(files) == 0 {
			t.Fatalf("vigie query --help (exit %d) names no file of schemas/queries:\n%s", r.code, r.stdout)
		}
		for _, f := range files {
			if _, err := os.Stat(filepath.Join("..", "..", f)); err != nil {
				t.Errorf("vigie query --help names %s: %v", f, err)
			}
		}
		if !strings.Contains(r.stdout, "ndjson") {
			t.Errorf("vigie query --help does not list the ndjson format:\n%s", r.stdout)
		}
	})
	t.Run("a configuration with zero Kafka partitions is refused at start, naming the key", func(t *testing.T) {
		r := vigie(t, 30*time.Second, []string{"VIGIE_KAFKA_PARTITIONS=0"},
			"serve", "--data-dir", t.TempDir(), "--listen", freeListen(t))
		if r.code == 0 || !strings.Contains(r.stderr, "kafka.partitions") {
			t.Errorf("exit %d, stderr %q; want a failure naming kafka.partitions", r.code, r.stderr)
		}
	})
	t.Run("migrate twice: the second run is up to date", func(t *testing.T) {
		needChDB(t)
		dir := t.TempDir()
		first := vigie(t, time.Minute, nil, "migrate", "--data-dir", dir)
		if first.code != 0 || !strings.Contains(first.stdout, "applied 0001_init") {
			t.Errorf("first migrate: exit %d, stdout %q, stderr %q; want 0001_init applied", first.code, first.stdout, first.stderr)
		}
		second := vigie(t, time.Minute, nil, "migrate", "--data-dir", dir)
		if second.code != 0 || !strings.Contains(second.stdout, "up to date") {
			t.Errorf("second migrate: exit %d, stdout %q, stderr %q; want \"up to date\"", second.code, second.stdout, second.stderr)
		}
	})
}

// metric reads one unlabelled sample from the server's /metrics.
func metric(t *testing.T, s *server, name string) float64 {
	t.Helper()
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no sample %s", name)
	return 0
}

func TestServeFlushesWhatTheAggregatorHoldsOnSIGTERM(t *testing.T) {
	needChDB(t)
	dir := t.TempDir()
	// Timed flushes an hour apart and a flush size above the batch: only the
	// shutdown's flush can write these events (but for the first event of a
	// partition, which a fresh warehouse flushes at once as a "replay").
	s := startServe(t, dir, "VIGIE_AGGREGATE_FLUSH_INTERVAL=1h", "VIGIE_AGGREGATE_FLUSH_EVENTS=100000")
	const n = 500
	batch := events2023(n)
	resp, err := http.Post(s.url+"/v1/events", "application/x-ndjson", bytes.NewReader(batch))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/events: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, s, "vigie_aggregate_events_total") < n {
		if time.Now().After(deadline) {
			t.Fatalf("the aggregator did not read the %d events within 30 s:\n%s", n, tail(s.log()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The aggregator holds the events; they are not all in the warehouse.
	const countSQL = "SELECT count() FROM vigie.events WHERE toDate(ts) = '2023-01-09'"
	r := vigie(t, time.Minute, nil, "query", "--data-dir", dir, "--listen", s.listen, "--format", "csv", countSQL)
	if r.code != 0 || strings.HasSuffix(strings.TrimSpace(r.stdout), fmt.Sprintf("\n%d", n)) {
		t.Fatalf("before SIGTERM: exit %d, %q %s; want fewer than %d events in the warehouse (timed flushes are an hour apart)",
			r.code, r.stdout, r.stderr, n)
	}
	if code, took := s.terminate(t, 30*time.Second); code != 0 {
		t.Fatalf("serve exited %d %s after SIGTERM:\n%s", code, took, tail(s.log()))
	}
	// No server now: the query opens the warehouse itself and sees only
	// what the shutdown wrote.
	for _, q := range []string{
		countSQL,
		"SELECT toUInt64(sum(events)) FROM vigie.hour_stats WHERE toDate(bucket) = '2023-01-09'",
	} {
		r := vigie(t, time.Minute, nil, "query", "--data-dir", dir, "--listen", freeListen(t), "--format", "csv", q)
		if want := fmt.Sprintf("%d", n); r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "\n"+want) {
			t.Errorf("%s after SIGTERM: exit %d, %q %s; want %s", q, r.code, r.stdout, r.stderr, want)
		}
	}
	for _, problem := range checkHours2023(t, dir, freeListen(t), batch) {
		t.Errorf("after SIGTERM: %s", problem)
	}
}
