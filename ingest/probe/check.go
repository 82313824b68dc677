package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Phases are the durations of one probe. With redirects or a login flow
// each phase is summed over the requests, as blackbox_exporter does.
type Phases struct {
	DNS, Connect, TLS time.Duration
	// TTFB is from the start of the probe to the first byte of the first answer.
	TTFB  time.Duration
	Total time.Duration
}

// Result is what one probe saw.
type Result struct {
	At      time.Time // when the probe started (Options.Now)
	Outcome string    // ok, error, timeout, rejected, queued
	Status  int       // the last answer's status; 0 when none came
	Phases  Phases
	// Err says why the outcome is not ok, for the log and attrs.error.
	Err string
}

// Probe runs one probe of t now, bounded by t's timeout: the page, or the
// login flow when t has one.
func (p *Prober) Probe(ctx context.Context, t *target) Result {
	res := Result{At: p.now()}
	ctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	tr := &tracer{start: time.Now()}
	ctx = httptrace.WithClientTrace(ctx, tr.trace())
	jar, _ := cookiejar.New(nil)
	client := *t.client
	client.Jar = jar
	var status int
	var body string
	var hdr http.Header
	var err error
	if t.Login.Enabled() {
		status, hdr, body, err = t.login(ctx, &client)
	} else {
		status, hdr, body, err = get(ctx, &client, t.URL)
	}
	res.Phases = tr.phases(time.Now())
	res.Status = status
	expect := t.ExpectText
	if t.Login.Enabled() && t.Login.ExpectText != "" {
		expect = t.Login.ExpectText
	}
	res.Outcome, res.Err = classify(ctx, t, status, hdr, body, expect, err)
	return res
}

// classify says what a user would have seen, in this order: no answer in
// time (timeout), no answer at all (error), a quota (429, or 503 with
// Retry-After, or a degraded text: rejected), a waiting room (queued), an
// unexpected status or a missing text (error), else ok.
func classify(ctx context.Context, t *target, status int, hdr http.Header, body, expect string, err error) (string, string) {
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return "timeout", fmt.Sprintf("no complete answer within %s: %v", t.Timeout, err)
		}
		if status == 0 {
			return "error", err.Error()
		}
	}
	lower := strings.ToLower(body)
	switch {
	case status == http.StatusTooManyRequests:
		return "rejected", "429 Too Many Requests"
	case status == http.StatusServiceUnavailable && hdr.Get("Retry-After") != "":
		return "rejected", "503 with Retry-After " + hdr.Get("Retry-After")
	}
	if s, ok := containsAny(lower, t.DegradedText); ok {
		return "rejected", fmt.Sprintf("the page says %q", s)
	}
	if s, ok := containsAny(lower, t.QueueText); ok {
		return "queued", fmt.Sprintf("the page says %q", s)
	}
	if !expectedStatus(t.ExpectStatus, status) {
		return "error", fmt.Sprintf("status %d, want %s", status, want(t.ExpectStatus))
	}
	if err != nil {
		return "error", err.Error()
	}
	if expect != "" && !strings.Contains(lower, strings.ToLower(expect)) {
		return "error", fmt.Sprintf("the page does not say %q", expect)
	}
	return "ok", ""
}

func containsAny(lowerBody string, texts []string) (string, bool) {
	for _, s := range texts {
		if strings.Contains(lowerBody, strings.ToLower(s)) {
			return s, true
		}
	}
	return "", false
}

func expectedStatus(list []int, status int) bool {
	if len(list) == 0 {
		return status >= 200 && status < 300
	}
	return slices.Contains(list, status)
}

func want(list []int) string {
	if len(list) == 0 {
		return "2xx"
	}
	return fmt.Sprint(list)
}

// get fetches u and reads up to MaxBody of its body.
func get(ctx context.Context, c *http.Client, u string) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, "", err
	}
	return do(c, req)
}

func do(c *http.Client, req *http.Request) (int, http.Header, string, error) {
	req.Header.Set("User-Agent", "Vigie-Probe/1 (+https://github.com/vigie-fr/vigie)")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody))
	return resp.StatusCode, resp.Header, string(b), err
}

// login runs the login flow: GET the form, POST its fields with the
// credentials to its action, following redirects; the answer is the
// landing page's. A quota or waiting-room page instead of the form is
// returned as is, for classify to name.
func (t *target) login(ctx context.Context, c *http.Client) (int, http.Header, string, error) {
	status, hdr, body, err := get(ctx, c, t.URL)
	if err != nil || status < 200 || status >= 300 {
		return status, hdr, body, err
	}
	action, method, fields, ok := findForm(body, t.Login.PasswordField)
	if !ok {
		if _, deg := containsAny(strings.ToLower(body), append(append([]string{}, t.DegradedText...), t.QueueText...)); deg {
			return status, hdr, body, nil
		}
		return status, hdr, body, fmt.Errorf("the login page has no form with a field %q", t.Login.PasswordField)
	}
	base, _ := url.Parse(t.URL)
	to, err := base.Parse(action)
	if err != nil {
		return status, hdr, body, fmt.Errorf("the login form's action %q: %w", action, err)
	}
	fields.Set(t.Login.UsernameField, t.username)
	fields.Set(t.Login.PasswordField, t.password)
	var req *http.Request
	if method == http.MethodGet {
		to.RawQuery = fields.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, to.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, to.String(), strings.NewReader(fields.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return 0, nil, "", err
	}
	return do(c, req)
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?is)\b([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))`)
)

// findForm finds the first form holding a field named password and returns
// its action, method and the values of its other named fields (hidden ones
// such as a CSRF token included; buttons and unchecked boxes excluded).
func findForm(page, password string) (action, method string, fields url.Values, ok bool) {
	for _, m := range formRE.FindAllStringSubmatch(page, -1) {
		fa := attrs(m[1])
		fields = url.Values{}
		found := false
		for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
			a := attrs(in[1])
			name := a["name"]
			if name == "" {
				continue
			}
			if name == password {
				found = true
			}
			switch strings.ToLower(a["type"]) {
			case "submit", "button", "image", "reset", "file":
				continue
			case "checkbox", "radio":
				if _, checked := a["checked"]; !checked {
					continue
				}
			}
			fields.Set(name, a["value"])
		}
		if found {
			method = strings.ToUpper(fa["method"])
			if method != http.MethodGet {
				method = http.MethodPost
			}
			return fa["action"], method, fields, true
		}
	}
	return "", "", nil, false
}

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	// Bare attributes such as checked.
	for _, w := range strings.Fields(attrRE.ReplaceAllString(s, " ")) {
		out[strings.ToLower(strings.Trim(w, "/"))] = ""
	}
	return out
}

// tracer sums the phases of every request of one probe.
type tracer struct {
	mu                            sync.Mutex
	start                         time.Time
	dnsStart, connStart, tlsStart time.Time
	dns, connect, tls, ttfb       time.Duration
	gotFirst                      bool
}

func (tr *tracer) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { tr.mu.Lock(); tr.dnsStart = time.Now(); tr.mu.Unlock() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			tr.mu.Lock()
			tr.dns += time.Since(tr.dnsStart)
			tr.mu.Unlock()
		},
		ConnectStart: func(string, string) { tr.mu.Lock(); tr.connStart = time.Now(); tr.mu.Unlock() },
		ConnectDone: func(string, string, error) {
			tr.mu.Lock()
			tr.connect += time.Since(tr.connStart)
			tr.mu.Unlock()
		},
		TLSHandshakeStart: func() { tr.mu.Lock(); tr.tlsStart = time.Now(); tr.mu.Unlock() },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			tr.mu.Lock()
			tr.tls += time.Since(tr.tlsStart)
			tr.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			tr.mu.Lock()
			if !tr.gotFirst {
				tr.gotFirst, tr.ttfb = true, time.Since(tr.start)
			}
			tr.mu.Unlock()
		},
	}
}

func (tr *tracer) phases(end time.Time) Phases {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return Phases{DNS: tr.dns, Connect: tr.connect, TLS: tr.tls, TTFB: tr.ttfb, Total: end.Sub(tr.start)}
}
