package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse/chdb"
)

// vigie serve with delivery.enabled plans the subscriptions at start (the
// next Monday 07:00 of a weekly one, recorded in the warehouse) and lists
// them to administrators with their next run.
func TestServeRunsTheReportDeliveries(t *testing.T) {
	if _, err := os.Stat(chdb.LibraryPath()); err != nil {
		t.Skip("libchdb.so is not installed: run scripts/install-chdb.sh")
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Kafka.Partitions = 1
	cfg.Delivery.Enabled, cfg.Delivery.From = true, "vigie@example.fr"
	cfg.Delivery.SMTP.Host, cfg.Delivery.SMTP.Port, cfg.Delivery.SMTP.Security = "127.0.0.1", 2525, "none"
	cfg.Delivery.Subscriptions = map[string]config.SubscriptionConfig{"hebdo": {Recipients: []string{"cse@example.fr"}, Schedule: "0 7 * * 1", Range: "week"}}
	a, err := New(cfg, All, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	startApp(t, ctx, a)

	now := time.Now().In(paris.Location)
	next := time.Date(now.Year(), now.Month(), now.Day(), 7, 0, 0, 0, paris.Location)
	for next.Weekday() != time.Monday || !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	var planned []store.ReportDelivery
	for ctx.Err() == nil && len(planned) == 0 {
		if planned, err = a.Store().ReportDeliveries(ctx, now); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(planned) != 1 || planned[0].Subscription != "hebdo" || planned[0].State != store.DeliveryPending || !planned[0].Due.Equal(next.UTC()) {
		t.Fatalf("planned %+v, want hebdo pending at %v", planned, next)
	}

	res, err := http.Get(a.URL() + "/api/v1/admin/subscriptions") // open mode: every role
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list struct {
		Subscriptions []delivery.Status `json:"subscriptions"`
	}
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || len(list.Subscriptions) != 1 || !list.Subscriptions[0].Enabled || !list.Subscriptions[0].NextDue.Equal(next.UTC()) ||
		list.Subscriptions[0].Origin != "config" {
		t.Errorf("list: %d %+v", res.StatusCode, list.Subscriptions)
	}
}
