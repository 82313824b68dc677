package delivery_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/delivery/smtptest"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
)

// A server that requires STARTTLS and authentication: the report goes over
// TLS with the password of delivery.smtp.password_file; a wrong password
// and a server without STARTTLS are refused, and no error shows the
// password.
func TestSTARTTLSAndAuthentication(t *testing.T) {
	const password = "s3cret-of-the-relay"
	srv := smtptest.Start(t, smtptest.Options{STARTTLS: true, User: "vigie", Password: password})
	st := incidenttest.Store(t, incidenttest.DB(t))
	subs := map[string]config.SubscriptionConfig{"quotidien": {Recipients: []string{"dane@example.fr"}, Lang: "en",
		Regions: []string{"11"}, Platforms: []string{"ent"}, Schedule: "@daily", Range: "day"}}
	d := deliveryConfig(srv, subs)
	d.SMTP.Security, d.SMTP.TLSInsecure, d.SMTP.Username = "starttls", true, "vigie"
	secret := filepath.Join(t.TempDir(), "smtp-password")
	if err := os.WriteFile(secret, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.SMTP.PasswordFile = secret
	now := func() time.Time { return at("2021-04-07 09:00:00") }
	noPDF := delivery.ReportRenderer(report.Options{Incidents: config.Default().Incidents}, nil) // the PDF is another test's: this one is about the wire
	send := func(d config.DeliveryConfig) error {
		s, err := delivery.New(st, delivery.Options{Delivery: d, Incidents: config.Default().Incidents, Now: now, Render: noPDF})
		if err != nil {
			t.Fatal(err)
		}
		return s.SendNow(context.Background(), "quotidien", at("2021-04-06 00:00:00"), at("2021-04-07 00:00:00"))
	}

	if err := send(d); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 || !msgs[0].TLS || msgs[0].Login == nil || *msgs[0].Login != "vigie" {
		t.Fatalf("%d messages (first: TLS %v, login %v), want one over TLS by user vigie", len(msgs), msgs[0].TLS, msgs[0].Login)
	}
	msg, ps := parts(t, msgs[0].Raw)
	if got := msg.Header.Get("Content-Language"); got != "en" {
		t.Errorf("Content-Language %q, want en", got)
	}
	if got := msg.Header.Get("Subject"); got != "Vigie: report of 6 April 2021" {
		t.Errorf("Subject %q", got)
	}
	// The report itself in the subscription's language, like the e-mail.
	if len(ps) != 2 || !strings.HasPrefix(string(ps[0].Body), "Vigie report “quotidien”") ||
		!strings.Contains(string(ps[0].Body), "# Post-mortem: 6 April 2021 at 00:00 to 7 April 2021 at 00:00 (Paris time)") ||
		!strings.Contains(string(ps[1].Body), `<html lang="en">`) || strings.Contains(string(ps[1].Body), "Retour d") {
		t.Errorf("an English subscription's report is not in English; parts %d, text %.300s", len(ps), ps[0].Body)
	}
	if len(ps) != 2 || !strings.Contains(string(ps[1].Body), "No PDF is attached") ||
		!strings.Contains(string(ps[1].Body), "scope: ENT, Île-de-France") {
		t.Errorf("without a PDF the mail must say so, and name its scope; parts %d, html %.300s", len(ps), ps[len(ps)-1].Body)
	}

	if err := os.WriteFile(secret, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := send(d)
	t.Logf("wrong password: %v", err)
	if err == nil || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "wrong") {
		t.Errorf("a wrong password: err %v, want a failure that does not show the password", err)
	}

	plain := smtptest.Start(t, smtptest.Options{})
	d2 := deliveryConfig(plain, subs)
	d2.SMTP.Security, d2.SMTP.TLSInsecure = "starttls", true
	err = send(d2)
	t.Logf("no STARTTLS: %v", err)
	if err == nil || len(plain.Messages(t)) != 0 {
		t.Errorf("security starttls with a server that offers none: err %v, %d messages; want a refusal", err, len(plain.Messages(t)))
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Errorf("%d messages in all, want 1", n)
	}
}
