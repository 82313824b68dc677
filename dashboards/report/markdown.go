package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	tzparis "github.com/vigie-fr/vigie/internal/paris"
)

// maxHourColumns is the widest region × hour table; longer ranges get one
// column per day so the table stays readable.
const maxHourColumns = 36

// paris is where the readers are; every time in the Markdown is local.
var paris = tzparis.Location

// WriteJSON writes the report as indented JSON, times in UTC; the labels
// meant for people are in the report's language.
func (r *Report) WriteJSON(w io.Writer) error {
	d := r.doc()
	for i := range r.Signals {
		r.Signals[i].Label = d.signalLabel(r.Signals[i].Kind)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteMarkdown writes the report for people, times in Europe/Paris.
func (r *Report) WriteMarkdown(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	d := r.doc()
	p("# %s\n", d.title())
	for _, bl := range d.blocks() {
		if bl.chart != "" {
			continue // charts are drawn in HTML only
		}
		p("\n")
		switch {
		case bl.heading != "":
			p("## %s\n", bl.heading)
		case bl.sub != "":
			p("### %s\n", bl.sub)
		case bl.para != "":
			p("%s\n", bl.para)
		case bl.items != nil:
			for _, it := range bl.items {
				p("- %s\n", it)
			}
		case bl.table != nil:
			writeMarkdownTable(p, bl.table)
		case bl.grid != nil:
			d.writeGrid(p, bl.grid)
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
	for i := range t.head {
		if i < len(t.right) && t.right[i] {
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

func (d *doc) columns(g *Grid) gridColumns {
	r := d.r
	colOf := func(t time.Time) time.Time { return t }
	c := gridColumns{label: func(t time.Time) string { return d.p.T("report.grid.hour", "H", t.In(paris).Format("15")) }}
	if r.From.In(paris).YearDay() != r.To.Add(-time.Nanosecond).In(paris).YearDay() {
		c.label = func(t time.Time) string {
			return t.In(paris).Format("02/01 ") + d.p.T("report.grid.hour", "H", t.In(paris).Format("15"))
		}
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
func (d *doc) writeGrid(p printf, g *Grid) {
	r := d.r
	if len(g.Cells) == 0 {
		p("%s\n", d.p.T("report.grid.empty", "Platform", d.platform(g.Platform)))
		return
	}
	c := d.columns(g)
	unit := d.p.T("report.grid.per_hour")
	if c.daily {
		unit = d.p.T("report.grid.per_day")
	}
	p("%s\n\n", d.p.T("report.grid.legend.md", "Unit", unit, "Target", d.share(r.Objective.AvailabilityTarget)))
	p("| %s |", d.p.T("report.col.region"))
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
			v := d.num1(a)
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

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// plainRegionLabel is regionLabel as plain text, for places that escape
// for themselves (the heatmap's SVG labels).
func plainRegionLabel(code string) string {
	if n := RegionName(code); n != code {
		return fmt.Sprintf("%s (%s)", n, code)
	}
	return code
}
