// Package export delivers the lessons-learned report: its formats and their
// content types, the report as a source of bytes (built here from an open
// warehouse, or fetched from a running server's GET /api/v1/report), the
// PDF printed from the HTML page, and the files `vigie report` and
// `vigie demo` write. `vigie report` and the dashboard's report endpoint
// share its table of formats. It does not build the report (package report
// does) nor decide where the warehouse is (package reach does).
package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Format is one form of the report.
type Format struct {
	// Name is the --format and ?format= value, and the file extension.
	Name        string
	ContentType string
	// PrintedFrom names the format Chromium prints this one from (pdf:
	// the html page); "" for a format written from the report itself.
	// `vigie report` prints where it runs; the server prints for
	// GET /api/v1/report?format=pdf when Chromium is installed there.
	PrintedFrom string
	write       func(*report.Report, io.Writer) error
}

// Formats are the report's formats, in the order All writes them.
var Formats = []Format{
	{Name: "md", ContentType: "text/markdown; charset=utf-8", write: (*report.Report).WriteMarkdown},
	{Name: "json", ContentType: "application/json", write: (*report.Report).WriteJSON},
	{Name: "html", ContentType: "text/html; charset=utf-8", write: (*report.Report).WriteHTML},
	{Name: "pdf", ContentType: "application/pdf", PrintedFrom: "html"},
}

// All is the format name that writes md, json and html, one file each
// (not pdf: printing needs Chromium and takes seconds).
const All = "all"

// Expand returns the formats name stands for: one of Formats, or All.
func Expand(name string) ([]Format, error) {
	if name == All {
		var all []Format
		for _, f := range Formats {
			if f.PrintedFrom == "" {
				all = append(all, f)
			}
		}
		return all, nil
	}
	for _, f := range Formats {
		if f.Name == name {
			return []Format{f}, nil
		}
	}
	names := make([]string, 0, len(Formats)+1)
	for _, f := range Formats {
		names = append(names, f.Name)
	}
	return nil, fmt.Errorf("report format %q is not one of %s", name, strings.Join(append(names, All), ", "))
}

// Served returns the format name stands for when a server answers it: a
// format written from the report itself (md, json or html).
func Served(name string) (Format, error) {
	var names []string
	for _, f := range Formats {
		if f.PrintedFrom != "" {
			continue
		}
		if f.Name == name {
			return f, nil
		}
		names = append(names, f.Name)
	}
	return Format{}, fmt.Errorf("%q is not one of %s (pdf is printed from html)", name, strings.Join(names, ", "))
}

// Source gives the report in a format written from the report itself
// (md, json or html): built here or fetched from a server.
type Source func(ctx context.Context, format string) ([]byte, error)

// Local builds the report of [from, to) from the warehouse's store, once,
// in language lang; the Source writes it in each format asked.
func Local(ctx context.Context, st report.Source, from, to time.Time, opt report.Options, lang i18n.Lang) (Source, error) {
	r, err := report.BuildWith(ctx, st, from, to, opt)
	if err != nil {
		return nil, err
	}
	r.Lang = lang
	return func(_ context.Context, format string) ([]byte, error) {
		f, err := Served(format)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		err = f.write(r, &buf)
		return buf.Bytes(), err
	}, nil
}

// Remote asks the server at base for the report of [from, to) in lang
// (GET /api/v1/report); hc nil is http.DefaultClient.
func Remote(hc *http.Client, base, token string, from, to time.Time, lang i18n.Lang) Source {
	if hc == nil {
		hc = http.DefaultClient
	}
	return func(ctx context.Context, format string) ([]byte, error) {
		q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "format": {format}, "lang": {string(lang)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/report?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("report from the server at %s: %w", base, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("report from the server at %s: %w", base, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("report from the server at %s: HTTP %d: %s", base, resp.StatusCode, bytes.TrimSpace(body))
		}
		return body, nil
	}
}

// Render returns the report in format f: from src, or for a printed
// format, src's page printed by headless Chromium (report.PDF).
func Render(ctx context.Context, src Source, f Format) ([]byte, error) {
	if f.PrintedFrom == "" {
		return src(ctx, f.Name)
	}
	page, err := src(ctx, f.PrintedFrom)
	if err != nil {
		return nil, err
	}
	return report.PDF(ctx, page)
}

// FileName is where a report starting at from is written by default:
// <dataDir>/reports/lessons-<from in Paris, 2006-01-02T1504>.<ext>.
func FileName(dataDir string, from time.Time, f Format) string {
	return filepath.Join(dataDir, "reports", "lessons-"+from.In(paris.Location).Format("2006-01-02T1504")+"."+f.Name)
}

// Request is one report to write.
type Request struct {
	From, To time.Time
	Format   string // one of Formats, or All
	// Out is the file to write; "-" writes to Stdout, "" to FileName in
	// DataDir. All writes three files, so it takes "" or "-".
	Out     string
	DataDir string
	Stdout  io.Writer // nil is os.Stdout
	// Token is sent as a bearer to the server (the data dir's local token);
	// "" sends none.
	Token string
	// Lang is the report's language ("" is French).
	Lang i18n.Lang
}

func (r Request) formats() ([]Format, error) {
	fs, err := Expand(r.Format)
	if err != nil {
		return nil, err
	}
	if len(fs) > 1 && r.Out != "" && r.Out != "-" {
		return nil, fmt.Errorf("report format %s writes %d files, so it cannot go to %s: leave the output out (they go to %s) or give one format",
			r.Format, len(fs), r.Out, filepath.Dir(FileName(r.DataDir, r.From, fs[0])))
	}
	return fs, nil
}

// Write renders the report from src in r's formats and writes it; it
// returns the files written, in order, also when it stops at an error.
func (r Request) Write(ctx context.Context, src Source) ([]string, error) {
	fs, err := r.formats()
	if err != nil {
		return nil, err
	}
	stdout := r.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}
	var paths []string
	for _, f := range fs {
		body, err := Render(ctx, src, f)
		if err != nil {
			return paths, err
		}
		if r.Out == "-" {
			if _, err := stdout.Write(body); err != nil {
				return paths, err
			}
			continue
		}
		path := r.Out
		if path == "" {
			path = FileName(r.DataDir, r.From, f)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return paths, err
		}
		if err := os.WriteFile(path, body, 0o640); err != nil {
			return paths, fmt.Errorf("write %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// Run is `vigie report`: the report of r's range from the running server
// when one answers at via.ServerURL (it owns the warehouse), else built
// here from the warehouse via.OpenLocal opens (database db, incident
// definition and catalogue opt), written as r asks. It returns the files
// written.
func Run(ctx context.Context, r Request, via reach.Options, db string, opt report.Options) ([]string, error) {
	if _, err := r.formats(); err != nil {
		return nil, err
	}
	if !r.To.After(r.From) {
		return nil, errors.New("the report's range is empty: to must be after from")
	}
	var paths []string
	err := reach.Warehouse(ctx, via, func(ctx context.Context, base string) error {
		var err error
		paths, err = r.Write(ctx, Remote(via.HTTP, base, r.Token, r.From, r.To, r.Lang))
		return err
	}, func(ctx context.Context, wh warehouse.Warehouse) error {
		st, err := store.New(wh, db)
		if err != nil {
			return err
		}
		src, err := Local(ctx, st, r.From, r.To, opt, r.Lang)
		if err != nil {
			return err
		}
		paths, err = r.Write(ctx, src)
		return err
	})
	return paths, err
}
