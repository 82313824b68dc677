package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/notes"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/dashboards/sqlapi"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// localToken is the token commands send to the server of their data dir:
// http.sql_token, else the one the server wrote (none: an open server).
func localToken(cfg config.Config) string {
	if cfg.HTTP.SQLToken != "" {
		return cfg.HTTP.SQLToken
	}
	token, _ := sqlapi.ReadToken(cfg.DataDir)
	return token
}

// parseAt reads an RFC 3339 time, or a Paris wall-clock time such as
// "2021-04-06 08:50".
func parseAt(flag, s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04", s, paris.Location); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--%s: %q is neither RFC 3339 (2021-04-06T08:50:00+02:00) nor a Paris time (\"2021-04-06 08:50\")", flag, s)
}

// writeNote checks n, then sends it to the running server (POST path,
// with the data dir's token), or, when none runs, stores it here with put
// in the name of localAuthor. It prints what was stored.
func writeNote[N notes.Note[R], R any](g *globals, cmd *cobra.Command, path string, n N, put func(*store.Store, context.Context, R) error) error {
	cfg, _, err := g.load(cmd)
	if err != nil {
		return err
	}
	if err := n.Validate(time.Now()); err != nil {
		return fmt.Errorf("--%w", err)
	}
	via := reach.Options{ServerURL: reach.LocalURL(cfg.HTTP.Listen), DataDir: cfg.DataDir,
		OpenLocal: func(context.Context) (warehouse.Warehouse, error) { return app.OpenWarehouse(cfg) }}
	out := cmd.OutOrStdout()
	return reach.Warehouse(cmd.Context(), via, func(ctx context.Context, base string) error {
		b, err := json.Marshal(n)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if token := localToken(cfg); token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("the server at %s: %w", base, err)
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("the server at %s answered %d: %s", base, resp.StatusCode, bytes.TrimSpace(reply))
		}
		_, err = out.Write(reply)
		return err
	}, func(ctx context.Context, wh warehouse.Warehouse) error {
		// Writing is what a server does: the schema first, as serve would.
		if cfg.Warehouse.MigrateOnStart {
			if _, err := store.Migrate(ctx, wh, app.MigrateOptions(cfg)); err != nil {
				return err
			}
		}
		st, err := store.New(wh, cfg.Warehouse.Database)
		if err != nil {
			return err
		}
		rec := n.Record(localAuthor(n.Asked()), time.Now())
		if err := put(st, ctx, rec); err != nil {
			return err
		}
		return json.NewEncoder(out).Encode(rec)
	})
}

// localAuthor names who writes when no server runs: --author, else the
// account running the command.
func localAuthor(asked string) string {
	if asked == "" {
		asked = os.Getenv("USER")
	}
	if asked == "" {
		asked = "unknown"
	}
	return asked + " (local)"
}

func annotateCmd(g *globals) *cobra.Command {
	var a notes.Annotation
	var at string
	cmd := &cobra.Command{
		Use:   "annotate --at TIME --text TEXT",
		Short: "Add a line to a post-mortem's timeline or lessons (first complaints, statements, a waiting room rolled out)",
		Long: `Add an annotation to the post-mortem of the range that holds its time: a line of the
timeline (--kind event, the default) or a lesson (--kind well, badly or lucky). The report
shows it with its author and the time it was written, and escapes its text.

It goes to the running server of the data dir (as the data dir's local token, in the name
given by --author), or, when none runs, straight into the warehouse in the name of --author
or of the account running the command. The answer is the annotation stored, in JSON, with its
id: give --id to replace it, --id and --delete to take it out.

Times are RFC 3339 (2021-04-06T08:50:00+02:00) or Paris wall-clock ("2021-04-06 08:50").

Examples:
  vigie annotate --at "2021-04-06 08:35" --region 11 --text "Premières plaintes d'enseignants"
  vigie annotate --at "2021-04-06 12:00" --kind badly --text "Aucune communication aux familles avant 10 h"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.At, err = parseAt("at", at); err != nil {
				return err
			}
			return writeNote(g, cmd, notes.AnnotationsPath, a, (*store.Store).PutAnnotation)
		},
	}
	f := cmd.Flags()
	f.StringVar(&at, "at", "", "when it happened (required)")
	f.StringVar(&a.Text, "text", "", "what happened, or the lesson (required unless --delete)")
	f.StringVar(&a.Kind, "kind", "event", "event (timeline), or a lesson: well, badly, lucky")
	f.StringVar(&a.Platform, "platform", "", "ent or cned; empty: both")
	f.StringVar(&a.Region, "region", "", "INSEE region code (11, 32, …); empty: every region")
	f.StringVar(&a.ID, "id", "", "id of an annotation to replace")
	f.BoolVar(&a.Deleted, "delete", false, "take the annotation --id out")
	f.StringVar(&a.Author, "author", "", "who writes (default: the account running the command)")
	_ = cmd.MarkFlagRequired("at")
	return cmd
}

func actionCmd(g *globals) *cobra.Command {
	var a notes.Action
	var at string
	cmd := &cobra.Command{
		Use:   "action --at TIME --title TITLE --owner WHO --priority P1..P4",
		Short: "Add or update an action item of a post-mortem (owner, priority, due date, state)",
		Long: `Add an action item to the post-mortem of the range that holds --at (the time of the incident
it follows up), or update one (--id) as it progresses (--state doing, done), or take it out
(--id --delete). The report lists action items with owner, priority, due date, state, author
and when they were written.

Like vigie annotate, it goes to the running server of the data dir, or straight into the
warehouse when none runs. The answer is the action item stored, in JSON, with its id.

Example:
  vigie action --at "2021-04-06 08:30" --title "Relever le quota de sessions de l'ENT" \
    --owner "Région Occitanie" --priority P1 --due 2021-04-19`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if a.At, err = parseAt("at", at); err != nil {
				return err
			}
			return writeNote(g, cmd, notes.ActionsPath, a, (*store.Store).PutAction)
		},
	}
	f := cmd.Flags()
	f.StringVar(&at, "at", "", "time of the incident it follows up (required)")
	f.StringVar(&a.Title, "title", "", "what is to be done (required)")
	f.StringVar(&a.Owner, "owner", "", "who is responsible (required)")
	f.StringVar(&a.Priority, "priority", "", "P1 (highest) to P4 (required)")
	f.StringVar(&a.Due, "due", "", "due day, 2021-04-19")
	f.StringVar(&a.State, "state", "open", "open, doing or done")
	f.StringVar(&a.ID, "id", "", "id of an action item to update")
	f.BoolVar(&a.Deleted, "delete", false, "take the action item --id out")
	f.StringVar(&a.Author, "author", "", "who writes (default: the account running the command)")
	_ = cmd.MarkFlagRequired("at")
	return cmd
}

func reportStatusCmd(g *globals) *cobra.Command {
	var s notes.Status
	var from, to string
	cmd := &cobra.Command{
		Use:   "status --from TIME --to TIME draft|final",
		Short: "Set the status of a report's range: draft (the default) or final",
		Long: `Set the status of the post-mortem of exactly [from, to): "final" once its annotations and
action items are complete, "draft" to reopen it. The report shows the status, who set it and
when. Times as for vigie report.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if s.From, s.To, err = paris.ParseRange(from, to); err != nil {
				return err
			}
			s.Status = args[0]
			return writeNote(g, cmd, notes.StatusPath, s, (*store.Store).SetReportStatus)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the report's range (required)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range, exclusive (default: one day after --from)")
	cmd.Flags().StringVar(&s.Author, "author", "", "who decides (default: the account running the command)")
	_ = cmd.MarkFlagRequired("from")
	return cmd
}
