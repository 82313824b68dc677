package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie-fr/vigie/dashboards/delivery"
	"github.com/vigie-fr/vigie/dashboards/delivery/smtptest"
	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/internal/store"
)

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

// clock is the tests' time, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, paris.Location)
	if err != nil {
		panic(err)
	}
	return t
}

// part is one leaf of a MIME message, decoded.
type part struct {
	Type, Disposition string
	Body              []byte
}

func parts(t *testing.T, raw []byte) (*mail.Message, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var out []part
	var walk func(h map[string][]string, body io.Reader)
	walk = func(h map[string][]string, body io.Reader) {
		get := func(k string) string {
			if v := h[k]; len(v) > 0 {
				return v[0]
			}
			return ""
		}
		mt, params, err := mime.ParseMediaType(get("Content-Type"))
		if err != nil {
			t.Fatalf("content type %q: %v", get("Content-Type"), err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				walk(p.Header, p)
			}
		}
		switch strings.ToLower(get("Content-Transfer-Encoding")) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, part{Type: mt, Disposition: get("Content-Disposition"), Body: b})
	}
	walk(msg.Header, msg.Body)
	return msg, out
}

func deliveryConfig(srv *smtptest.Server, subs map[string]config.SubscriptionConfig) config.DeliveryConfig {
	d := config.DefaultDelivery()
	d.Enabled, d.From = true, "Vigie <vigie@vigie.example.fr>"
	d.SMTP.Host, d.SMTP.Port, d.SMTP.Security = srv.Host, srv.Port, "none"
	d.SMTP.Timeout = 20 * time.Second
	d.Subscriptions = subs
	return d
}

// catalogue names one service of the morning, as catalogue.* would: the
// mailed report names it as the API's does.
var catalogue = config.CatalogueConfig{Services: []config.ServiceEntry{{ID: "ent-11", Name: "monlycee.net", Platform: "ent",
	Operator: "Région Île-de-France", Provider: "Hébergeur Nord", Regions: []string{"11"}}}}

func newService(t *testing.T, st *store.Store, d config.DeliveryConfig, now func() time.Time) (*delivery.Service, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s, err := delivery.New(st, delivery.Options{Delivery: d, Incidents: config.Default().Incidents, Catalogue: catalogue, Now: now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

func run(t *testing.T, s *delivery.Service, want delivery.Pass) {
	t.Helper()
	got, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("pass = %+v, want %+v", got, want)
	}
}

// The acceptance test of periodic reports: a weekly subscription (Mondays
// at 07:00, Paris) sends exactly one e-mail per week to a real SMTP
// server, with its recipients, subject, language, HTML body, Markdown
// alternative and PDF, and none again after a restart; a transient
// failure is retried after the back-off, also across a restart.
func TestAWeeklySubscriptionSendsOneMailPerPeriodAcrossRestarts(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	st := incidenttest.Store(t, incidenttest.DB(t))
	incidenttest.Insert(t, st, incidenttest.Morning()) // Tuesday 6 April 2021
	// What people added to the week: in the mailed report as in the API's.
	if err := st.PutAnnotation(context.Background(), store.Annotation{ID: "n1", At: at("2021-04-06 08:50:00").UTC(), Kind: store.AnnotationEvent,
		Text: "Premières plaintes des familles", Author: "analyste.idf", WrittenAt: at("2021-04-07 09:00:00").UTC()}); err != nil {
		t.Fatal(err)
	}
	subs := map[string]config.SubscriptionConfig{"hebdo": {Recipients: []string{"syndicat@example.fr", "rectorat@example.fr"},
		Lang: "fr", Schedule: "0 7 * * 1", Range: "week"}}
	d := deliveryConfig(srv, subs)
	clk := &clock{t: at("2021-04-07 10:00:00")} // a Wednesday: the subscription is new
	s1, reg := newService(t, st, d, clk.Now)

	run(t, s1, delivery.Pass{Recorded: 1}) // next Monday, pending
	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("%d messages before the first Monday, want 0", n)
	}
	clk.Set(at("2021-04-12 06:59:59"))
	run(t, s1, delivery.Pass{})
	clk.Set(at("2021-04-12 07:00:30"))
	run(t, s1, delivery.Pass{Sent: 1})
	clk.Set(at("2021-04-12 07:01:30"))
	run(t, s1, delivery.Pass{})

	msgs := srv.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the first Monday, want 1", len(msgs))
	}
	m := msgs[0]
	if !slices.Equal(m.RcptTos, []string{"syndicat@example.fr", "rectorat@example.fr"}) || m.MailFrom != "vigie@vigie.example.fr" {
		t.Errorf("envelope from %s to %v, want vigie@vigie.example.fr to the two recipients", m.MailFrom, m.RcptTos)
	}
	msg, ps := parts(t, m.Raw)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{
		"Subject":          "Vigie : rapport de la semaine du 5 avril 2021 au 11 avril 2021",
		"Message-Id":       "<report.hebdo.20210412T0500Z@vigie.example.fr>",
		"Content-Language": "fr",
		"To":               "<syndicat@example.fr>, <rectorat@example.fr>",
	} {
		got := msg.Header.Get(h)
		if h == "Subject" {
			got = subject
		}
		if got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	var types []string
	byType := map[string][]byte{}
	for _, p := range ps {
		types = append(types, p.Type)
		byType[p.Type] = p.Body
	}
	if !slices.Equal(types, []string{"text/plain", "text/html", "application/pdf"}) {
		t.Fatalf("parts %v, want text/plain, text/html and the PDF", types)
	}
	html, text := string(byType["text/html"]), string(byType["text/plain"])
	// The report in the subscription's language (French), its services
	// named by the catalogue, with the week's annotation.
	title := "Retour d'expérience : du 5 avril 2021 à 00\u00a0h\u00a000 au 12 avril 2021 à 00\u00a0h\u00a000 (heure de Paris)"
	for _, want := range []string{`<html lang="fr">`, "<title>" + strings.ReplaceAll(title, "'", "&#39;") + "</title>",
		"Rapport « hebdo » de Vigie, du 5 avril 2021 à 00\u00a0h\u00a000 au 12 avril 2021 à 00\u00a0h\u00a000",
		"monlycee.net", "Premières plaintes des familles", "Le même rapport est joint en PDF", "Statut : brouillon"} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML body lacks %q", want)
		}
	}
	if !strings.Contains(text, "# "+title) || !strings.Contains(text, "abonnement « hebdo »") || !strings.Contains(text, "Premières plaintes des familles") {
		t.Errorf("the text part is not the Markdown report with its note:\n%.400s", text)
	}
	pdf := byType["application/pdf"]
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 20_000 {
		t.Errorf("the attachment is %d bytes starting %q: not the printed report", len(pdf), pdf[:min(8, len(pdf))])
	}
	if d := ps[2].Disposition; !strings.Contains(d, "attachment") || !strings.Contains(d, "rapport-vigie-2021-04-05.pdf") {
		t.Errorf("PDF disposition %q", d)
	}

	// A restart: a new Service on the same warehouse sends nothing more.
	s2, _ := newService(t, st, d, clk.Now)
	clk.Set(at("2021-04-12 07:05:00"))
	run(t, s2, delivery.Pass{})
	if n := len(srv.Messages(t)); n != 1 {
		t.Fatalf("%d messages after a restart, want still 1", n)
	}

	// The next Monday the server fails once: retried after the back-off
	// (1 min), by a process restarted meanwhile.
	srv.Fail(t, 1)
	clk.Set(at("2021-04-19 07:00:10"))
	run(t, s2, delivery.Pass{Recorded: 1, Failed: 1})
	clk.Set(at("2021-04-19 07:00:40"))
	run(t, s2, delivery.Pass{}) // waiting for its back-off
	statuses, err := s2.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 1 || statuses[0].Pending != 1 || statuses[0].Last == nil || statuses[0].Last.Attempts != 1 ||
		!strings.Contains(statuses[0].Last.LastError, "451") || !statuses[0].Last.NextTry.Equal(at("2021-04-19 07:01:10").UTC()) {
		t.Fatalf("status after a failure: %+v, want 1 pending, 1 attempt, the 451 and a retry at 07:01:10", statuses[0].Last)
	}
	s3, reg3 := newService(t, st, d, clk.Now)
	clk.Set(at("2021-04-19 07:01:15"))
	run(t, s3, delivery.Pass{Sent: 1})
	clk.Set(at("2021-04-19 07:02:00"))
	run(t, s3, delivery.Pass{})
	msgs = srv.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages after the second Monday, want 2", len(msgs))
	}
	msg, _ = parts(t, msgs[1].Raw)
	if got := msg.Header.Get("Message-Id"); got != "<report.hebdo.20210419T0500Z@vigie.example.fr>" {
		t.Errorf("second Message-ID %s", got)
	}
	statuses, err = s3.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	last := statuses[0].LastSent
	if statuses[0].Pending != 0 || last == nil || last.Attempts != 2 || last.State != store.DeliverySent ||
		!last.From.Equal(at("2021-04-12 00:00:00").UTC()) || !last.To.Equal(at("2021-04-19 00:00:00").UTC()) ||
		!statuses[0].NextDue.Equal(at("2021-04-26 07:00:00").UTC()) {
		t.Errorf("status after the retry: %+v next %v, want sent at the 2nd attempt, 12 to 19 April, next 26 April", last, statuses[0].NextDue)
	}
	if got := attempts(t, reg3, "ok"); got != 1 {
		t.Errorf("ok attempts of the third process = %v, want 1", got)
	}
	if got := attempts(t, reg, "ok"); got != 1 {
		t.Errorf("ok attempts of the first process = %v, want 1", got)
	}
}

// attempts reads vigie_report_delivery_attempts_total{subscription="hebdo",result} from reg.
func attempts(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "vigie_report_delivery_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["subscription"] == "hebdo" && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
