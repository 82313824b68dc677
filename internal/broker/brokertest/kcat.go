package brokertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// The benchmarks compare Vigie's two sides of Kafka with kcat (librdkafka,
// Debian's package kcat, installed by scripts/install-test-deps.sh) on the
// same broker, in the same run: on a machine shared with other work, only
// such ratios mean something.

// KcatPath is kcat's path, or "" when it is not installed.
func KcatPath() string {
	p, err := exec.LookPath("kcat")
	if err != nil {
		return ""
	}
	return p
}

// KcatRun is one kcat run: its wall time from start to exit, the CPU time
// it used (user and system), and the CPU time this process used meanwhile
// (the embedded broker serving kcat, when the broker is in this process).
// CPU times change far less than wall times when other work shares the
// machine.
type KcatRun struct {
	Wall, CPU, BrokerCPU time.Duration
	Messages             int // messages kcat -C printed
}

// ProcessCPU is the user and system time this process has used so far.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func finish(cmd *exec.Cmd, start time.Time, cpu0 time.Duration) KcatRun {
	r := KcatRun{Wall: time.Since(start), BrokerCPU: ProcessCPU() - cpu0}
	if cmd.ProcessState != nil {
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return r
}

// KcatProduce produces lines, each "key\tvalue", to topic with kcat -P
// (acks=all, librdkafka's defaults otherwise) until every message was
// acknowledged.
func KcatProduce(ctx context.Context, brokers []string, topic string, lines []byte) (KcatRun, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-P", "-b", strings.Join(brokers, ","), "-t", topic,
		"-K", "\t", "-X", "acks=all", "-X", "queue.buffering.max.messages=1000000")
	cmd.Stdin = bytes.NewReader(lines)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start, cpu0 := time.Now(), ProcessCPU()
	err := cmd.Run()
	r := finish(cmd, start, cpu0)
	if err != nil {
		return r, fmt.Errorf("kcat -P: %w: %s", err, stderr.String())
	}
	return r, nil
}

// KcatConsume reads topic from its beginning to its end with kcat -C
// (every partition, librdkafka's defaults).
func KcatConsume(ctx context.Context, brokers []string, topic string) (KcatRun, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-b", strings.Join(brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-f", "%o\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return KcatRun{}, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start, cpu0 := time.Now(), ProcessCPU()
	if err := cmd.Start(); err != nil {
		return KcatRun{}, fmt.Errorf("kcat -C: %w", err)
	}
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n++
	}
	err = cmd.Wait()
	r := finish(cmd, start, cpu0)
	r.Messages = n
	if err != nil {
		return r, fmt.Errorf("kcat -C: %w: %s", err, stderr.String())
	}
	return r, nil
}
