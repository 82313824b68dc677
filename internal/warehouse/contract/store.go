package contract

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// testStoreReads runs every read of package store on what testDedup left:
// aggRows and eventRows("a", "b", "c", "d") each written twice under two
// tokens, so every count is doubled and every user counted once.
func testStoreReads(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	st := newStore(t, wh, db)
	at := func(d, h, m int) time.Time { return time.Date(2021, 4, d, h, m, 0, 0, time.UTC) }
	key := func(s store.Stats) store.Stats { s.P95MS = 0; return s }
	t.Run("minutes", func(t *testing.T) {
		got, err := st.Stats(ctx, store.Minute, at(6, 8, 0), at(6, 8, 2))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Stats{
			{Bucket: at(6, 8, 0), Platform: "ent", Service: "monlycee.net", Region: "11", Events: 20, OK: 16, Errors: 4, Users: 3, UsersFailed: 1},
			{Bucket: at(6, 8, 1), Platform: "ent", Service: "monlycee.net", Region: "11", Events: 40, OK: 30, Errors: 10, Users: 2, UsersFailed: 1},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d minutes, want %d: %+v", len(got), len(want), got)
		}
		for i := range got {
			// 2 of 16 latencies at 200 ms at 08:00, 2 of 30 at 08:01: both
			// above the 95th percentile's rank (15.2 and 28.5).
			if got[i].P95MS != 200 {
				t.Errorf("minute %d p95 = %v, want 200", i, got[i].P95MS)
			}
			if key(got[i]) != want[i] {
				t.Errorf("minute %d = %+v, want %+v", i, key(got[i]), want[i])
			}
		}
	})
	t.Run("hours, over two days", func(t *testing.T) {
		got, err := st.Stats(ctx, store.Hour, time.Date(2021, 3, 30, 0, 0, 0, 0, time.UTC), at(7, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Stats{
			{Bucket: time.Date(2021, 3, 30, 9, 0, 0, 0, time.UTC), Platform: "ent", Service: "monlycee.net", Region: "11", Events: 8, OK: 8, Users: 1, UsersFailed: 1},
			{Bucket: at(6, 8, 0), Platform: "ent", Service: "monlycee.net", Region: "11", Events: 60, OK: 46, Errors: 14, Users: 4, UsersFailed: 2},
		}
		if len(got) != 2 || key(got[0]) != want[0] || key(got[1]) != want[1] {
			t.Fatalf("hours = %+v, want %+v", got, want)
		}
	})
	t.Run("users who failed, per set of spans", func(t *testing.T) {
		span := func(region string, from, to time.Time) store.Span {
			return store.Span{Platform: "ent", Service: "monlycee.net", Region: region, Start: from, End: to}
		}
		got, err := st.UsersFailed(ctx, store.Minute, [][]store.Span{
			{span("11", at(6, 8, 0), at(6, 8, 1))},
			{span("11", at(6, 8, 0), at(6, 8, 2))},
			{span("11", at(6, 8, 1), at(6, 8, 2)), span("32", at(6, 8, 0), at(6, 9, 0))},
			{span("32", at(6, 8, 0), at(6, 9, 0))},
		})
		if want := []uint64{1, 2, 1, 0}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("users failed = %v (err %v), want %v", got, err, want)
		}
	})
	t.Run("the region × hour grid", func(t *testing.T) {
		got, err := st.Grid(ctx, "ent", store.Hour, at(6, 0, 0), at(7, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.GridCell{{Region: "11", Bucket: at(6, 8, 0), Events: 60, OK: 46, Failed: 14, P95MS: 200}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("grid = %+v, want %+v", got, want)
		}
		if got, err := st.Grid(ctx, "cned", store.Hour, at(6, 0, 0), at(7, 0, 0)); err != nil || len(got) != 0 {
			t.Fatalf("cned grid = %+v (err %v), want none", got, err)
		}
	})
	t.Run("anonymous traffic inside and around a period", func(t *testing.T) {
		// a (user 0) and c on the 5th, b and d on the 6th; twice each.
		got, err := st.Anonymous(ctx, "monlycee.net", []string{"11"}, at(5, 0, 0), at(6, 0, 0), at(5, 0, 0), at(7, 0, 0))
		want := store.Anonymous{Inside: 4, AnonymousInside: 2, Outside: 4}
		if err != nil || got != want {
			t.Fatalf("anonymous = %+v (err %v), want %+v", got, err, want)
		}
	})
	t.Run("the hours holding data", func(t *testing.T) {
		first, last, ok, err := st.HourRange(ctx)
		if err != nil || !ok || !first.Equal(time.Date(2021, 3, 30, 9, 0, 0, 0, time.UTC)) || !last.Equal(at(6, 8, 0)) {
			t.Fatalf("hour range = %v..%v ok=%v (err %v), want 2021-03-30 09:00..2021-04-06 08:00", first, last, ok, err)
		}
	})
	t.Run("the keys a partition received, and when", func(t *testing.T) {
		got, err := st.Arrivals(ctx, 0, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want := map[store.Key]int{}
		for _, id := range []string{"a", "b", "c", "d"} {
			want[store.Key{ID: id}] = 2 // written twice, under two tokens
		}
		have := map[store.Key]int{}
		for _, a := range got {
			have[a.Key]++
			if time.Since(a.At) > time.Hour || time.Until(a.At) > time.Minute {
				t.Errorf("arrival %v is not now", a.At)
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Fatalf("arrivals %v, want %v", have, want)
		}
		if got, err := st.Arrivals(ctx, 0, time.Now().Add(time.Hour)); err != nil || len(got) != 0 {
			t.Fatalf("arrivals received after now: %v (err %v), want none", got, err)
		}
	})
	t.Run("ids received before a range, not in it", func(t *testing.T) {
		since := time.Now().Add(-time.Hour)
		for _, tc := range []struct {
			epoch uint32
			first int64
			want  map[store.Key]bool
		}{
			{0, 2, map[store.Key]bool{{ID: "a"}: true, {ID: "b"}: true}}, // c and d are the range's own rows
			{0, 1, map[store.Key]bool{{ID: "a"}: true}},
			{1, 0, map[store.Key]bool{{ID: "a"}: true, {ID: "b"}: true, {ID: "c"}: true, {ID: "d"}: true}}, // a new epoch: all came before
		} {
			keys := []store.Key{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "never"}, {Collector: "other", ID: "a"}}
			got, err := st.Earlier(ctx, 0, keys, tc.epoch, tc.first, since)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("epoch %d from %d: %v (err %v), want %v", tc.epoch, tc.first, got, err, tc.want)
			}
		}
		if got, _ := st.Earlier(ctx, 0, []store.Key{{ID: "a"}}, 1, 0, time.Now().Add(time.Hour)); len(got) != 0 {
			t.Errorf("ids received before the horizon were found: %v", got)
		}
		if got, _ := st.Earlier(ctx, 1, []store.Key{{ID: "a"}}, 1, 0, since); len(got) != 0 {
			t.Errorf("another partition's ids were found: %v", got)
		}
	})
	t.Run("latency samples above each series' threshold", func(t *testing.T) {
		// Each minute holds 100 ms (ok-1 times) and 200 ms (once), written
		// twice: 16 and 30 samples, 2 above 150 ms in each.
		slow := func(b time.Time, n, over uint64) store.Slow {
			return store.Slow{Bucket: b, Platform: "ent", Service: "monlycee.net", Region: "11", Samples: n, Over: over}
		}
		for _, tc := range []struct {
			name       string
			thresholds []store.Threshold
			def        float64
			want       []store.Slow
		}{
			{"the default threshold", nil, 150, []store.Slow{slow(at(6, 8, 0), 16, 2), slow(at(6, 8, 1), 30, 2)}},
			{"a service's own threshold wins over its platform's", []store.Threshold{{Platform: "ent", MS: 50}, {Platform: "ent", Service: "monlycee.net", MS: 150}},
				1000, []store.Slow{slow(at(6, 8, 0), 16, 2), slow(at(6, 8, 1), 30, 2)}},
			{"the platform's threshold wins over the default", []store.Threshold{{Platform: "ent", MS: 50}, {Platform: "cned", MS: 1000}},
				1000, []store.Slow{slow(at(6, 8, 0), 16, 16), slow(at(6, 8, 1), 30, 30)}},
		} {
			got, err := st.SlowCounts(ctx, store.Minute, at(6, 8, 0), at(6, 8, 2), tc.thresholds, tc.def)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: slow counts = %+v (err %v), want %+v", tc.name, got, err, tc.want)
			}
		}
		hours, err := st.SlowCounts(ctx, store.Hour, at(6, 0, 0), at(7, 0, 0), nil, 150)
		if want := []store.Slow{slow(at(6, 8, 0), 46, 4)}; err != nil || !reflect.DeepEqual(hours, want) {
			t.Errorf("hour slow counts = %+v (err %v), want %+v", hours, err, want)
		}
	})
	t.Run("recent totals per series", func(t *testing.T) {
		got, err := st.Recent(ctx, at(6, 7, 0), at(6, 9, 0))
		want := []store.Recent{{Platform: "ent", Service: "monlycee.net", Region: "11", Events: 60, OK: 46, Failed: 14, P95MS: 200, Newest: at(6, 8, 1)}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("recent = %+v (err %v), want %+v", got, err, want)
		}
	})
	t.Run("live incidents keep their newest state and deliveries are remembered", func(t *testing.T) {
		open := store.IncidentState{ID: "ent/monlycee.net/11/2021-04-06T08:00:00Z", Platform: "ent", Service: "monlycee.net", Region: "11",
			Reason: "availability", Open: true, Start: at(6, 8, 0), End: at(6, 8, 7), AlertAt: at(6, 8, 5),
			WorstAvailability: 0.5, WorstP95MS: 30000, Events: 70, Failed: 35, UpdatedAt: at(6, 8, 7)}
		resolved := open
		resolved.Open, resolved.End, resolved.UpdatedAt = false, at(6, 8, 30), at(6, 8, 31)
		if err := st.SaveIncidents(ctx, []store.IncidentState{open}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveIncidents(ctx, []store.IncidentState{resolved}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Incidents(ctx, at(6, 0, 0), at(7, 0, 0))
		if err != nil || len(got) != 1 || got[0] != resolved {
			t.Fatalf("incidents = %+v (err %v), want only %+v", got, err, resolved)
		}
		if got, err := st.Incidents(ctx, at(6, 9, 0), at(7, 0, 0)); err != nil || len(got) != 0 {
			t.Fatalf("incidents after it resolved = %+v (err %v), want none", got, err)
		}
		err = st.RecordDeliveries(ctx, []store.Delivery{{IncidentID: open.ID, Receiver: "am", Open: true, At: at(6, 8, 6)}})
		if err != nil {
			t.Fatal(err)
		}
		done, err := st.Delivered(ctx, []string{open.ID, "other"})
		want := map[string]bool{store.DeliveryKey(open.ID, "am", true): true}
		if err != nil || !reflect.DeepEqual(done, want) {
			t.Fatalf("delivered = %v (err %v), want %v", done, err, want)
		}
	})
	t.Run("people by role, weighed by their sample rate", func(t *testing.T) { testPeople(t, st) })
	t.Run("annotations, action items and status keep their newest version", func(t *testing.T) { testNotes(t, st) })
	t.Run("a bad grain is named", func(t *testing.T) {
		if _, err := st.Stats(ctx, "day", at(6, 0, 0), at(7, 0, 0)); err == nil || !strings.Contains(err.Error(), `"day"`) {
			t.Fatalf("err = %v, want one naming the grain", err)
		}
	})
}

func testOffsets(t *testing.T, wh warehouse.Warehouse, db string) {
	ctx := context.Background()
	o := newStore(t, wh, db).Offsets("g", "events")
	last := func(p int) store.Marker {
		t.Helper()
		m, err := o.Last(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := last(3); m.Found || m.Resume(5) != (store.Resume{Next: 5, ReplayEnd: -1}) {
		t.Fatalf("no marker: %+v resumes at %+v, want the log start 5", m, m.Resume(5))
	}
	r := o.Range(3, 0, 9, 1)
	if err := o.Begin(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := last(3).Resume(0); got != (store.Resume{Next: 0, ReplayEnd: 9}) {
		t.Fatalf("begun range resumes at %+v, want a replay of 0-9", got)
	}
	if err := o.Commit(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := last(3).Resume(0); got != (store.Resume{Next: 10, ReplayEnd: -1}) {
		t.Fatalf("committed range resumes at %+v, want 10", got)
	}
	if err := o.Begin(ctx, o.Range(3, 10, 19, 2)); err != nil {
		t.Fatal(err)
	}
	if m := last(3); m != (store.Marker{Found: true, First: 10, Last: 19, State: store.StateBefore}) {
		t.Fatalf("newest marker = %+v, want 10-19 before", m)
	}
	if m := last(4); m.Found {
		t.Fatalf("partition 4 has a marker %+v, want none", m)
	}
	// An operator's reset starts a new epoch, whose markers win over the
	// old log's even at lower offsets.
	if _, err := o.Reset(ctx, 3, 5, 42); err != nil {
		t.Fatal(err)
	}
	if m := last(3); m != (store.Marker{Found: true, First: 5, Last: 4, State: store.StateAfter, Hash: 42, Epoch: 1}) || m.Resume(0).Next != 5 {
		t.Fatalf("after a reset to 5: %+v, want 4 committed in epoch 1", m)
	}
	r = o.Range(3, 5, 7, 3)
	r.Hash, r.Epoch = 99, 1
	if err := o.Commit(ctx, r); err != nil {
		t.Fatal(err)
	}
	if m := last(3); m.Last != 7 || m.Epoch != 1 || m.Hash != 99 {
		t.Fatalf("the new epoch's range is not the newest: %+v", m)
	}
	if _, err := o.Reset(ctx, 3, 0, 0); err != nil {
		t.Fatal(err)
	}
	if m := last(3); m.Epoch != 2 || m.Resume(0).Next != 0 {
		t.Fatalf("a reset to the log start: %+v resumes at %d, want epoch 2 at 0", m, m.Resume(0).Next)
	} else if _, _, check := m.Check(); check {
		t.Fatal("a reset to the log start has a record to check")
	}
	if r.Token(store.TableEvents) != "vigie/events/events/3/e1/5-7" {
		t.Fatalf("token in epoch 1 = %q, want the epoch in it", r.Token(store.TableEvents))
	}
	// Claims: the first claim of a start wins, whoever sends the next.
	c := o.Range(5, 100, 149, 1)
	if last, err := o.Claim(ctx, c, "member-a"); err != nil || last != 149 {
		t.Fatalf("first claim of 100-149: %d, %v; want it won", last, err)
	}
	if last, err := o.Claim(ctx, c, "member-a"); err != nil || last != 149 {
		t.Fatalf("the same claim again (a retry, a replay): %d, %v; want it still 149", last, err)
	}
	other := o.Range(5, 100, 180, 2)
	if last, err := o.Claim(ctx, other, "member-b"); err != nil || last != 149 {
		t.Fatalf("another member claiming 100-180: %d, %v; want the first claim, 149", last, err)
	}
	if _, found, err := o.Claimed(ctx, 5, 1, 100); err != nil || found {
		t.Fatalf("a claim in another epoch was found (%v, %v)", found, err)
	}
	if last, found, err := o.Claimed(ctx, 5, 0, 100); err != nil || !found || last != 149 {
		t.Fatalf("Claimed = %d %v %v, want 149", last, found, err)
	}
	if o.Range(3, 10, 19, 2).Token(store.TableEvents) != "vigie/events/events/3/10-19" {
		t.Fatalf("token = %q", o.Range(3, 10, 19, 2).Token(store.TableEvents))
	}
}

// testPeople writes its own service's events: two sampled pupils (1 in
// 100), a teacher (1 in 2), two attempts without a user, a probe and an
// event after the span, which are not counted.
func testPeople(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(m int) time.Time { return time.Date(2021, 4, 6, 9, m, 0, 0, time.UTC) }
	lat := float32(80)
	ev := func(id string, m int, user uint64, role, kind, outcome string, rate float64) store.Event {
		return store.Event{ID: id, TS: at(m), Platform: "ent", Service: "contract-people", Region: "24", Kind: kind, Outcome: outcome,
			LatencyMS: &lat, User: user, Role: role, SampleRate: rate}
	}
	rows := []store.Event{
		ev("p1", 1, 101, "student", "page", "ok", 0.01), ev("p2", 2, 101, "student", "page", "ok", 0.01),
		ev("p3", 3, 101, "student", "page", "error", 0.01), ev("p4", 4, 102, "student", "login", "ok", 0.01),
		ev("p5", 5, 103, "teacher", "login", "timeout", 0.5), ev("p6", 6, 0, "", "login", "rejected", 0),
		ev("p7", 7, 0, "", "login", "rejected", 1), ev("p8", 8, 0, "", "probe", "error", 0),
		ev("p9", 20, 101, "student", "page", "error", 0.01),
	}
	if err := st.InsertEvents(ctx, rows, "contract-people"); err != nil {
		t.Fatal(err)
	}
	got, err := st.People(ctx, []store.Span{{Platform: "ent", Service: "contract-people", Region: "24", Start: at(0), End: at(10)}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.People{
		{Role: "", Attempts: 2, FailedAttempts: 2, EstAttempts: 2, EstFailedAttempts: 2},
		{Role: "student", Users: 2, Failed: 1, EstUsers: 200, EstFailed: 100, Attempts: 4, FailedAttempts: 1, EstAttempts: 400, EstFailedAttempts: 100, Sampled: 4},
		{Role: "teacher", Users: 1, Failed: 1, EstUsers: 2, EstFailed: 2, Attempts: 1, FailedAttempts: 1, EstAttempts: 2, EstFailedAttempts: 2, Sampled: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("people = %+v, want %+v", got, want)
	}
	if got, err := st.People(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("people of no span = %+v (err %v), want none", got, err)
	}
}

func testNotes(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	written := func(s int) time.Time { return time.Date(2021, 4, 7, 10, 0, s, 0, time.UTC) }
	for _, a := range []store.Annotation{
		{ID: "a1", At: at(7, 5), Region: "11", Kind: "event", Text: "first", Author: "ana", WrittenAt: written(1)},
		{ID: "a1", At: at(7, 5), Region: "11", Kind: "well", Text: "first, corrected", Author: "ana", WrittenAt: written(2)},
		{ID: "a2", At: at(6, 0), Text: "gone", Author: "ana", WrittenAt: written(1)},
		{ID: "a2", At: at(6, 0), Text: "gone", Author: "ana", WrittenAt: written(3), Deleted: true},
		{ID: "a3", At: at(12, 0), Text: "outside", Author: "ana", WrittenAt: written(1)},
	} {
		if err := st.PutAnnotation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	anns, err := st.Annotations(ctx, at(5, 0), at(11, 0))
	want := []store.Annotation{{ID: "a1", At: at(7, 5), Region: "11", Kind: "well", Text: "first, corrected", Author: "ana", WrittenAt: written(2)}}
	if err != nil || !reflect.DeepEqual(anns, want) {
		t.Fatalf("annotations = %+v (err %v), want %+v", anns, err, want)
	}
	due := time.Date(2021, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, a := range []store.Action{
		{ID: "x1", At: at(6, 0), Title: "quota", Owner: "dne", Priority: "P1", Due: due, State: "open", Author: "eng", WrittenAt: written(1)},
		{ID: "x1", At: at(6, 0), Title: "quota", Owner: "dne", Priority: "P1", Due: due, State: "done", Author: "eng", WrittenAt: written(2)},
		{ID: "x2", At: at(6, 30), Title: "no due date", Owner: "rectorat", Priority: "P3", State: "open", Author: "eng", WrittenAt: written(1)},
	} {
		if err := st.PutAction(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	acts, err := st.Actions(ctx, at(5, 0), at(11, 0))
	wantActs := []store.Action{
		{ID: "x1", At: at(6, 0), Title: "quota", Owner: "dne", Priority: "P1", Due: due, State: "done", Author: "eng", WrittenAt: written(2)},
		{ID: "x2", At: at(6, 30), Title: "no due date", Owner: "rectorat", Priority: "P3", State: "open", Author: "eng", WrittenAt: written(1)},
	}
	if err != nil || !reflect.DeepEqual(acts, wantActs) {
		t.Fatalf("actions = %+v (err %v), want %+v", acts, err, wantActs)
	}
	if _, ok, err := st.ReportStatusOf(ctx, at(5, 0), at(11, 0)); err != nil || ok {
		t.Fatalf("status before any: ok=%v err=%v, want none", ok, err)
	}
	for i, s := range []string{"draft", "final"} {
		if err := st.SetReportStatus(ctx, store.ReportStatus{From: at(5, 0), To: at(11, 0), Status: s, Author: "eng", WrittenAt: written(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := st.ReportStatusOf(ctx, at(5, 0), at(11, 0))
	if wantSt := (store.ReportStatus{From: at(5, 0), To: at(11, 0), Status: "final", Author: "eng", WrittenAt: written(1)}); err != nil || !ok || got != wantSt {
		t.Fatalf("status = %+v ok=%v (err %v), want %+v", got, ok, err, wantSt)
	}
}
