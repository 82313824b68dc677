package sandbox

import "testing"

func TestStatementScanning(t *testing.T) {
	tests := []struct {
		name      string
		sql       string
		trimmed   string
		wrappable bool
	}{
		{"a plain SELECT is kept", "SELECT 1", "SELECT 1", true},
		{"a trailing semicolon and comment go", "SELECT 1; -- end\n\n", "SELECT 1", true},
		{"a leading comment stays and WITH is a SELECT", "-- q\nWITH 2 AS x SELECT x;", "-- q\nWITH 2 AS x SELECT x", true},
		{"a semicolon inside a string is not the end", "SELECT ';' -- x;\n", "SELECT ';'", true},
		{"hash and block comments are comments", "/* a; */ SELECT 1 # b;\n;", "/* a; */ SELECT 1", true},
		{"a top-level SETTINGS clause is run as written", "SELECT 1 SETTINGS readonly = 0", "SELECT 1 SETTINGS readonly = 0", false},
		{"a SETTINGS clause inside a subquery does not stop the wrap", "SELECT * FROM (SELECT 1 SETTINGS a = 1) AS s", "SELECT * FROM (SELECT 1 SETTINGS a = 1) AS s", true},
		{"a FORMAT clause is run as written", "select 1 format JSON", "select 1 format JSON", false},
		{"SHOW is not a SELECT", "SHOW TABLES FROM vigie;", "SHOW TABLES FROM vigie", false},
		{"a column named in quotes is not a keyword", "SELECT 'SETTINGS'", "SELECT 'SETTINGS'", true},
		{"only comments is empty", "-- nothing\n/* at all */", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Trim(tt.sql); got != tt.trimmed {
				t.Errorf("Trim = %q, want %q", got, tt.trimmed)
			}
			if got := wrappable(Trim(tt.sql)); got != tt.wrappable {
				t.Errorf("wrappable = %v, want %v", got, tt.wrappable)
			}
		})
	}
}
