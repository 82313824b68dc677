package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEveryMessageInEveryLanguage is the missing-translation check: a
// message defined in one language and not in another, or empty, fails.
func TestEveryMessageInEveryLanguage(t *testing.T) {
	if err := loaded(); err != nil {
		t.Fatal(err)
	}
	for _, a := range Langs {
		if len(keys[a]) == 0 {
			t.Fatalf("no messages for %s", a)
		}
		for _, id := range ids(a) {
			if strings.TrimSpace(keys[a][id]) == "" {
				t.Errorf("%s: message %q is empty", a, id)
			}
			for _, b := range Langs {
				if _, ok := keys[b][id]; !ok {
					t.Errorf("message %q exists in %s but has no %s translation", id, a, b)
				}
			}
		}
	}
}

// TestEveryIDUsedExists reads the module's Go files for calls .T("id"),
// .N("id", …) and i18n.Has(lang, "id") with a literal id, and fails on an id
// no catalogue defines: the other half of the missing-translation check.
// Ids built at run time (month.N) are checked by the tests of their
// callers.
func TestEveryIDUsedExists(t *testing.T) {
	if err := loaded(); err != nil {
		t.Fatal(err)
	}
	root := "../.."
	fset := token.NewFileSet()
	found := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "T" && sel.Sel.Name != "N") {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			id, _ := strconv.Unquote(lit.Value)
			if strings.HasSuffix(p, "_test.go") && strings.HasPrefix(id, "test.") {
				return true
			}
			found++
			for _, l := range Langs {
				if _, ok := keys[l][id]; !ok {
					t.Errorf("%s: message %q is not in the %s catalogue", fset.Position(lit.Pos()), id, l)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("found no message ids in the module's code: the walk is broken")
	}
}

func TestMissingIDIsVisible(t *testing.T) {
	if p := For(""); p.Lang() != French || p.Percent(0.5, 0) != "50\u00a0%" {
		t.Errorf("For(\"\") speaks %q and writes %q, want the default, French", p.Lang(), p.Percent(0.5, 0))
	}
	if got := For(French).T("test.no-such-message"); got != "⟦test.no-such-message⟧" {
		t.Errorf("missing id gave %q", got)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Lang{"": French, "fr": French, "FR": French, "fr-FR": French, "fr_CA": French, "en": English, "en-GB": English} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"de", "english", "f", "<script>"} {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), strconv.Quote(strings.ToLower(in))) {
			t.Errorf("Parse(%q): %v, want an error naming it", in, err)
		}
	}
	for in, want := range map[string]Lang{"en-US,en;q=0.9,fr;q=0.8": English, "de-DE,fr;q=0.5": French, "de": French, "": French, "garbage;;": French} {
		if got := Negotiate(in); got != want {
			t.Errorf("Negotiate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormats(t *testing.T) {
	fr, en := For(French), For(English)
	paris, _ := time.LoadLocation("Europe/Paris")
	at := time.Date(2021, 4, 6, 8, 5, 0, 0, paris)
	for _, c := range []struct{ got, want string }{
		{fr.Int(8190), "8\u202f190"},
		{en.Int(8190), "8,190"},
		{fr.Int(-1234567), "-1\u202f234\u202f567"},
		{en.Int(999), "999"},
		{fr.Percent(0.403, 1), "40,3\u00a0%"},
		{en.Percent(0.403, 1), "40.3%"},
		{fr.Float(-0.04, 1), "0,0"},
		{fr.Float(12345.678, 2), "12\u202f345,68"},
		{fr.DateTime(at), "6 avril 2021 à 08\u00a0h\u00a005"},
		{en.DateTime(at), "6 April 2021 at 08:05"},
		{fr.Date(time.Date(2020, 3, 1, 0, 0, 0, 0, paris)), "1er mars 2020"},
		{fr.Weekday(time.Monday), "lundi"},
		{fr.Duration(45 * time.Minute), "45 min"},
		{fr.Duration(195 * time.Minute), "3 h 15 min"},
		{fr.Duration(2 * time.Hour), "2 h"},
		{fr.Duration(52*time.Hour + 20*time.Minute), "2 j 4 h"},
		{en.Duration(52 * time.Hour), "2 d 4 h"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCatalogue(t *testing.T) {
	c := Catalogue(English, "month.")
	if len(c) != 12 || c["month.4"] != "April" {
		t.Errorf("Catalogue(en, month.) = %v", c)
	}
}
