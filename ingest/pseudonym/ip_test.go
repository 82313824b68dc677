package pseudonym

import (
	"maps"
	"testing"
)

func TestFullIPAddressesInAttrsAreCutToTheirNetwork(t *testing.T) {
	attrs := map[string]string{
		"src":    "192.0.2.77",
		"client": "198.51.100.9:44321",
		"v6":     "2001:db8:1234:5678::1",
		"mapped": "::ffff:203.0.113.5",
		"ua":     "Mozilla/5.0",
		"note":   "10.0", // a number, not an address
	}
	n := TruncateIPs(attrs)
	want := map[string]string{
		"src": "192.0.2.0/24", "client": "198.51.100.0/24", "v6": "2001:db8:1234::/48",
		"mapped": "203.0.113.0/24", "ua": "Mozilla/5.0", "note": "10.0",
	}
	if n != 4 || !maps.Equal(attrs, want) {
		t.Fatalf("changed %d: %v, want 4: %v", n, attrs, want)
	}
}
