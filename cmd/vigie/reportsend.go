package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigie-fr/vigie/cmd/vigie/app"
	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/reach"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

func reportSendCmd(g *globals) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "send SUBSCRIPTION [--from TIME --to TIME]",
		Short: "Send a subscription's report by e-mail now, outside its schedule",
		Long: `Send the report of a subscription (delivery.subscriptions, or one added through the API)
to its recipients now, through delivery.smtp: by default the period its last scheduled run
covered, or [--from, --to). The running server sends it when one answers (it owns the
warehouse), else this command opens the warehouse itself. A one-off send is not recorded
as a period of the schedule: the scheduled e-mails are neither skipped nor repeated.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := g.load(cmd)
			if err != nil {
				return err
			}
			name := args[0]
			var f, t time.Time
			if from != "" || to != "" {
				if f, t, err = rangeFlags(from, to); err != nil {
					return err
				}
			}
			token := localToken(cfg)
			var sent string
			err = reach.Warehouse(cmd.Context(),
				reach.Options{ServerURL: reach.LocalURL(cfg.HTTP.Listen), DataDir: cfg.DataDir, OpenLocal: func(context.Context) (warehouse.Warehouse, error) {
					return app.OpenWarehouse(cfg)
				}},
				func(ctx context.Context, base string) error {
					sent, err = sendRemote(ctx, base, token, name, f, t)
					return err
				},
				func(ctx context.Context, wh warehouse.Warehouse) error {
					st, err := store.New(wh, cfg.Warehouse.Database)
					if err != nil {
						return err
					}
					s, err := delivery.New(st, delivery.Options{Delivery: cfg.Delivery, Incidents: cfg.Incidents, Catalogue: cfg.Catalogue})
					if err != nil {
						return err
					}
					if f.IsZero() {
						subs, err := s.Subscriptions(ctx)
						if err != nil {
							return err
						}
						for _, sub := range subs {
							if sub.Name == name {
								if f, t, err = delivery.LastPeriod(sub, time.Now()); err != nil {
									return err
								}
							}
						}
					}
					if err := s.SendNow(ctx, name, f, t); err != nil {
						return err
					}
					sent = fmt.Sprintf("%s to %s", f.In(paris.Location).Format(time.DateTime), t.In(paris.Location).Format(time.DateTime))
					return nil
				})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report of %s (Paris time) sent to the recipients of %s\n", sent, name)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start of the range (default: the period the subscription's last run covered)")
	cmd.Flags().StringVar(&to, "to", "", "end of the range, exclusive (default: one day after --from)")
	return cmd
}

// rangeFlags parses --from and --to, naming the flag at fault.
func rangeFlags(from, to string) (time.Time, time.Time, error) {
	f, t, err := paris.ParseRange(from, to)
	if re := (*paris.RangeError)(nil); errors.As(err, &re) {
		return f, t, fmt.Errorf("--%s: %s", re.Param, re.Msg)
	}
	return f, t, err
}

// sendRemote asks the server at base to send the report (POST
// /api/v1/admin/subscriptions/{name}/send) and returns the range it sent.
func sendRemote(ctx context.Context, base, token, name string, from, to time.Time) (string, error) {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339))
		q.Set("to", to.Format(time.RFC3339))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/admin/subscriptions/"+url.PathEscape(name)+"/send?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("send through the server at %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var ans struct {
		Error string    `json:"error"`
		From  time.Time `json:"from"`
		To    time.Time `json:"to"`
	}
	_ = json.Unmarshal(body, &ans)
	if resp.StatusCode != http.StatusOK {
		if ans.Error == "" {
			ans.Error = string(body)
		}
		return "", fmt.Errorf("the server at %s answered %d: %s", base, resp.StatusCode, ans.Error)
	}
	return ans.From.In(paris.Location).Format(time.DateTime) + " to " + ans.To.In(paris.Location).Format(time.DateTime), nil
}
