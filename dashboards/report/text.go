package report

import (
	"strings"
	"unicode"
)

// text makes a string that comes from data (a service, a platform, a region
// code, any name an event carried) safe to put in the report's inline text,
// whose only markup is **bold** (see block): every character that Markdown
// could read as markup is escaped with a backslash, which the HTML renderer
// (inline) reads back as the character itself; line breaks and other control
// characters become spaces, so a value cannot start a heading, a list item
// or a table row; "://" is broken so that no renderer makes a link of it.
// Every writer of the report calls it on every such string, once, where the
// string enters a block; the report's own words are never passed through it.
func text(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case strings.ContainsRune("\\`*_[]<>|~&", r), unicode.Is(unicode.Co, r),
			i == 0 && strings.ContainsRune("#-+>=!.", r),
			r == '/' && strings.HasSuffix(s[:i], ":"):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// texts is text over a list, joined with ", ".
func texts(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return strings.Join(out, ", ")
}

// inline renders the report's inline text as HTML: escaped, its **bold**
// as <strong>, and the characters text escaped shown as themselves (never
// as markup). Each escaped character is set aside as a private-use rune
// while the bold is found, then put back; text escapes private-use runes
// from data, so none can pose as one.
func inline(s string) string {
	var lits []rune
	var held strings.Builder
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			held.WriteRune(privateUse + rune(len(lits)))
			lits = append(lits, r)
			escaped = false
		case r == '\\':
			escaped = true
		default:
			held.WriteRune(r)
		}
	}
	if escaped {
		held.WriteByte('\\')
	}
	parts := strings.Split(esc(held.String()), "**")
	var b strings.Builder
	for i, part := range parts {
		if i%2 == 1 && i < len(parts)-1 {
			b.WriteString("<strong>" + part + "</strong>")
			continue
		}
		if i%2 == 1 { // an unpaired ** stays as typed
			b.WriteString("**")
		}
		b.WriteString(part)
	}
	var out strings.Builder
	for _, r := range b.String() {
		if r >= privateUse && r < privateUse+rune(len(lits)) {
			out.WriteString(esc(string(lits[r-privateUse])))
			continue
		}
		out.WriteRune(r)
	}
	return out.String()
}

// privateUse starts the runes inline sets escaped characters aside as.
const privateUse = '\uE000'
