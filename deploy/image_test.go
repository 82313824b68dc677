// Package deploy holds the container images, Compose file and Kubernetes
// manifests of a Vigie deployment; its tests check the images. There is no
// Go code here besides the tests.
package deploy

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// dockerfile is what the tests read of a Dockerfile.
type dockerfile struct {
	name    string
	base    string // the final stage's image, with its digest
	user    string
	env     []string // the go build's environment (CGO_ENABLED=0 …)
	args    []string // go build's flags, up to -o
	runs    []string // every RUN line, continuations joined
	copies  []string
	envVars map[string]string // the final stage's ENV
}

var (
	fromRE  = regexp.MustCompile(`^FROM\s+(\S+)`)
	buildRE = regexp.MustCompile(`((?:[A-Z_]+=\S+\s+)*)go build\s+(.*?)\s+-o\s+\S+\s+\./cmd/vigie\b`)
	digest  = regexp.MustCompile(`^[a-z0-9./-]+:[a-z0-9._-]+@sha256:[0-9a-f]{64}$`)
)

func readDockerfile(t *testing.T, name string) dockerfile {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{name: name, envVars: map[string]string{}}
	var lines []string
	cur := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		lines = append(lines, cur+l)
		cur = ""
	}
	for _, l := range lines {
		switch {
		case fromRE.MatchString(l):
			d.base = fromRE.FindStringSubmatch(l)[1]
			d.envVars = map[string]string{} // a new stage
		case strings.HasPrefix(l, "USER "):
			d.user = strings.TrimSpace(strings.TrimPrefix(l, "USER "))
		case strings.HasPrefix(l, "COPY "):
			d.copies = append(d.copies, l)
		case strings.HasPrefix(l, "ENV "):
			for _, kv := range strings.Fields(strings.TrimPrefix(l, "ENV ")) {
				k, v, _ := strings.Cut(kv, "=")
				d.envVars[k] = v
			}
		case strings.HasPrefix(l, "RUN "):
			d.runs = append(d.runs, l)
			if m := buildRE.FindStringSubmatch(l); m != nil {
				d.env = strings.Fields(m[1])
				d.args = shellWords(m[2])
			}
		}
	}
	if d.args == nil {
		t.Fatalf("%s: no `go build … -o … ./cmd/vigie` in a RUN", name)
	}
	return d
}

// shellWords splits flags the way the shell of a RUN line does for the
// forms the Dockerfiles use: words, and "double-quoted" parts.
func shellWords(s string) []string {
	var out []string
	var w strings.Builder
	quoted, in := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, in = !quoted, true
		case r == ' ' && !quoted:
			if in {
				out = append(out, w.String())
				w.Reset()
				in = false
			}
		default:
			w.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, w.String())
	}
	return out
}

// baseLibs reads deploy/image/<image name>.libs: the library paths the
// base image ships and its glibc version ("" for none).
func baseLibs(t *testing.T, base string) (libs []string, glibc string) {
	t.Helper()
	name, _, _ := strings.Cut(path.Base(base), ":")
	f, err := os.Open(filepath.Join("image", name+".libs"))
	if err != nil {
		t.Fatalf("no library list for the base %s: %v", base, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "glibc "):
			glibc = strings.TrimPrefix(l, "glibc ")
		default:
			libs = append(libs, l)
		}
	}
	return libs, glibc
}

// needs returns what an ELF file needs from its runtime: its NEEDED
// libraries, its interpreter, and the GLIBC_ symbol versions it asks for.
func needs(t *testing.T, file string) (libs []string, interp string, glibc []string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if libs, err = f.ImportedLibraries(); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	vn, err := f.DynamicVersionNeeds()
	if err == nil {
		for _, n := range vn {
			for _, v := range n.Needs {
				if strings.HasPrefix(v.Dep, "GLIBC_") {
					glibc = append(glibc, strings.TrimPrefix(v.Dep, "GLIBC_"))
				}
			}
		}
	}
	return libs, interp, glibc
}

// checkRuntime fails the test for every library, interpreter or glibc
// version file needs that the base does not ship.
func checkRuntime(t *testing.T, file string, libs []string, glibc string) {
	t.Helper()
	needed, interp, versions := needs(t, file)
	search := []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}
	for _, n := range needed {
		found := false
		for _, dir := range search {
			found = found || slices.Contains(libs, dir+"/"+n)
		}
		if !found {
			t.Errorf("%s needs %s, which the base image does not ship", filepath.Base(file), n)
		}
	}
	if interp != "" && !slices.Contains(libs, interp) {
		t.Errorf("%s is loaded by %s, which the base image does not ship", filepath.Base(file), interp)
	}
	for _, v := range versions {
		if glibc == "" || olderThan(glibc, v) {
			t.Errorf("%s needs GLIBC_%s, the base image has glibc %q", filepath.Base(file), v, glibc)
		}
	}
	t.Logf("%s: NEEDED %v, interpreter %q, GLIBC versions %v", filepath.Base(file), needed, interp, versions)
}

// olderThan compares dotted versions: 2.36 < 2.4? No: 2.4 < 2.36.
func olderThan(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := 0; i < max(len(h), len(w)); i++ {
		var a, b int
		if i < len(h) {
			a, _ = strconv.Atoi(h[i])
		}
		if i < len(w) {
			b, _ = strconv.Atoi(w[i])
		}
		if a != b {
			return a < b
		}
	}
	return false
}

// build compiles ./cmd/vigie as the Dockerfile does (same environment and
// flags) and returns the binary.
func build(t *testing.T, d dockerfile) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "vigie")
	cmd := exec.Command("go", append(append([]string{"build"}, d.args...), "-o", out, "./cmd/vigie")...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), d.env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: go build %v: %v\n%s", d.name, d.args, err, b)
	}
	return out
}

// Both images: a base pinned by digest, a non-root user, and a binary
// whose every library is in the base.
func TestImagesHaveWhatTheirBinaryNeeds(t *testing.T) {
	for _, c := range []struct {
		file   string
		static bool // no library at all: the cluster roles, built without the engine
	}{{"Dockerfile", true}, {"Dockerfile.demo", false}} {
		t.Run(c.file, func(t *testing.T) {
			d := readDockerfile(t, c.file)
			if !digest.MatchString(d.base) {
				t.Errorf("FROM %s: pin the base image by digest (image:tag@sha256:…)", d.base)
			}
			if uid, _, _ := strings.Cut(d.user, ":"); uid == "" || uid == "0" || strings.Trim(uid, "0123456789") != "" {
				t.Errorf("USER %q: want a numeric non-root user (Kubernetes runAsNonRoot checks numbers)", d.user)
			}
			libs, glibc := baseLibs(t, d.base)
			bin := build(t, d)
			checkRuntime(t, bin, libs, glibc)
			needed, interp, _ := needs(t, bin)
			if c.static && (len(needed) != 0 || interp != "") {
				t.Errorf("the cluster binary needs %v and %q: want a static binary", needed, interp)
			}
			if !c.static {
				if len(needed) == 0 {
					t.Errorf("the demo binary needs no library: is the engine still in it?")
				}
				checkDemoEngine(t, d, libs, glibc)
			}
		})
	}
}

// The demo image fetches libchdb.so with the script make uses, puts it where
// CHDB_LIB_PATH says, and the library's own needs are in the base.
func checkDemoEngine(t *testing.T, d dockerfile, libs []string, glibc string) {
	t.Helper()
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	const script = "scripts/install-chdb.sh"
	if !strings.Contains(string(mk), "\n\t"+script+"\n") {
		t.Errorf("the Makefile no longer runs %s: the demo image must fetch libchdb.so as make does", script)
	}
	if !slices.ContainsFunc(d.runs, func(r string) bool { return strings.Contains(r, script) }) {
		t.Errorf("%s does not run %s", d.name, script)
	}
	lib := d.envVars["CHDB_LIB_PATH"]
	if lib == "" || !slices.ContainsFunc(d.copies, func(c string) bool { return strings.HasSuffix(c, " "+lib) }) {
		t.Errorf("%s: CHDB_LIB_PATH %q is not where libchdb.so is copied (%v)", d.name, lib, d.copies)
	}
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Logf("libchdb.so is not installed (scripts/install-chdb.sh): its own libraries are not checked")
		return
	}
	// The library the script installs is the one the image gets (the script checks its SHA-256).
	checkRuntime(t, chdb.LibraryPath(), libs, glibc)
}

// The static binary starts in an empty root, and one pointed at the
// in-process engine says which build has it.
func TestTheClusterBinaryRunsWithoutTheEngine(t *testing.T) {
	bin := build(t, readDockerfile(t, "Dockerfile"))
	if b, err := exec.Command(bin, "--help").CombinedOutput(); err != nil || !strings.Contains(string(b), "migrate") {
		t.Fatalf("vigie --help: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "migrate", "--data-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "VIGIE_WAREHOUSE_DRIVER=chdb")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "built without the in-process engine") || !strings.Contains(string(b), "warehouse.driver: clickhouse") {
		t.Fatalf("vigie migrate on chdb with the cluster binary: %v\n%s", err, b)
	}
}
