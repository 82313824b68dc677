package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kubeDocs returns every document of deploy/kubernetes/ by kind.
func kubeDocs(t *testing.T) map[string][]map[string]any {
	t.Helper()
	files, _ := filepath.Glob("../../deploy/kubernetes/*.yaml")
	out := map[string][]map[string]any{}
	for _, f := range files {
		for _, d := range yamlDocs(t, f) {
			if k, ok := d["kind"].(string); ok {
				out[k] = append(out[k], d)
			}
		}
	}
	return out
}

// selects reports whether a label selector (matchLabels, matchExpressions
// with In) selects a pod with labels.
func selects(sel any, labels map[string]any) bool {
	for k, v := range asMap(dig(sel, "matchLabels")) {
		if labels[k] != v {
			return false
		}
	}
	for _, e := range asList(dig(sel, "matchExpressions")) {
		if dig(e, "operator") != "In" || !slices.Contains(asList(dig(e, "values")), labels[dig(e, "key").(string)]) {
			return false
		}
	}
	return true
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }
func asList(v any) []any         { l, _ := v.([]any); return l }

// gibibytes reads a Kubernetes memory quantity in Mi or Gi.
func gibibytes(t *testing.T, q any) float64 {
	t.Helper()
	s := fmt.Sprint(q)
	for suffix, f := range map[string]float64{"Gi": 1, "Mi": 1.0 / 1024} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err == nil {
				return v * f
			}
		}
	}
	t.Fatalf("memory quantity %q: want Mi or Gi", s)
	return 0
}

// Every vigie pod runs non-root on a read-only root file system with
// requests and limits; the aggregator's memory request covers the peak
// measured on the 10 M-event day (1.7 GiB RSS, the whole pipeline in one
// process); a PodDisruptionBudget covers every part with more than one
// replica; NetworkPolicies deny by default and open the ports the
// containers serve; the ServiceMonitor reaches every pod's ops port; images
// are pinned.
func TestKubernetesManifestsAreHardened(t *testing.T) {
	docs := kubeDocs(t)
	const measuredPeakGiB = 1.7
	pdbs, policies := docs["PodDisruptionBudget"], docs["NetworkPolicy"]
	var metricsService map[string]any
	for _, s := range docs["Service"] {
		if dig(s, "metadata", "name") == "vigie-metrics" {
			metricsService = s
		}
	}
	if len(docs["ServiceMonitor"]) != 1 || metricsService == nil {
		t.Fatalf("want one ServiceMonitor and the vigie-metrics Service, have %d and %v", len(docs["ServiceMonitor"]), metricsService != nil)
	}
	sm := docs["ServiceMonitor"][0]
	if !selects(dig(sm, "spec", "selector"), asMap(dig(metricsService, "metadata", "labels"))) {
		t.Error("the ServiceMonitor does not select the vigie-metrics Service")
	}
	smPort := dig(sm, "spec", "endpoints", 0, "port")
	if dig(metricsService, "spec", "ports", 0, "name") != smPort || dig(sm, "spec", "endpoints", 0, "path") != "/metrics" {
		t.Errorf("the ServiceMonitor scrapes port %v, the Service names %v", smPort, dig(metricsService, "spec", "ports", 0, "name"))
	}
	if len(docs["Deployment"]) != 4 {
		t.Fatalf("%d Deployments, want collect, aggregate, dashboards, alerts", len(docs["Deployment"]))
	}
	for _, d := range docs["Deployment"] {
		name := dig(d, "metadata", "name").(string)
		t.Run(name, func(t *testing.T) {
			pod := dig(d, "spec", "template")
			labels := asMap(dig(pod, "metadata", "labels"))
			c := dig(pod, "spec", "containers", 0)
			sc := dig(c, "securityContext")
			if dig(pod, "spec", "securityContext", "runAsNonRoot") != true || dig(sc, "readOnlyRootFilesystem") != true ||
				dig(sc, "allowPrivilegeEscalation") != false || !slices.Contains(asList(dig(sc, "capabilities", "drop")), any("ALL")) {
				t.Errorf("want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, every capability dropped: %v %v", dig(pod, "spec", "securityContext"), sc)
			}
			mounts := map[any]bool{}
			for _, m := range asList(dig(c, "volumeMounts")) {
				mounts[dig(m, "mountPath")] = true
			}
			if !mounts["/tmp"] {
				t.Error("no writable /tmp on a read-only root file system")
			}
			res := dig(c, "resources")
			if dig(res, "requests", "cpu") == nil || dig(res, "requests", "memory") == nil || dig(res, "limits", "memory") == nil {
				t.Errorf("resources %v: want cpu and memory requests and a memory limit", res)
			} else if req, lim := gibibytes(t, dig(res, "requests", "memory")), gibibytes(t, dig(res, "limits", "memory")); lim < req {
				t.Errorf("memory limit %v below its request %v", lim, req)
			} else if name == "vigie-aggregate" && req < measuredPeakGiB {
				t.Errorf("vigie-aggregate requests %.2f GiB, below the %.1f GiB measured peak", req, measuredPeakGiB)
			}
			covered := false
			for _, p := range pdbs {
				covered = covered || selects(dig(p, "spec", "selector"), labels)
			}
			if replicas := dig(d, "spec", "replicas").(int); covered != (replicas > 1) {
				t.Errorf("%d replicas, PodDisruptionBudget %v: want one exactly when there is more than one replica", replicas, covered)
			}
			if !selects(dig(metricsService, "spec", "selector"), labels) || !slices.ContainsFunc(asList(dig(c, "ports")), func(p any) bool {
				return dig(p, "name") == dig(metricsService, "spec", "ports", 0, "targetPort")
			}) {
				t.Error("the vigie-metrics Service does not reach this pod's ops port")
			}
			// Deny by default, in both directions; whatever a policy opens
			// for ingress is a port the container serves.
			var in, out bool
			for _, np := range policies {
				if !selects(dig(np, "spec", "podSelector"), labels) {
					continue
				}
				types := asList(dig(np, "spec", "policyTypes"))
				in = in || slices.Contains(types, any("Ingress"))
				out = out || slices.Contains(types, any("Egress"))
				for _, rule := range asList(dig(np, "spec", "ingress")) {
					for _, p := range asList(dig(rule, "ports")) {
						if !slices.ContainsFunc(asList(dig(c, "ports")), func(cp any) bool { return dig(cp, "containerPort") == dig(p, "port") }) {
							t.Errorf("NetworkPolicy %v opens port %v, which the container does not serve", dig(np, "metadata", "name"), dig(p, "port"))
						}
					}
				}
			}
			if !in || !out {
				t.Errorf("NetworkPolicies restrict ingress %v, egress %v: want both", in, out)
			}
		})
	}
	for _, k := range yamlDocs(t, "../../deploy/kubernetes/kustomization.yaml") {
		for _, img := range asList(dig(k, "images")) {
			if tag := fmt.Sprint(dig(img, "newTag")); dig(img, "digest") == nil && (tag == "" || tag == "latest" || tag == "<nil>") {
				t.Errorf("image %v is not pinned: newTag %q", dig(img, "name"), tag)
			}
		}
	}
}

// Compose pins every image to a full version and runs vigie read-only,
// non-root, with writable /tmp and data_dir.
func TestComposeIsPinnedAndHardened(t *testing.T) {
	cleanEnv(t)
	doc := yamlDocs(t, "../../deploy/compose.yaml")[0]
	pinned := regexp.MustCompile(`:v?\d+\.\d+\.\d+[^:]*$`)
	for name, svc := range asMap(dig(doc, "services")) {
		if img := fmt.Sprint(dig(svc, "image")); !pinned.MatchString(img) {
			t.Errorf("service %s: image %q is not pinned to a full version", name, img)
		}
	}
	want, err := Load(clusterFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"collect", "aggregate", "dashboards"} {
		svc := dig(doc, "services", part)
		var tmpfs []string
		for _, m := range asList(dig(svc, "tmpfs")) {
			p, _, _ := strings.Cut(m.(string), ":")
			tmpfs = append(tmpfs, p)
		}
		if dig(svc, "read_only") != true || dig(svc, "user") != "65532:65532" || !slices.Contains(tmpfs, "/tmp") || !slices.Contains(tmpfs, want.DataDir) {
			t.Errorf("service %s: read_only %v, user %v, tmpfs %v: want a read-only root, the non-root user, /tmp and %s writable",
				part, dig(svc, "read_only"), dig(svc, "user"), tmpfs, want.DataDir)
		}
	}
}
