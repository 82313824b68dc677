package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/aggregate/window"
)

// hourTruth is what the warehouse must say of one hour of events2023,
// computed from the events themselves.
type hourTruth struct {
	events, ok, errors uint64
	users, usersFailed map[string]bool
	latency            window.Sketch
}

// hoursOf2023 computes, per hour (UTC, as hour_stats' bucket prints) and
// series, the truth of an NDJSON batch from events2023.
func hoursOf2023(t *testing.T, batch []byte) map[string]*hourTruth {
	t.Helper()
	out := map[string]*hourTruth{}
	sc := bufio.NewScanner(bytes.NewReader(batch))
	for sc.Scan() {
		var ev struct {
			TS                              time.Time
			Platform, Service, Region, User string
			Outcome                         string
			LatencyMS                       *float64 `json:"latency_ms"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		k := fmt.Sprintf("%s|%s|%s|%s", ev.TS.UTC().Truncate(time.Hour).Format(time.DateTime), ev.Platform, ev.Service, ev.Region)
		h := out[k]
		if h == nil {
			h = &hourTruth{users: map[string]bool{}, usersFailed: map[string]bool{}, latency: window.Sketch{}}
			out[k] = h
		}
		h.events++
		h.users[ev.User] = true
		switch ev.Outcome {
		case "ok":
			h.ok++
		case "error":
			h.errors++
			h.usersFailed[ev.User] = true
		default:
			t.Fatalf("events2023 made an outcome %q this check does not count", ev.Outcome)
		}
		if ev.LatencyMS != nil {
			h.latency.Add(*ev.LatencyMS)
		}
	}
	return out
}

// checkHours2023 compares every hour of 9 January 2023 in hour_stats, read
// with `vigie query` on dataDir (through the server at listen when one
// runs), with the truth of batch: events, ok, errors, unique users and
// failed users exactly, p95 within the sketch's relative error. It returns
// the problems found.
func checkHours2023(t *testing.T, dataDir, listen string, batch []byte) []string {
	t.Helper()
	const q = `SELECT toString(bucket), platform, service, region, events, ok, errors, users, users_failed, p95_ms
FROM vigie.hour_stats WHERE toDate(bucket) = '2023-01-09' ORDER BY bucket, platform, service, region`
	r := vigie(t, time.Minute, nil, "query", "--data-dir", dataDir, "--listen", listen, "--format", "csv", q)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(recs) == 0 {
		return []string{fmt.Sprintf("hour_stats of 2023-01-09: exit %d, %v: %s%s", r.code, err, r.stdout, r.stderr)}
	}
	want := hoursOf2023(t, batch)
	var bad []string
	if got := len(recs) - 1; got != len(want) {
		bad = append(bad, fmt.Sprintf("%d hour windows on 2023-01-09, want %d", got, len(want)))
	}
	for _, rec := range recs[1:] {
		k := strings.Join(rec[:4], "|")
		h := want[k]
		if h == nil {
			bad = append(bad, "unexpected hour window "+k)
			continue
		}
		var got [5]uint64
		for i := range got {
			if got[i], err = strconv.ParseUint(rec[4+i], 10, 64); err != nil {
				return append(bad, fmt.Sprintf("window %s: column %d is %q", k, 4+i, rec[4+i]))
			}
		}
		exp := [5]uint64{h.events, h.ok, h.errors, uint64(len(h.users)), uint64(len(h.usersFailed))}
		if got != exp {
			bad = append(bad, fmt.Sprintf("window %s: events/ok/errors/users/failed users = %v, want %v", k, got, exp))
		}
		p95, err := strconv.ParseFloat(rec[9], 64)
		if exact := h.latency.Quantile(0.95); err != nil || math.Abs(p95-exact) > exact*window.RelativeError {
			bad = append(bad, fmt.Sprintf("window %s: p95 %q ms, the sketch of the events says %.2f", k, rec[9], exact))
		}
	}
	return bad
}
