package report

// The printed page (PDF) opens on a cover: the title with its range, the
// report's status and the definitions, then a page break. On screen the
// cover is hidden: the page starts with its title as before.

// printCSS is the print layout: A4 landscape; every heading kept with
// what it introduces (a heading and its caption never end a page, a
// heatmap is never cut, table rows are not split and their header row is
// repeated), and screen-only hints left off paper.
const printCSS = `
.cover { display: none; }
@page { size: A4 landscape; margin: 10mm; }
@media print {
  body { background: #fff; font-size: 9pt; }
  main { max-width: none; padding: 0; }
  .scroll { overflow: visible; }
  table { font-size: 8pt; }
  th, td { padding: 2px 4px; }
  thead { display: table-header-group; }
  tr, svg, li, .kpis, .keep { break-inside: avoid; }
  h1, h2, h3, h2 + p { break-after: avoid; }
  .screen { display: none; }
  .cover { display: block !important; break-after: page; padding-top: 25mm; }
  .cover .kicker { font-size: 11pt; color: #555; letter-spacing: 0.05em; }
  .cover .title { font-size: 20pt; font-weight: bold; margin: 6mm 0; }
  .cover .status { font-size: 13pt; border: 1px solid #1d2327; display: inline-block; padding: 2mm 4mm; }
  .cover .definitions { margin-top: 12mm; font-size: 9pt; }
  .cover + h1 { display: none; }
}
`

// writeCover writes the cover in the report's language: its status is
// the one recorded for the report's range (a draft until someone records
// it as final), the definitions are the blocks marked for it (the
// Definitions section's list), with that section's heading.
func (d *doc) writeCover(p printf, blocks []block) {
	pr := d.p
	status := pr.T("print.status.draft")
	if d.r.Notes.Status == StatusFinal {
		status = pr.T("print.status.final")
	}
	// Hidden inline too: mail readers that drop the page's style (the
	// report is also an e-mail's body) keep inline styles.
	p("<div class=\"cover\" style=\"display:none\">\n<p class=\"kicker\">%s</p>\n<p class=\"title\">%s</p>\n", esc(pr.T("print.cover.kicker")), inline(d.title()))
	p("<p class=\"status\">%s</p>\n<p>%s</p>\n", esc(pr.T("print.cover.status", "Status", status)), esc(pr.T("print.cover.printed")))
	for i, bl := range blocks {
		if !bl.cover {
			continue
		}
		p("<div class=\"definitions\">")
		if i > 0 && blocks[i-1].heading != "" {
			p("<p><b>%s</b></p>", inline(blocks[i-1].heading))
		}
		p("<ul>\n")
		for _, it := range bl.items {
			p("<li>%s</li>\n", inline(it))
		}
		p("</ul></div>\n")
	}
	p("</div>\n")
}
