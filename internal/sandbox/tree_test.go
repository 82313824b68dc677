package sandbox

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTree(t *testing.T) {
	ok := []string{
		"SelectWithUnionQuery (children 1)",
		" ExpressionList (children 1)",
		"  SelectQuery (children 2)",
		"   ExpressionList (children 2)",
		"    Literal 'a (children 3)' (alias `p95 (ms)`)",
		"    Function plus (alias x) (children 1)",
		"     ExpressionList (children 2)",
		"      Identifier a",
		"      Literal UInt64_1",
		"   TablesInSelectQuery (children 1)",
		"    TablesInSelectQueryElement (children 1)",
		"     TableExpression (children 1)",
		"      TableIdentifier vigie.t (alias t)",
	}
	root, err := parseTree(ok)
	if err != nil {
		t.Fatal(err)
	}
	sel := root.children[0].children[0]
	if sel.typ != "SelectQuery" || len(sel.children) != 2 || sel.children[0].children[1].detail != "plus" ||
		sel.children[1].children[0].children[0].children[0].detail != "vigie.t" {
		t.Fatalf("misread tree: %+v", sel)
	}
	bad := map[string][]string{
		"a line forged by an alias holding a line break": {
			"SelectWithUnionQuery (children 1)",
			" ExpressionList (children 1)",
			"  SelectQuery (children 1)",
			"   ExpressionList (children 1)",
			"    Literal UInt64_1 (alias a",
			"   Function file)",
		},
		"fewer children than announced": {"SelectWithUnionQuery (children 2)", " ExpressionList"},
		"a child two levels down":       {"SelectWithUnionQuery (children 1)", "   ExpressionList"},
		"two roots":                     {"ShowTables", "ShowTables"},
		"a line that is no node":        {"SelectWithUnionQuery (children 1)", " (children 3))"},
		"nothing":                       {},
	}
	for name, lines := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := parseTree(lines); !errors.Is(err, errUnreadable) {
				t.Fatalf("got %v, want errUnreadable for\n%s", err, strings.Join(lines, "\n"))
			}
		})
	}
}
