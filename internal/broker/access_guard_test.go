package broker_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Every kafka-go client the product makes gets its TLS and SASL from
// broker.Access: no code outside access.go builds a Transport or a Dialer
// or dials by itself, every Client and Writer names its Transport and every
// ReaderConfig and ConsumerGroupConfig its Dialer. A new client written the plain way
// would talk to a secured cluster in clear, or not at all.
func TestEveryKafkaClientGoesThroughAccess(t *testing.T) {
	const root = "../.."
	forbidden := map[string]bool{"Transport": true, "Dialer": true,
		"Dial": true, "DialContext": true, "DialLeader": true, "DialPartition": true}
	// The field through which each client gets Access's TLS and SASL.
	needs := map[string]string{"Client": "Transport", "Writer": "Transport", "ReaderConfig": "Dialer", "ConsumerGroupConfig": "Dialer"}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// Test helpers talk to the embedded broker in clear on purpose.
			if rel != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), "test")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || rel == filepath.Join("internal", "broker", "access.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		kafka := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"github.com/segmentio/kafka-go"` {
				kafka = "kafka"
				if imp.Name != nil {
					kafka = imp.Name.Name
				}
			}
		}
		if kafka == "" {
			return nil
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				name := selector(n.Type, kafka)
				if forbidden[name] {
					t.Errorf("%s: kafka.%s{…} built outside broker.Access (use Access.Dialer, Access.Client, NewWriter)", fset.Position(n.Pos()), name)
				} else if field := needs[name]; field != "" && !hasField(n, field) {
					t.Errorf("%s: kafka.%s without its %s (take it from broker.Access)", fset.Position(n.Pos()), name, field)
				}
			case *ast.CallExpr:
				if name := selector(n.Fun, kafka); forbidden[name] {
					t.Errorf("%s: kafka.%s outside broker.Access (use Access.Dialer())", fset.Position(n.Pos()), name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 5 {
		t.Fatalf("only %d files import kafka-go: the walk missed the code", checked)
	}
}

func selector(e ast.Expr, pkg string) string {
	if u, ok := e.(*ast.UnaryExpr); ok {
		e = u.X
	}
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if id, ok := s.X.(*ast.Ident); ok && id.Name == pkg {
		return s.Sel.Name
	}
	return ""
}

func hasField(l *ast.CompositeLit, name string) bool {
	for _, e := range l.Elts {
		if kv, ok := e.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == name {
				return true
			}
		}
	}
	return false
}
