package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A SIGKILL at any moment of start-up (broker, warehouse, migrations, the
// aggregator joining) is followed by a start that is ready within seconds:
// nothing left behind blocks it.
func TestAKillAtAnyStartupStepIsFollowedByAQuickStart(t *testing.T) {
	needChDB(t)
	dir := filepath.Join(t.TempDir(), "data")
	for _, d := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond,
		300 * time.Millisecond, 600 * time.Millisecond, time.Second, 2 * time.Second} {
		cmd := exec.Command(vigieBin, "serve", "--data-dir", dir, "--listen", freeListen(t))
		cmd.Env = baseEnv()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		start := time.Now()
		s := startServe(t, dir)
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("killed %v into start-up, the next start took %v to be ready", d, took.Round(time.Millisecond))
		}
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	}
}

// A collector that re-sends every batch that did not get 200 posts while
// vigie serve is SIGKILLed and restarted again and again: in the end every
// acknowledged event is in the warehouse once, raw rows = distinct
// acknowledged ids = the hourly totals. VIGIE_LONG_TESTS=1 kills it 25
// times and freezes it for 20 s (SIGSTOP).
func TestServeKilledUnderLoadLosesNothingAndCountsNothingTwice(t *testing.T) {
	needChDB(t)
	kills := 3
	if os.Getenv("VIGIE_LONG_TESTS") != "" {
		kills = 25
	}
	dir := filepath.Join(t.TempDir(), "data")
	var url atomic.Value
	s := startServe(t, dir)
	url.Store(s.url)

	var acked ackedEvents
	stop := make(chan struct{})
	clientDone := make(chan struct{})
	go func() { // the collector: one batch at a time, re-sent until 200
		defer close(clientDone)
		r := rand.New(rand.NewPCG(7, 7))
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			body, ids := faultBatch(r, n, 200)
			acked.send(func() string { return url.Load().(string) }, body, ids)
		}
	}()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := range kills {
		time.Sleep(time.Duration(300+r.IntN(1500)) * time.Millisecond)
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		t.Logf("kill %d landed", k+1)
		s = startServe(t, dir)
		url.Store(s.url)
	}
	if os.Getenv("VIGIE_LONG_TESTS") != "" {
		// Frozen for 20 s (a stalled VM, a debugger): requests hang, the
		// consumer group's session expires, then everything resumes.
		_ = s.cmd.Process.Signal(syscall.SIGSTOP)
		time.Sleep(20 * time.Second)
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		t.Log("serve was stopped for 20 s (SIGSTOP) and resumed")
	}
	time.Sleep(time.Second)
	close(stop)
	<-clientDone
	want := acked.count()
	if want < 1000 {
		t.Fatalf("only %d events acknowledged: the collector barely ran", want)
	}

	got := settledCounts(t, s, want)
	if got != [3]int{want, want, want} {
		t.Fatalf("after %d kills: raw rows, distinct ids, hourly total = %v, want %d acknowledged each\n%s", kills, got, want, tail(s.log()))
	}
	t.Logf("%d kills, %d acknowledged events, each once in the warehouse", kills, want)
}

// ackedEvents is what a collector with retries knows: the ids of the events
// a server acknowledged.
type ackedEvents struct {
	mu  sync.Mutex
	ids map[string]bool
}

// send posts a batch of events to the URL url gives at each try, again and
// again until it is answered 200 (as a collector re-sends what got no 200),
// then records its ids as acknowledged.
func (a *ackedEvents) send(url func() string, body []byte, ids []string) {
	for {
		resp, err := http.Post(url()+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	for _, id := range ids {
		a.ids[id] = true
	}
}

func (a *ackedEvents) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.ids)
}

// settledCounts waits until the fault events of 6 February 2023 in the
// warehouse of s reach want raw rows, distinct ids and hourly total (90 s
// at most), then counts again after the next flushes, where a doubling
// would show: it returns that last count.
func settledCounts(t *testing.T, s *server, want int) [3]int {
	t.Helper()
	count := func(sql string) int {
		res := vigie(t, time.Minute, nil, "query", "--data-dir", s.dataDir, "--listen", s.listen, "--format", "csv", sql)
		recs, err := csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
		if res.code != 0 || err != nil || len(recs) != 2 {
			t.Fatalf("query %s: exit %d %v\n%s%s", sql, res.code, err, res.stdout, res.stderr)
		}
		v, _ := strconv.Atoi(recs[1][0])
		return v
	}
	counts := func() [3]int {
		return [3]int{count("SELECT count() FROM vigie.events WHERE startsWith(id, 'fault-')"),
			count("SELECT uniqExact(id) FROM vigie.events WHERE startsWith(id, 'fault-')"),
			count("SELECT toUInt64(sum(events)) FROM vigie.hour_stats WHERE toDate(bucket) = '2023-02-06'")}
	}
	for deadline := time.Now().Add(90 * time.Second); counts() != [3]int{want, want, want} && time.Now().Before(deadline); {
		time.Sleep(time.Second)
	}
	time.Sleep(3 * time.Second)
	return counts()
}

// faultBatch is batch n of the fault test: size events of 6 February 2023
// with ids fault-<n>-<i>, spread over the morning and the regions.
func faultBatch(r *rand.Rand, n, size int) ([]byte, []string) {
	var b bytes.Buffer
	ids := make([]string, size)
	for i := range size {
		region := []string{"11", "24", "32", "44", "53", "76", "84", "93"}[r.IntN(8)]
		ts := time.Date(2023, 2, 6, 8+r.IntN(4), r.IntN(60), r.IntN(60), 0, time.FixedZone("CET", 3600))
		ids[i] = fmt.Sprintf("fault-%d-%d", n, i)
		ev := map[string]any{"id": ids[i], "ts": ts.Format(time.RFC3339), "platform": "ent", "service": "ent-" + region,
			"region": region, "kind": "page", "outcome": "ok", "status": 200, "latency_ms": 50 + r.IntN(500),
			"user": fmt.Sprintf("pupil-%d", r.IntN(5000)), "role": "student"}
		line, _ := json.Marshal(ev)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes(), ids
}

// mountSmallDisk mounts a tmpfs of size MB for the test, or skips it (and
// says why) where mounting is not allowed.
func mountSmallDisk(t *testing.T, mb int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mb), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (%v: %s): run as root where mount is allowed", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file that leaves about leaveMB free on dir's file system.
func fill(t *testing.T, dir string, leaveMB int) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	size := free - int64(leaveMB)<<20
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for written := int64(0); written < size; written += int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-written)]); err != nil {
			break // full already
		}
	}
	return path
}

// A disk that fills up while Vigie runs turns it not ready and makes
// ingest answer 503 with Retry-After, so collectors keep their batches;
// freed, it accepts again, with nothing lost or doubled. A start on a full
// disk is refused, and once space is freed it starts on intact data.
func TestAFullDiskRefusesEventsAndStartsAgainWhenFreed(t *testing.T) {
	needChDB(t)
	disk := mountSmallDisk(t, 768)
	dir := filepath.Join(disk, "data")
	env := []string{"VIGIE_MIN_FREE_MB=64"}
	s := startServe(t, dir, env...)
	post := func(url string, n int) int {
		body, _ := faultBatch(rand.New(rand.NewPCG(uint64(n), 3)), n, 100)
		resp, err := http.Post(url+"/v1/events", "application/x-ndjson", bytes.NewReader(body))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		return resp.StatusCode
	}
	if code := post(s.url, 0); code != http.StatusOK {
		t.Fatalf("first batch: %d", code)
	}
	filler := fill(t, disk, 32) // below the 64 MB floor
	var code int
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			var r struct{ Parts map[string]string }
			_ = json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(r.Parts["disk"], "min_free_mb") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not report the full disk:\n%s", tail(s.log()))
		}
	}
	if code = post(s.url, 1); code != http.StatusServiceUnavailable {
		t.Fatalf("a batch on a full disk: %d, want 503", code)
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	res := vigie(t, time.Minute, env, "serve", "--data-dir", dir, "--listen", freeListen(t))
	if res.code == 0 || !strings.Contains(res.stderr, "min_free_mb") {
		t.Fatalf("serve on a full disk exited %d, want a refusal naming min_free_mb:\n%s", res.code, tail(res.stderr))
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s = startServe(t, dir, env...)
	if code := post(s.url, 2); code != http.StatusOK {
		t.Fatalf("a batch once space is freed: %d", code)
	}
	q := func(sql string) string {
		r := vigie(t, time.Minute, nil, "query", "--data-dir", dir, "--listen", s.listen, "--format", "csv", sql)
		return strings.TrimSpace(r.stdout)
	}
	const count = "SELECT count(), uniqExact(id) FROM vigie.events WHERE startsWith(id, 'fault-')"
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		got := q(count)
		if strings.HasSuffix(got, "200,200") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events after the disk was freed: %q, want the two accepted batches (200 rows, 200 ids)", got)
		}
	}
}
