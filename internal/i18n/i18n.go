// Package i18n holds Vigie's words for people in French and in English: the
// message catalogues (locales/<area>.<lang>.yaml, embedded in the binary and
// read with go-i18n), the choice of a language from a flag, a query
// parameter, a preference or an Accept-Language header, and numbers, dates
// and durations written as each language writes them.
//
// French is the default: our readers are French. Every message exists in
// every language (a test fails otherwise), so a missing translation is a
// build failure, never an English word in a French report. It does not hold
// identifiers, SQL, metric names or log lines, which stay in English.
package i18n

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

// Lang is a language Vigie speaks.
type Lang string

const (
	French  Lang = "fr"
	English Lang = "en"
	// Default is the language of everything no one chose a language for.
	Default = French
)

// Langs lists the languages every catalogue has, the default first.
var Langs = []Lang{French, English}

// Parse reads a language as users write it ("fr", "FR", "fr-FR", "en_GB",
// "english" is refused); "" is the default.
func Parse(s string) (Lang, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return Default, nil
	}
	base, _, _ := strings.Cut(strings.ReplaceAll(s, "_", "-"), "-")
	for _, l := range Langs {
		if base == string(l) {
			return l, nil
		}
	}
	return "", fmt.Errorf("language %q is not one Vigie speaks (fr, en)", s)
}

// Negotiate picks the language of an Accept-Language header, or the
// default when it names none Vigie speaks.
func Negotiate(acceptLanguage string) Lang {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil {
		return Default
	}
	for _, t := range tags {
		base, _ := t.Base()
		if l, err := Parse(base.String()); err == nil {
			return l
		}
	}
	return Default
}

//go:embed locales/*.yaml
var files embed.FS

var (
	loadOnce sync.Once
	bundle   *goi18n.Bundle
	keys     map[Lang]map[string]string // every message's "other" form, per language
	loadErr  error
)

func load() {
	bundle = goi18n.NewBundle(language.French)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	keys = map[Lang]map[string]string{}
	names, err := fs.Glob(files, "locales/*.yaml")
	if err != nil {
		loadErr = err
		return
	}
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			loadErr = err
			return
		}
		mf, err := bundle.ParseMessageFileBytes(data, path.Base(name))
		if err != nil {
			loadErr = fmt.Errorf("i18n: %s: %w", name, err)
			return
		}
		l, err := Parse(mf.Tag.String())
		if err != nil {
			loadErr = fmt.Errorf("i18n: %s: %w", name, err)
			return
		}
		if keys[l] == nil {
			keys[l] = map[string]string{}
		}
		for _, m := range mf.Messages {
			if _, dup := keys[l][m.ID]; dup {
				loadErr = fmt.Errorf("i18n: %s: message %q is defined twice for %s", name, m.ID, l)
				return
			}
			keys[l][m.ID] = m.Other
		}
	}
}

func loaded() error {
	loadOnce.Do(load)
	return loadErr
}

// Printer writes messages, numbers and dates in one language.
type Printer struct {
	lang Lang
	loc  *goi18n.Localizer
}

// For returns the printer of a language. The catalogues are embedded and
// checked by the tests, so a load failure is a programming error: it
// panics.
func For(l Lang) *Printer {
	if err := loaded(); err != nil {
		panic(err)
	}
	l, err := Parse(string(l))
	if err != nil {
		l = Default
	}
	return &Printer{lang: l, loc: goi18n.NewLocalizer(bundle, string(l))}
}

// Lang is the printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// T is the message id, its {{.Name}} fields filled from data (pairs of name
// and value). An id missing from the catalogue comes back as "⟦id⟧", which
// the tests look for, rather than as an empty string or a panic in front of
// a reader.
func (p *Printer) T(id string, data ...any) string {
	return p.tr(id, nil, data)
}

// N is T for a message with plural forms ("one", "other"), chosen by n,
// which is also available to the message as {{.N}}.
func (p *Printer) N(id string, n int64, data ...any) string {
	return p.tr(id, n, append([]any{"N", p.Int(n)}, data...))
}

func (p *Printer) tr(id string, count any, data []any) string {
	fields := map[string]any{}
	for i := 0; i+1 < len(data); i += 2 {
		fields[fmt.Sprint(data[i])] = data[i+1]
	}
	s, err := p.loc.Localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: fields, PluralCount: count})
	if err != nil || s == "" {
		return "⟦" + id + "⟧"
	}
	return s
}

// Has reports whether the catalogue defines id.
func Has(l Lang, id string) bool {
	if loaded() != nil {
		return false
	}
	_, ok := keys[l][id]
	return ok
}

// Catalogue returns the messages of a language whose ids start with prefix
// (their "other" form), for a page's script to show: the dashboard gets
// "web." messages this way.
func Catalogue(l Lang, prefix string) map[string]string {
	out := map[string]string{}
	if loaded() != nil {
		return out
	}
	for id, s := range keys[l] {
		if strings.HasPrefix(id, prefix) {
			out[id] = s
		}
	}
	return out
}

// ids lists a language's message ids, sorted.
func ids(l Lang) []string {
	var out []string
	for id := range keys[l] {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
