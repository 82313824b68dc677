package sandbox

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// node is one node of the syntax tree the engine printed for
// "EXPLAIN AST <statement>": its type (SelectQuery, Function, TableIdentifier…),
// the detail after the type (a function's or a table's name, a literal), and
// its children in order.
type node struct {
	typ      string
	detail   string
	children []*node
}

// The engine prints one node per line, indented by its depth, as
//
//	Type[ detail][ (alias name)][ (children N)]
//
// Names (identifiers, aliases, function names) are printed raw, so a name
// holding a line break prints a line of its own that may look like a node.
// The reader is therefore strict: every line must parse, each node sits
// exactly one level under an unfinished parent, and every node has exactly
// the number of children the engine announced. A forged line is one node
// too many and the statement is refused rather than misread; and since a
// parent announces its children on its own line, before any name of theirs
// is printed, a forged line cannot take a real node away from the parent it
// is checked under (a table function stays under its TableExpression, an
// INTO OUTFILE path under its query). Literals are printed escaped and have
// no children.
var (
	lineRE    = regexp.MustCompile(`^( *)([A-Za-z][A-Za-z0-9_:]*)(?: ([^\n]*?))??(?: \(alias [^\n]+?\))?(?: \(children ([0-9]+)\))?$`)
	literalRE = regexp.MustCompile(`^( *)Literal (.*)$`)
	aliasTail = regexp.MustCompile(` \(alias [^\n]+\)$`)
)

// errUnreadable is wrapped when the engine's tree could not be read back
// exactly: the statement is refused, never guessed at.
var errUnreadable = errors.New("the statement's syntax tree could not be read back exactly " +
	"(a name holding a line break?)")

// parseTree reads the engine's EXPLAIN AST lines into one tree.
func parseTree(lines []string) (*node, error) {
	type entry struct {
		n     *node
		depth int
		want  int
	}
	var stack []entry
	var root *node
	for i, line := range lines {
		if line == "" && i == len(lines)-1 {
			break
		}
		var (
			n     *node
			depth int
			want  int
		)
		if m := literalRE.FindStringSubmatch(line); m != nil {
			depth = len(m[1])
			n = &node{typ: "Literal", detail: aliasTail.ReplaceAllString(m[2], "")}
		} else if m := lineRE.FindStringSubmatch(line); m != nil {
			depth = len(m[1])
			n = &node{typ: m[2], detail: m[3]}
			if m[4] != "" {
				var err error
				if want, err = strconv.Atoi(m[4]); err != nil || want > len(lines) {
					return nil, fmt.Errorf("%w: line %d announces %q children", errUnreadable, i+1, m[4])
				}
			}
		} else {
			return nil, fmt.Errorf("%w: line %d is %q", errUnreadable, i+1, abbreviate(line))
		}
		// Close every node whose children are all read.
		for len(stack) > 0 && len(stack[len(stack)-1].n.children) == stack[len(stack)-1].want {
			stack = stack[:len(stack)-1]
		}
		switch {
		case root == nil && depth == 0:
			root = n
		case len(stack) == 0:
			return nil, fmt.Errorf("%w: line %d is outside the tree", errUnreadable, i+1)
		case depth != stack[len(stack)-1].depth+1:
			return nil, fmt.Errorf("%w: line %d is at depth %d under a node at depth %d", errUnreadable, i+1, depth, stack[len(stack)-1].depth)
		default:
			p := stack[len(stack)-1].n
			p.children = append(p.children, n)
		}
		stack = append(stack, entry{n: n, depth: depth, want: want})
	}
	if root == nil {
		return nil, fmt.Errorf("%w: it is empty", errUnreadable)
	}
	for _, e := range stack {
		if len(e.n.children) != e.want {
			return nil, fmt.Errorf("%w: %s has %d children, the engine announced %d", errUnreadable, e.n.typ, len(e.n.children), e.want)
		}
	}
	return root, nil
}

// abbreviate keeps messages readable: the first 120 bytes on one line.
func abbreviate(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}
