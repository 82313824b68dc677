package main

import (
	"math/rand/v2"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Two `vigie collect` processes produce to the broker of a `vigie serve`,
// sharing its pseudonymisation key; a retrying client posts through both
// while one is SIGKILLed and restarted. Every acknowledged event is in the
// warehouse once. A third collector with another key is refused at start.
func TestCollectorsAsProcessesCountEveryAcknowledgedEventOnce(t *testing.T) {
	needChDB(t)
	key := "the-shared-hmac-key-of-this-test-0123456789"
	kafkaAddr := freeListen(t)
	_, port, _ := net.SplitHostPort(kafkaAddr)
	s := startServe(t, filepath.Join(t.TempDir(), "serve"), "VIGIE_INGEST_HMAC_KEY="+key, "VIGIE_KAFKA_EMBEDDED_PORT="+port)
	collect := func(name, key string) *server {
		return startCommand(t, "collect", filepath.Join(t.TempDir(), name), []string{"--brokers", kafkaAddr}, "VIGIE_INGEST_HMAC_KEY="+key)
	}
	c1, c2 := collect("c1", key), collect("c2", key)

	var mu sync.Mutex
	urls := []string{c1.url, c2.url}
	var acked ackedEvents
	post := func(n int) {
		body, ids := faultBatch(rand.New(rand.NewPCG(uint64(n), 9)), n, 200)
		acked.send(func() string {
			mu.Lock()
			defer mu.Unlock()
			return urls[n%2]
		}, body, ids)
	}
	done, third := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for n := range 60 {
			if n == 20 {
				close(third) // a third of the way: the kill lands mid-stream
			}
			post(n)
		}
	}()
	<-third
	_ = c1.cmd.Process.Signal(syscall.SIGKILL)
	<-c1.done
	c1 = startCommand(t, "collect", c1.dataDir, []string{"--brokers", kafkaAddr}, "VIGIE_INGEST_HMAC_KEY="+key)
	mu.Lock()
	urls[0] = c1.url
	mu.Unlock()
	<-done

	// Another key: refused before it produces anything.
	res := vigie(t, time.Minute, []string{"VIGIE_INGEST_HMAC_KEY=another-key-that-nobody-shares-0123456789"},
		"collect", "--data-dir", filepath.Join(t.TempDir(), "c3"), "--listen", freeListen(t), "--brokers", kafkaAddr)
	if res.code == 0 || !strings.Contains(res.stderr, "ingest.hmac_key") || !strings.Contains(res.stderr, "fingerprint") {
		t.Errorf("a collector with another key exited %d, want a refusal naming ingest.hmac_key:\n%s", res.code, tail(res.stderr))
	}

	want := acked.count()
	if got := settledCounts(t, s, want); got != [3]int{want, want, want} {
		t.Fatalf("raw rows, distinct ids, hourly total = %v, want the %d acknowledged each", got, want)
	}
}
