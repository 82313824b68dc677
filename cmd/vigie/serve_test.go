package main

import (
	"strings"
	"testing"
)

// TestRoleHelpNamesOnlyItsRoutes keeps each long-running command's --help to
// what its parts serve (cmd/vigie/app registers the routes per part).
func TestRoleHelpNamesOnlyItsRoutes(t *testing.T) {
	const ingest, dashboards = "/v1/events", "/api/v1/"
	for _, tc := range []struct {
		cmd               string
		ingest, dashboard bool
	}{
		{"serve", true, true},
		{"collect", true, false},
		{"aggregate", false, false},
		{"dashboards", false, true},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			long := serveCmd(&globals{}, tc.cmd).Long
			if got := strings.Contains(long, "POST "+ingest); got != tc.ingest {
				t.Errorf("vigie %s --help names %s: %v, want %v\n%s", tc.cmd, ingest, got, tc.ingest, long)
			}
			if got := strings.Contains(long, dashboards); got != tc.dashboard {
				t.Errorf("vigie %s --help names %s: %v, want %v\n%s", tc.cmd, dashboards, got, tc.dashboard, long)
			}
			if !strings.Contains(long, "/metrics") || !strings.Contains(long, "/readyz") {
				t.Errorf("vigie %s --help does not name /metrics and /readyz, which every role serves", tc.cmd)
			}
		})
	}
}
