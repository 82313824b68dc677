package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// The HTML page is one file that opens offline: CSS and SVG charts inline,
// no script, font, image or link to fetch. It is also well-formed XML, so a
// test can parse it with encoding/xml.

const pageCSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2327; margin: 0; background: #f6f7f9; }
main { max-width: 1240px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 1.6em; margin-top: 0; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #d0d4d9; padding-bottom: 4px; }
p, li { line-height: 1.45; }
table { border-collapse: collapse; margin: 12px 0; font-size: 0.9em; }
th, td { border: 1px solid #d0d4d9; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef0f3; }
td.num, th.num { text-align: right; }
.nw { white-space: nowrap; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0; }
.kpi { border: 1px solid #d0d4d9; border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.kpi b { display: block; font-size: 1.5em; }
svg { display: block; max-width: 100%; height: auto; margin: 12px 0; }
svg text { font-family: system-ui, sans-serif; font-size: 12px; fill: #1d2327; }
svg text.in { fill: #fff; text-anchor: middle; font-size: 11px; }
.scroll { overflow-x: auto; }
`

// Chart geometry, in SVG user units.
const (
	chartWidth = 1040
	labelWidth = 230
	rowHeight  = 24
	axisHeight = 24
)

// WriteHTML writes the report as one self-contained HTML page with a
// timeline chart and availability heatmaps; times in Europe/Paris.
func (r *Report) WriteHTML(w io.Writer) error {
	b := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(b, format, a...) }
	d := r.doc()
	p("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\"/>\n", d.p.Lang())
	p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	p("<title>%s</title>\n<style>%s%s</style>\n</head>\n<body>\n<main>\n", inline(d.title()), pageCSS, printCSS)
	blocks := d.blocks()
	d.writeCover(p, blocks)
	p("<h1>%s</h1>\n", inline(d.title()))
	for i := 0; i < len(blocks); i++ {
		bl := blocks[i]
		// A heading and the heatmap it introduces print as one piece: the
		// heatmap is never cut, so it would leave its heading behind.
		if bl.heading != "" && i+1 < len(blocks) && blocks[i+1].grid != nil {
			p("<div class=\"keep\">\n<h2>%s</h2>\n", inline(bl.heading))
			d.writeHeatmap(p, blocks[i+1].grid)
			p("</div>\n")
			i++
			continue
		}
		switch {
		case bl.heading != "":
			p("<h2>%s</h2>\n", inline(bl.heading))
		case bl.sub != "":
			p("<h3>%s</h3>\n", inline(bl.sub))
		case bl.para != "":
			p("<p>%s</p>\n", inline(bl.para))
		case bl.items != nil:
			p("<ul>\n")
			for _, it := range bl.items {
				p("<li>%s</li>\n", inline(it))
			}
			p("</ul>\n")
		case bl.table != nil:
			writeHTMLTable(p, bl.table)
		case bl.grid != nil:
			d.writeHeatmap(p, bl.grid)
		case bl.chart == chartKPIs:
			d.writeKPIs(p)
		case bl.chart == chartTimeline:
			d.writeTimelineChart(p)
		}
	}
	p("</main>\n</body>\n</html>\n")
	return b.Flush()
}

// esc escapes text for HTML and XML alike.
func esc(s string) string { return html.EscapeString(s) }

func writeHTMLTable(p printf, t *table) {
	// Short cells (dates, numbers) stay on one line; long lists wrap.
	class := func(i int, cell string) string {
		var c []string
		if i < len(t.right) && t.right[i] {
			c = append(c, "num")
		}
		if cell != "" && utf8.RuneCountInString(cell) <= 24 {
			c = append(c, "nw")
		}
		if len(c) == 0 {
			return ""
		}
		return ` class="` + strings.Join(c, " ") + `"`
	}
	p("<div class=\"scroll\"><table>\n<thead><tr>")
	for i, h := range t.head {
		p("<th%s>%s</th>", class(i, ""), inline(h))
	}
	p("</tr></thead>\n<tbody>\n")
	for _, row := range t.rows {
		p("<tr>")
		for i, c := range row {
			p("<td%s>%s</td>", class(i, c), inline(c))
		}
		p("</tr>\n")
	}
	p("</tbody>\n</table></div>\n")
}

func (d *doc) writeKPIs(p printf) {
	r := d.r
	kpi := func(value, label string) { p("<div class=\"kpi\"><b>%s</b>%s</div>", inline(value), inline(label)) }
	p("<div class=\"kpis\">")
	kpi(d.dur(r.Headline.WallMinutes), d.p.T("report.kpi.wall"))
	for _, ph := range r.Headline.Platforms {
		kpi(d.dur(ph.WallMinutes), d.p.T("report.kpi.platform_wall", "Platform", d.platform(ph.Platform)))
		kpi(d.p.Int(int64(len(ph.Regions))), d.p.T("report.kpi.platform_regions", "Platform", d.platform(ph.Platform)))
	}
	if e := r.Estimate; e.Available {
		label := d.p.T("report.kpi.people.counted")
		if e.Sampled {
			label = d.p.T("report.kpi.people.estimated")
		}
		kpi(d.est(e.Total.EstFailed), label)
	} else {
		kpi(d.count(r.Summary.UsersAffected), d.p.T("report.kpi.users"))
	}
	kpi(d.pct(ratio(r.Summary.Failed, r.Summary.Events)), d.p.T("report.kpi.failed"))
	p("</div>\n")
}

// xOf places t on a chart spanning [r.From, r.To) over [left, right).
func (r *Report) xOf(t time.Time, left, right float64) float64 {
	span := r.To.Sub(r.From)
	if span <= 0 {
		return left
	}
	f := float64(t.Sub(r.From)) / float64(span)
	return left + math.Max(0, math.Min(1, f))*(right-left)
}

// ticks are the chart's gridlines: every hour (Paris) for ranges up to
// maxHourColumns hours, else every Paris midnight.
func (d *doc) ticks() (at []time.Time, label func(time.Time) string) {
	r := d.r
	hour := func(t time.Time) string { return d.p.T("report.grid.hour", "H", t.In(paris).Format("15")) }
	if r.To.Sub(r.From) <= maxHourColumns*time.Hour {
		for t := r.From.Truncate(time.Hour); !t.After(r.To); t = t.Add(time.Hour) {
			if !t.Before(r.From) {
				at = append(at, t)
			}
		}
		return at, hour
	}
	f := r.From.In(paris)
	for d := time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, paris); !d.After(r.To); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, paris) {
		if !d.Before(r.From) {
			at = append(at, d)
		}
	}
	return at, func(t time.Time) string { return t.In(paris).Format("02/01") }
}

// writeTimelineChart draws one bar per failing service (group) over the
// range, with hour gridlines in Paris time.
func (d *doc) writeTimelineChart(p printf) {
	r := d.r
	if len(r.Groups) == 0 {
		return
	}
	left, right := float64(labelWidth), float64(chartWidth-16)
	height := axisHeight + rowHeight*len(r.Groups) + 8
	p("<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
		chartWidth, height, chartWidth, height, esc(d.p.T("report.chart.timeline")))
	at, label := d.ticks()
	for _, t := range at {
		x := r.xOf(t, left, right)
		p("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d0d4d9\"/>", x, axisHeight-6, x, height-4)
		p("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, axisHeight-10, esc(label(t)))
	}
	for i, g := range r.Groups {
		y := axisHeight + i*rowHeight
		name := d.plainService(g.Service) + " (" + RegionName(g.Regions[0]) + ")"
		if len(g.Regions) > 1 {
			name = d.p.T("report.chart.bar", "Service", d.plainService(g.Service), "N", len(g.Regions))
		}
		p("<text x=\"%d\" y=\"%d\">%s</text>", 4, y+rowHeight/2+4, esc(clip(name, 36)))
		x1, x2 := r.xOf(g.Start, left, right), r.xOf(g.End, left, right)
		p("<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" rx=\"3\" fill=\"%s\"><title>%s</title></rect>\n",
			x1, y+4, math.Max(x2-x1, 2), rowHeight-8, platformColor(g.Platform),
			inline(d.p.T("report.chart.bar.title", "Service", d.service(g.Service), "Regions", d.regionList(g.Platform, g.Regions),
				"Period", d.period(g.Start, g.End), "Duration", d.dur(g.Minutes), "Worst", d.pct(g.WorstAvailability), "Users", d.count(g.UsersAffected))))
	}
	p("</svg>\n")
}

func platformColor(platform string) string {
	if platform == "cned" {
		return "#7b3fa0"
	}
	return "#c0392b"
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	return string(rs[:n-1]) + "…"
}

// heat colours an availability: green at or above the target (greener
// towards 100 %), red to amber below it (red at 50 % and under).
func heat(a, target float64) string {
	if a >= target {
		f := 1.0
		if target < 1 {
			f = (a - target) / (1 - target)
		}
		return fmt.Sprintf("hsl(%d,55%%,38%%)", int(math.Round(95+35*f)))
	}
	f := 0.0
	if target > 0.5 {
		f = math.Max(0, math.Min(1, (a-0.5)/(target-0.5)))
	}
	return fmt.Sprintf("hsl(%d,75%%,45%%)", int(math.Round(40*f)))
}

const noData = "#e3e6ea"

// writeHeatmap draws a platform's region × hour availability.
func (d *doc) writeHeatmap(p printf, g *Grid) {
	r := d.r
	if len(g.Cells) == 0 {
		p("<p>%s</p>\n", inline(d.p.T("report.grid.empty", "Platform", d.platform(g.Platform))))
		return
	}
	c := d.columns(g)
	unit := d.p.T("report.grid.per_hour")
	if c.daily {
		unit = d.p.T("report.grid.per_day")
	}
	target := r.Objective.AvailabilityTarget
	p("<p>%s <span class=\"screen\">%s</span></p>\n", inline(d.p.T("report.grid.legend.html", "Unit", unit, "Target", d.share(target))),
		inline(d.p.T("report.grid.hover")))
	cellW := math.Min(56, math.Max(6, float64(chartWidth-labelWidth-8)/float64(len(c.cols))))
	width := labelWidth + int(math.Ceil(cellW*float64(len(c.cols)))) + 8
	height := axisHeight + rowHeight*len(g.Regions) + 4
	p("<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">\n",
		width, height, width, height, inline(d.p.T("report.chart.heatmap", "Platform", d.platform(g.Platform), "Unit", unit)))
	labelEvery := int(math.Ceil(40 / cellW)) // keep column labels from overlapping
	for j, col := range c.cols {
		if j%labelEvery == 0 {
			p("<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", labelWidth+cellW*(float64(j)+0.5), axisHeight-8, esc(c.label(col)))
		}
	}
	for i, region := range g.Regions {
		y := axisHeight + i*rowHeight
		p("<text x=\"4\" y=\"%d\">%s</text>\n", y+rowHeight/2+4, esc(clip(plainRegionLabel(region), 32)))
		for j, col := range c.cols {
			x := labelWidth + cellW*float64(j)
			a, ok := c.sums[region][col].availability()
			fill, value := noData, d.p.T("report.grid.noattempt")
			if ok {
				fill, value = heat(a, target), d.pct(a)
			}
			p("<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s</title></rect>",
				x+1, y+1, cellW-2, rowHeight-2, fill, esc(fmt.Sprintf("%s, %s: %s", RegionName(region), c.label(col), value)))
			if ok && cellW >= 34 {
				p("<text class=\"in\" x=\"%.1f\" y=\"%d\">%s</text>", x+cellW/2, y+rowHeight/2+4, d.num1(a))
			}
			p("\n")
		}
	}
	p("</svg>\n")
}
