package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/incident"
	tzparis "github.com/vigie-fr/vigie/internal/paris"
)

// maxHourColumns is the widest region × hour table; longer ranges get one
// column per day so the table stays readable.
const maxHourColumns = 36

// paris is where the readers are; every time in the Markdown is local.
var paris = tzparis.Location

// WriteJSON writes the report as indented JSON, times in UTC.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for people, times in Europe/Paris.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	p("# %s\n", r.title())
	for _, bl := range r.blocks() {
		if bl.chart != "" {
			continue // charts are drawn in HTML only
		}
		p("\n")
		switch {
		case bl.heading != "":
			p("## %s\n", bl.heading)
		case bl.para != "":
			p("%s\n", bl.para)
		case bl.items != nil:
			for _, it := range bl.items {
				p("- %s\n", it)
			}
		case bl.table != nil:
			writeMarkdownTable(p, bl.table)
		case bl.grid != nil:
			r.writeGrid(p, bl.grid)
		}
	}
	return b.Flush()
}

type printf func(format string, a ...any)

func writeMarkdownTable(p printf, t *table) {
	p("|")
	for _, h := range t.head {
		p(" %s |", h)
	}
	p("\n|")
	for _, right := range t.right {
		if right {
			p("---:|")
		} else {
			p("---|")
		}
	}
	p("\n")
	for _, row := range t.rows {
		p("|")
		for _, c := range row {
			p(" %s |", c)
		}
		p("\n")
	}
}

// gridColumns are a grid's columns: its hours with data, or Paris days when
// there are more than maxHourColumns of them.
type gridColumns struct {
	cols  []time.Time
	label func(time.Time) string
	daily bool
	// sums[region][column]
	sums map[string]map[time.Time]*okFailed
}

type okFailed struct{ ok, failed uint64 }

// availability is nil-safe: ok is false where nothing could fail.
func (s *okFailed) availability() (float64, bool) {
	if s == nil || s.ok+s.failed == 0 {
		return 0, false
	}
	return ratio(s.ok, s.ok+s.failed), true
}

func (r *Report) columns(g *Grid) gridColumns {
	colOf := func(t time.Time) time.Time { return t }
	c := gridColumns{label: func(t time.Time) string { return t.In(paris).Format("15h") }}
	if r.From.In(paris).YearDay() != r.To.Add(-time.Nanosecond).In(paris).YearDay() {
		c.label = func(t time.Time) string { return t.In(paris).Format("02/01 15h") }
	}
	c.cols = distinctBuckets(g.Cells, colOf)
	if len(c.cols) > maxHourColumns {
		colOf = func(t time.Time) time.Time {
			l := t.In(paris)
			return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, paris)
		}
		c.label = func(t time.Time) string { return t.In(paris).Format("02/01") }
		c.cols = distinctBuckets(g.Cells, colOf)
		c.daily = true
	}
	c.sums = map[string]map[time.Time]*okFailed{}
	for _, cell := range g.Cells {
		if c.sums[cell.Region] == nil {
			c.sums[cell.Region] = map[time.Time]*okFailed{}
		}
		k := colOf(cell.Bucket)
		if c.sums[cell.Region][k] == nil {
			c.sums[cell.Region][k] = &okFailed{}
		}
		c.sums[cell.Region][k].ok += cell.OK
		c.sums[cell.Region][k].failed += cell.Failed
	}
	return c
}

// writeGrid writes one platform's availability table, rows = regions.
func (r *Report) writeGrid(p printf, g *Grid) {
	if len(g.Cells) == 0 {
		p("No %s traffic in the range.\n", strings.ToUpper(g.Platform))
		return
	}
	c := r.columns(g)
	if c.daily {
		p("One column per day (Paris); ")
	} else {
		p("One column per hour (Paris); ")
	}
	p("availability in %%, **bold** below the %s target, · where there was no attempt.\n\n", pct(r.Objective.AvailabilityTarget))
	p("| Region |")
	for _, col := range c.cols {
		p(" %s |", c.label(col))
	}
	p("\n|---|%s\n", strings.Repeat("---:|", len(c.cols)))
	for _, region := range g.Regions {
		p("| %s |", regionLabel(region))
		for _, col := range c.cols {
			a, ok := c.sums[region][col].availability()
			if !ok {
				p(" · |")
				continue
			}
			v := num1(a * 100)
			if a < r.Objective.AvailabilityTarget {
				v = "**" + v + "**"
			}
			p(" %s |", v)
		}
		p("\n")
	}
}

func distinctBuckets(cells []Cell, colOf func(time.Time) time.Time) []time.Time {
	seen := map[time.Time]bool{}
	var out []time.Time
	for _, c := range cells {
		k := colOf(c.Bucket)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// regionLabel names a region for the report's inline text (see text).
func regionLabel(code string) string {
	if n := RegionName(code); n != code {
		return fmt.Sprintf("%s (%s)", text(n), text(code))
	}
	return text(code)
}

func reasonText(reason string) string {
	switch reason {
	case incident.ReasonAvailability:
		return "availability"
	case incident.ReasonLatency:
		return "response time"
	case incident.ReasonBoth:
		return "availability and response time"
	case incident.ReasonNoData:
		return "no data (silent)"
	}
	return reason
}

// period shows [start, end) in Paris, the date once when it is one day.
func period(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.YearDay() == e.Add(-time.Nanosecond).YearDay() && s.Year() == e.Year() {
		return fmt.Sprintf("%s %s–%s", s.Format("2006-01-02"), s.Format("15:04"), e.Format("15:04"))
	}
	return fmt.Sprintf("%s – %s", s.Format("2006-01-02 15:04"), e.Format("2006-01-02 15:04"))
}

// endTime shows end in Paris, without its date when start has the same one.
func endTime(start, end time.Time) string {
	s, e := start.In(paris), end.In(paris)
	if s.Format(time.DateOnly) == e.Format(time.DateOnly) {
		return e.Format("15:04")
	}
	return e.Format("2006-01-02 15:04")
}

// duration shows minutes as "45 min" or "2 h 05 min".
func duration(minutes int) string {
	if minutes < 60 {
		return fmt.Sprintf("%d min", minutes)
	}
	return fmt.Sprintf("%d h %02d min", minutes/60, minutes%60)
}

// num1 shows a percentage rounded down to 0.1, so 99.96 is never shown as
// 100.0 (which would hide a failure).
func num1(v float64) string {
	return fmt.Sprintf("%.1f", math.Floor(v*10+1e-9)/10)
}

func pct(a float64) string { return num1(a*100) + " %" }

func ms(v float64) string { return count(uint64(math.Round(v))) + " ms" }

// count groups digits by three with spaces (12 400 000), readable in
// French and English alike.
func count(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// plainRegionLabel is regionLabel as plain text, for places that escape
// for themselves (the heatmap's SVG labels).
func plainRegionLabel(code string) string {
	if n := RegionName(code); n != code {
		return fmt.Sprintf("%s (%s)", n, code)
	}
	return code
}
