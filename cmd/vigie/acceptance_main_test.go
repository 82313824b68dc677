package main

// Acceptance tests of the vigie binary as a user runs it: the binary is built
// once in TestMain and run with exec in temporary directories, on the real
// embedded broker and the real in-process ClickHouse engine. One demo run
// (the slow part) is shared by every test that needs its data.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

var (
	// vigieBin is the binary under test, built by TestMain.
	vigieBin string
	// tmpRoot holds the binary and every data dir; removed after the run.
	tmpRoot string
	// noChDB says why tests that need the engine skip; "" when it is installed.
	noChDB string
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "vigie-acceptance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	tmpRoot = dir
	vigieBin = filepath.Join(dir, "vigie")
	build := exec.Command("go", "build", "-o", vigieBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build of the vigie binary failed: %v\n%s", err, out)
		return 1
	}
	if lib := chdb.LibraryPath(); !fileExists(lib) {
		noChDB = fmt.Sprintf("libchdb.so is not installed at %s (run `make chdb`): "+
			"this acceptance test needs the in-process ClickHouse engine", lib)
	}
	return m.Run()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func needChDB(t *testing.T) {
	t.Helper()
	if noChDB != "" {
		t.Skip(noChDB)
	}
}

// result is one finished run of the binary.
type result struct {
	stdout, stderr string
	code           int
	elapsed        time.Duration
}

// baseEnv is the test's environment without VIGIE_ settings that would
// change the configuration under test (the cache dir only says where
// libchdb.so is, so it stays).
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VIGIE_") && !strings.HasPrefix(kv, "VIGIE_CACHE_DIR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// vigie runs the binary to completion in a temp dir, killing it after timeout.
func vigie(t *testing.T, timeout time.Duration, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, vigieBin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = baseEnv(env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("vigie %s did not finish within %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, tail(r.stdout), tail(r.stderr))
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("vigie %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// tail keeps the end of a long output for failure messages.
func tail(s string) string {
	const n = 3000
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// freeListen returns a loopback address nobody listens on right now.
func freeListen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// demoRun is the one `vigie demo --exit` of this test binary.
type demoRun struct {
	dir    string
	listen string
	res    result
}

var (
	demoOnce sync.Once
	demo     demoRun
)

// theDemo runs the demo on first use and returns it; a failed demo fails
// every test that needs it.
func theDemo(t *testing.T) *demoRun {
	t.Helper()
	needChDB(t)
	demoOnce.Do(func() {
		demo.dir = filepath.Join(tmpRoot, "demo")
		demo.listen = freeListen(t)
		demo.res.code = -1 // stays if vigie stops the test on a timeout
		demo.res = vigie(t, 4*time.Minute, nil, "demo", "--exit", "--data-dir", demo.dir, "--listen", demo.listen)
		t.Logf("vigie demo --exit took %s", demo.res.elapsed.Round(100*time.Millisecond))
	})
	if demo.res.code != 0 {
		t.Fatalf("vigie demo --exit exited %d\nstdout:\n%s\nstderr:\n%s", demo.res.code, tail(demo.res.stdout), tail(demo.res.stderr))
	}
	return &demo
}

// server is a `vigie serve` running in the background.
type server struct {
	cmd     *exec.Cmd
	url     string
	listen  string
	dataDir string
	stderr  *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startServe starts `vigie serve` on dataDir, with env added to its
// environment, and waits until /readyz says ready. The process is stopped at
// the end of the test if still running.
func startServe(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	return startServeArgs(t, dataDir, nil, env...)
}

// startServeArgs is startServe with more command-line arguments (--config).
func startServeArgs(t *testing.T, dataDir string, args []string, env ...string) *server {
	t.Helper()
	return startCommand(t, "serve", dataDir, args, env...)
}

// startCommand starts `vigie <command>` (serve, collect, …) like startServe.
func startCommand(t *testing.T, command, dataDir string, args []string, env ...string) *server {
	t.Helper()
	listen := freeListen(t)
	errf, err := os.CreateTemp(t.TempDir(), "serve-stderr-")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{listen: listen, url: "http://" + listen, dataDir: dataDir, stderr: errf, done: make(chan struct{})}
	s.cmd = exec.Command(vigieBin, append([]string{command, "--data-dir", dataDir, "--listen", listen}, args...)...)
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = baseEnv(env...)
	s.cmd.Stdout, s.cmd.Stderr = errf, errf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case <-s.done:
			t.Fatalf("vigie serve exited before it was ready (%v):\n%s", s.waitErr, tail(s.log()))
		default:
		}
		if resp, err := http.Get(s.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("vigie serve not ready at %s after 90 s:\n%s", s.url, tail(s.log()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// log is what the server wrote so far (stdout and stderr).
func (s *server) log() string {
	b, _ := os.ReadFile(s.stderr.Name())
	return string(b)
}

// terminate sends SIGTERM and waits up to limit for the exit; it returns
// the exit code and how long the shutdown took.
func (s *server) terminate(t *testing.T, limit time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(limit):
		t.Fatalf("vigie serve did not exit within %s of SIGTERM:\n%s", limit, tail(s.log()))
	}
	return s.cmd.ProcessState.ExitCode(), time.Since(start)
}
