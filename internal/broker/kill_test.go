package broker_test

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/broker"
	"github.com/vigie-fr/vigie/internal/broker/brokertest"
)

const childDirEnv = "VIGIE_TEST_BROKER_CHILD_DIR"

// TestAcknowledgedMessagesSurviveSIGKILL runs the broker in a child process,
// produces with acks=all, kills the child with SIGKILL right after the
// acknowledgement and restarts on the same data dir: every acknowledged
// message must be there. This is what lets ingest answer 200.
func TestAcknowledgedMessagesSurviveSIGKILL(t *testing.T) {
	cfg := brokertest.Config(2)
	if dir := os.Getenv(childDirEnv); dir != "" {
		b, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet())
		if err != nil {
			t.Fatal(err)
		}
		if err := broker.EnsureTopics(ctxT(t), b.Access(), cfg, quiet()); err != nil {
			t.Fatal(err)
		}
		produce(t, b.Addrs(), cfg.Topic, 250, []string{"11/a", "24/b", "27/c"})
		os.Stdout.WriteString("acked\n")
		time.Sleep(time.Minute) // wait for the kill
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcknowledgedMessagesSurviveSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "acked" {
				acked <- true
				return
			}
		}
		acked <- false
	}()
	select {
	case ok := <-acked:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child ended without acknowledging its messages")
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child did not acknowledge within 30s")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no Close, no final save
		t.Fatal(err)
	}
	cmd.Wait()

	b, err := broker.StartEmbedded(ctxT(t), dir, 0, quiet())
	if err != nil {
		t.Fatalf("restart after SIGKILL: %v", err)
	}
	defer b.Close()
	msgs := brokertest.ReadAll(t, b.Addrs(), cfg.Topic)
	if len(msgs) != 250 || len(values(msgs)) != 250 {
		t.Fatalf("after SIGKILL read %d messages (%d distinct), want the 250 acknowledged", len(msgs), len(values(msgs)))
	}
}
