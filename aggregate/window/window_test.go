package window

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/schemas"
)

func ev(ts string, region, outcome string, lat float64) *schemas.Event {
	t, _ := time.Parse(time.RFC3339, ts)
	e := &schemas.Event{ID: ts, TS: t.UTC(), Platform: "ent", Service: "ent-" + region, Region: region, Kind: "page", Outcome: outcome, Status: 200}
	if lat >= 0 {
		e.LatencyMS = &lat
	}
	return e
}

func TestWindowsCountByMinuteAndKeepUsersApart(t *testing.T) {
	s := NewSet()
	s.Add(ev("2021-04-06T08:30:10+02:00", "11", "ok", 120), 7)
	s.Add(ev("2021-04-06T08:30:50+02:00", "11", "error", -1), 7)
	s.Add(ev("2021-04-06T08:30:59+02:00", "11", "timeout", 30000), 8)
	s.Add(ev("2021-04-06T08:31:00+02:00", "11", "ok", 80), 9)
	s.Add(ev("2021-04-06T08:30:00+02:00", "32", "rejected", -1), 0)
	rows := s.Rows()
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3 (two minutes of 11, one of 32)", len(rows))
	}
	r := rows[0]
	if !r.Bucket.Equal(time.Date(2021, 4, 6, 6, 30, 0, 0, time.UTC)) {
		t.Errorf("bucket %v", r.Bucket)
	}
	if r.Region != "11" || r.Total != 3 || r.OK != 1 || r.Error != 1 || r.Timeout != 1 {
		t.Errorf("counts wrong: %+v", r)
	}
	if !reflect.DeepEqual(r.Users, []uint64{7, 8}) {
		t.Errorf("users %v, want [7 8]", r.Users)
	}
	if !reflect.DeepEqual(r.UsersFailed, []uint64{7, 8}) {
		t.Errorf("users_failed %v, want [7 8]", r.UsersFailed)
	}
	if r.LatencyN != 2 {
		t.Errorf("latency_n %v, want 2", r.LatencyN)
	}
	if !reflect.DeepEqual(r.Status, map[uint16]uint64{200: 3}) {
		t.Errorf("status_counts %v", r.Status)
	}
}

func TestRowsAreDeterministic(t *testing.T) {
	build := func() []store.Window {
		s := NewSet()
		for i, reg := range []string{"76", "11", "44", "11", "32"} {
			for u := uint64(1); u < 50; u++ {
				s.Add(ev("2021-04-06T08:3"+string(rune('0'+i))+":00Z", reg, "ok", float64(u*10)), u*uint64(i+1))
			}
		}
		return s.Rows()
	}
	if a, b := build(), build(); !reflect.DeepEqual(a, b) {
		t.Fatal("two builds of the same events gave different rows")
	}
}
