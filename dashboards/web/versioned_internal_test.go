package web

import "testing"

// The answers kept for reuse: a new version of the aggregates drops every
// answer of the older one at once, and the byte budget holds within a
// version, oldest forgotten first.
func TestVersionedKeepsOneVersionWithinItsBudget(t *testing.T) {
	c := newVersioned(10, 10, func(b []byte) int { return len(b) })
	c.put("a", "v1", []byte("aaaa"))
	c.put("b", "v1", []byte("bbbb"))
	if got, ok := c.get("a", "v1"); !ok || string(got) != "aaaa" {
		t.Fatalf("a at v1: %q %v", got, ok)
	}
	c.put("c", "v1", []byte("cccc")) // 12 bytes > 10: a, the oldest, goes
	if _, ok := c.get("a", "v1"); ok {
		t.Error("a is still kept past the budget")
	}
	if got, ok := c.get("c", "v1"); !ok || string(got) != "cccc" || c.weight != 8 || len(c.order) != 2 {
		t.Errorf("c at v1: %q %v; weight %d, %d keys; want 8 bytes in 2", got, ok, c.weight, len(c.order))
	}
	c.put("d", "v2", []byte("dd"))
	if _, ok := c.get("b", "v1"); ok {
		t.Error("an answer of v1 is served after v2 was stored")
	}
	if len(c.items) != 1 || c.weight != 2 {
		t.Errorf("after v2: %d answers weighing %d kept, want only d's 2 bytes", len(c.items), c.weight)
	}
	c.put("d", "v2", []byte("ddd")) // a replaced answer's weight is replaced too
	c.put("huge", "v2", []byte("0123456789x"))
	if _, ok := c.get("huge", "v2"); ok || c.weight != 3 {
		t.Errorf("an answer over the whole budget was kept (weight %d)", c.weight)
	}
	n := newVersioned[int](2, 2, nil)
	n.put("x", "v", 1)
	n.put("y", "v", 2)
	n.put("z", "v", 3)
	if _, ok := n.get("x", "v"); ok || len(n.items) != 2 {
		t.Errorf("count bound: %d kept, x still there: %v", len(n.items), ok)
	}
}
