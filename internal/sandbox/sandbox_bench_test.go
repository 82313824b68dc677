package sandbox_test

import (
	"testing"

	"github.com/vigie-fr/vigie/internal/sandbox"
)

// What the engine's parse and the walk add to a statement: compare
// BenchmarkQuery/sandbox with BenchmarkQuery/engine-only.
func BenchmarkQuery(b *testing.B) {
	if testDBErr != nil {
		b.Skip(testDBErr)
	}
	const sql = "SELECT a, count() FROM sandbox_test.t WHERE a IN (SELECT number FROM numbers(3)) GROUP BY a ORDER BY a"
	b.Run("sandbox", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := sandbox.Query(b.Context(), testDB, sql, lim); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("engine-only", func(b *testing.B) {
		l := lim
		l.MaxRows = 0
		for b.Loop() {
			if _, err := testDB.QueryReadOnly(b.Context(), sql, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
