package main

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
	"time"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func reportCmd(g *globals) *cobra.Command {
	var from, to, format, out string
	cmd := &cobra.Command{
		Use:   "report --from TIME --to TIME",
		Short: "Write the lessons-learned report for a time range (Markdown, JSON, HTML or PDF)",
		Long: `Write the lessons-learned report for [from, to): incidents found in the data (start,
end, duration, worst availability and p95, users affected, regions and services), cause
signals, and the region × hour availability table. Incident thresholds come from the
incidents.* configuration keys. Times are RFC 3339 (2021-04-06T06:00:00+02:00) or a day
(2021-04-06, meaning that whole day in Europe/Paris).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			f, t, err := paris.ParseRange(from, to)
			if re := (*paris.RangeError)(nil); errors.As(err, &re) {
				return fmt.Errorf("--%s: %s", re.Param, re.Msg)
			} else if err != nil {
				return err
			}
			// A running server owns the warehouse (chDB: one process per
			// data dir): ask it for the report; else build it here.
			src := remoteReport(reach.LocalURL(cfg.HTTP.Listen), f, t)
			if !reach.ServerUp(cmd.Context(), nil, reach.LocalURL(cfg.HTTP.Listen)) {
				wh, err := app.OpenWarehouse(cfg)
				if err != nil {
					return err
				}
				defer wh.Close()
				if src, err = localReport(cmd.Context(), wh, cfg, f, t); err != nil {
					return err
				}
			}
			paths, err := writeReport(cmd, src, cfg.DataDir, f, format, out)
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), "report written:", p)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the range (required)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range, exclusive (default: one day after --from)")
	cmd.Flags().StringVar(&format, "format", "md", "md (Markdown), json, html (self-contained page with charts), pdf (that page printed by Chromium) or all (md, json, html)")
	cmd.Flags().StringVarP(&out, "out", "o", "", `output file ("-" for stdout); default <data_dir>/reports/lessons-<from>.<ext>`)
	_ = cmd.MarkFlagRequired("from")
	return cmd
}

// reportSource renders the report in one format: "md" or "json".
type reportSource func(ctx context.Context, format string) ([]byte, error)

// localReport builds the report once from an open warehouse.
func localReport(ctx context.Context, wh warehouse.Warehouse, cfg config.Config, from, to time.Time) (reportSource, error) {
	r, err := report.Build(ctx, wh, cfg.Warehouse.Database, from, to, cfg.Incidents)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, format string) ([]byte, error) {
		var buf bytes.Buffer
		write := map[string]func(io.Writer) error{"md": r.WriteMarkdown, "json": r.WriteJSON, "html": r.WriteHTML}[format]
		err := write(&buf)
		return buf.Bytes(), err
	}, nil
}

// remoteReport asks the server at base (GET /api/v1/report).
func remoteReport(base string, from, to time.Time) reportSource {
	return func(ctx context.Context, format string) ([]byte, error) {
		q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "format": {format}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/report?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("report from the server at %s: %w", base, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("report from the server at %s: HTTP %d: %s", base, resp.StatusCode, bytes.TrimSpace(body))
		}
		return body, nil
	}
}

// render returns the report in one format; PDF is the HTML page printed
// by headless Chromium.
func render(ctx context.Context, src reportSource, ext string) ([]byte, error) {
	if ext != "pdf" {
		return src(ctx, ext)
	}
	html, err := src(ctx, "html")
	if err != nil {
		return nil, err
	}
	return report.PDF(ctx, html)
}

// writeReport writes the report in the asked formats ("md", "json",
// "html" or "all") to out ("-" is stdout) or to <dataDir>/reports/.
func writeReport(cmd *cobra.Command, src reportSource, dataDir string, from time.Time, format, out string) ([]string, error) {
	exts := map[string][]string{"md": {"md"}, "json": {"json"}, "html": {"html"}, "pdf": {"pdf"}, "all": {"md", "json", "html"}}[format]
	if exts == nil {
		return nil, fmt.Errorf("--format %q: use md, json, html, pdf or all", format)
	}
	var paths []string
	for _, ext := range exts {
		body, err := render(cmd.Context(), src, ext)
		if err != nil {
			return paths, err
		}
		if out == "-" {
			if _, err := cmd.OutOrStdout().Write(body); err != nil {
				return paths, err
			}
			continue
		}
		path := out
		if path == "" || len(exts) > 1 {
			path = filepath.Join(dataDir, "reports", "lessons-"+from.In(paris.Location).Format("2006-01-02T1504")+"."+ext)
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
