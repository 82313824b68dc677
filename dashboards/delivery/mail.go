package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"net"
	"net/mail"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/dashboards/report/export"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/schemas"
)

// Rendered is a period's report in the forms an e-mail carries.
type Rendered struct {
	HTML, Markdown []byte
	// PDF is nil when it could not be printed; PDFErr says why
	// (report.ErrNoBrowser when no Chromium is installed).
	PDF    []byte
	PDFErr error
}

// Renderer writes the report of [from, to) over src in a language.
type Renderer func(ctx context.Context, src report.Source, from, to time.Time, lang i18n.Lang) (*Rendered, error)

// ReportRenderer is the Renderer of package report: the report built as
// GET /api/v1/report builds it (export.Local: incident definition and
// catalogue opt, the range's notes and status), in the subscription's
// language, its page printed to PDF with pdf (report.PDF; nil prints
// none).
func ReportRenderer(opt report.Options, pdf func(context.Context, []byte) ([]byte, error)) Renderer {
	return func(ctx context.Context, src report.Source, from, to time.Time, lang i18n.Lang) (*Rendered, error) {
		rep, err := export.Local(ctx, src, from, to, opt, lang)
		if err != nil {
			return nil, err
		}
		page, err := rep(ctx, "html")
		if err != nil {
			return nil, err
		}
		md, err := rep(ctx, "md")
		if err != nil {
			return nil, err
		}
		out := &Rendered{HTML: page, Markdown: md, PDFErr: report.ErrNoBrowser}
		if pdf != nil {
			out.PDF, out.PDFErr = pdf(ctx, page)
		}
		return out, nil
	}
}

// Letter is one e-mail of a subscription's period.
type Letter struct {
	Subscription Subscription
	From, To     time.Time
	// MessageID is without angle brackets; "" lets the library draw one.
	MessageID string
	Date      time.Time
}

// MessageID names the e-mail of a subscription's period, the same on
// every try, so that a receiver (or its mail server) can drop the one
// repeat a crash between the server's acceptance and our record of it
// would cause.
func MessageID(subscription string, due time.Time, sender string) string {
	domain := "vigie.invalid"
	if a, err := mail.ParseAddress(sender); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return "report." + subscription + "." + due.UTC().Format("20060102T1504Z") + "@" + domain
}

// compose builds the message: the HTML report as the HTML body, the
// Markdown as the text alternative, each preceded by a short note (what,
// for whom, whether the PDF is attached), and the PDF attached.
func compose(sender string, l Letter, r *Rendered) (*gomail.Msg, error) {
	sub := l.Subscription
	p := i18n.For(sub.Lang())
	m := gomail.NewMsg()
	if err := m.From(sender); err != nil {
		return nil, fmt.Errorf("sender %q: %w", sender, err)
	}
	if err := m.To(sub.Recipients...); err != nil {
		return nil, fmt.Errorf("recipients of %s: %w", sub.Name, err)
	}
	m.Subject(subject(p, sub.Range, l.From, l.To))
	if l.MessageID != "" {
		m.SetMessageIDWithValue(l.MessageID)
	} else {
		m.SetMessageID()
	}
	m.SetDateWithValue(l.Date)
	m.SetBulk() // no out-of-office replies to the sender
	m.SetGenHeader(gomail.HeaderContentLang, string(sub.Lang()))
	notes := []string{p.T("mail.intro", "Name", sub.Name, "From", p.DateTime(l.From.In(paris.Location)),
		"To", p.DateTime(l.To.In(paris.Location)), "Scope", scopeText(p, sub))}
	switch {
	case r.PDF != nil:
		notes = append(notes, p.T("mail.pdf.attached"))
	case errors.Is(r.PDFErr, report.ErrNoBrowser):
		notes = append(notes, p.T("mail.pdf.missing"))
	default:
		notes = append(notes, p.T("mail.pdf.failed"))
	}
	why := p.T("mail.why", "Name", sub.Name)
	m.SetBodyString(gomail.TypeTextPlain, strings.Join(notes, "\n")+"\n\n"+string(r.Markdown)+"\n-- \n"+why+"\n")
	m.AddAlternativeString(gomail.TypeTextHTML, withNotes(string(r.HTML), notes, why))
	if r.PDF != nil {
		name := p.T("mail.pdf.filename", "Day", l.From.In(paris.Location).Format(time.DateOnly))
		if err := m.AttachReader(name, bytes.NewReader(r.PDF), gomail.WithFileContentType(gomail.ContentType("application/pdf"))); err != nil {
			return nil, fmt.Errorf("attach the PDF: %w", err)
		}
	}
	return m, nil
}

// subject names the period as people say it: a day, a week from Monday
// to Sunday, a month, or a range.
func subject(p *i18n.Printer, covers string, from, to time.Time) string {
	f, t := from.In(paris.Location), to.In(paris.Location)
	last := t.Add(-time.Second) // the range's last day, inclusive
	switch covers {
	case "day":
		return p.T("mail.subject.day", "From", p.Date(f))
	case "week":
		return p.T("mail.subject.week", "From", p.Date(f), "Last", p.Date(last))
	case "month":
		return p.T("mail.subject.month", "Month", p.T("month."+fmt.Sprint(int(f.Month())))+" "+fmt.Sprint(f.Year()))
	}
	return p.T("mail.subject.since_last", "From", p.DateTime(f), "To", p.DateTime(t))
}

func scopeText(p *i18n.Printer, sub Subscription) string {
	if len(sub.Regions) == 0 && len(sub.Platforms) == 0 {
		return p.T("mail.scope.all")
	}
	var parts []string
	for _, pl := range sub.Platforms {
		parts = append(parts, strings.ToUpper(pl))
	}
	for _, r := range sub.Regions {
		name := schemas.RegionNames[r]
		if name == "" {
			name = r
		}
		parts = append(parts, name)
	}
	return p.T("mail.scope.some", "Scope", strings.Join(parts, ", "))
}

// withNotes puts the notes at the top of the report page and the reason
// for receiving it at the bottom; the page is otherwise the report's own.
func withNotes(page string, notes []string, why string) string {
	var top strings.Builder
	top.WriteString(`<div class="mail-note" style="border:1px solid #d0d4d9;border-radius:6px;padding:8px 14px;margin-bottom:16px;background:#f6f7f9">`)
	for _, n := range notes {
		top.WriteString("<p>" + html.EscapeString(n) + "</p>")
	}
	top.WriteString("</div>\n")
	bottom := `<p class="mail-note" style="color:#555;font-size:0.85em;margin-top:24px">` + html.EscapeString(why) + "</p>\n"
	if i := strings.Index(page, "<main>"); i >= 0 {
		i += len("<main>")
		page = page[:i] + "\n" + top.String() + page[i:]
	} else {
		page = top.String() + page
	}
	if i := strings.LastIndex(page, "</main>"); i >= 0 {
		page = page[:i] + bottom + page[i:]
	}
	return page
}

// Mailer sends messages through the configured SMTP server.
type Mailer struct {
	cfg    config.SMTPConfig
	sender string
}

// NewMailer returns the Mailer of cfg; it does no I/O (the password file
// is read at each send, so a rotated secret needs no restart).
func NewMailer(cfg config.DeliveryConfig) *Mailer { return &Mailer{cfg: cfg.SMTP, sender: cfg.From} }

// Send hands m to the server. It returns nil once the server accepted
// the message (250 after its data): a failure to say goodbye afterwards
// is not a failure to send, or the period would be sent twice.
func (ml *Mailer) Send(ctx context.Context, m *gomail.Msg) error {
	c := ml.cfg
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecure})}
	switch c.Security {
	case "tls":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS), gomail.WithDialContextFunc(deadlineDial(c.Timeout)))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory), gomail.WithDialContextFunc(deadlineDial(c.Timeout)))
	}
	if c.Username != "" {
		pw, err := readSecret(c.PasswordFile)
		if err != nil {
			return err
		}
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(c.Username), gomail.WithPassword(pw))
	}
	client, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", c.Host, c.Port, err)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("smtp %s:%d: %w", c.Host, c.Port, err)
	}
	if err := client.SendWithSMTPClient(conn, m); err != nil {
		_ = client.CloseWithSMTPClient(conn)
		return fmt.Errorf("smtp %s:%d: %w", c.Host, c.Port, err)
	}
	_ = client.CloseWithSMTPClient(conn) // accepted already: see above
	return nil
}

// deadlineDial dials with a deadline on the whole connection until the
// library sets its own for the send: the greeting, STARTTLS and the
// authentication have no bound of their own, and a server that stalls
// there would hold a pass for its own timeout (five minutes for some).
// (With implicit TLS the library dials itself, and this bound is missing.)
func deadlineDial(timeout time.Duration) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// readSecret reads a password file, without its final newline. The
// error names the file, never its content.
func readSecret(path string) (string, error) {
	if path == "" {
		return "", errors.New("delivery.smtp.username is set but delivery.smtp.password_file is empty")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("delivery.smtp.password_file: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
