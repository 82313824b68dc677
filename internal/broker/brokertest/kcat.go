package brokertest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
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

// KcatProduce produces lines, each "key\tvalue", to topic with kcat -P
// (acks=all, librdkafka's defaults otherwise) and returns how long kcat
// took, from its start to its exit once every message was acknowledged.
func KcatProduce(ctx context.Context, brokers []string, topic string, lines []byte) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-P", "-b", strings.Join(brokers, ","), "-t", topic,
		"-K", "\t", "-X", "acks=all", "-X", "queue.buffering.max.messages=1000000")
	cmd.Stdin = bytes.NewReader(lines)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("kcat -P: %w: %s", err, stderr.String())
	}
	return d, nil
}

// KcatConsume reads topic from its beginning to its end with kcat -C
// (every partition, librdkafka's defaults) and returns how long it took
// and how many messages it printed.
func KcatConsume(ctx context.Context, brokers []string, topic string) (time.Duration, int, error) {
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-b", strings.Join(brokers, ","), "-t", topic,
		"-o", "beginning", "-e", "-q", "-f", "%o\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, fmt.Errorf("kcat -C: %w", err)
	}
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n++
	}
	err = cmd.Wait()
	d := time.Since(start)
	if err != nil {
		return d, n, fmt.Errorf("kcat -C: %w: %s", err, stderr.String())
	}
	return d, n, nil
}
