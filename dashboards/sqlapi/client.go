package sqlapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vigie-fr/vigie/internal/sandbox"
	"github.com/vigie-fr/vigie/internal/warehouse"
)

// ErrUnauthorized is wrapped by Client errors when the server refused the token.
var ErrUnauthorized = errors.New("the SQL endpoint refused the token")

// Client calls a Vigie server's POST /api/v1/sql.
type Client struct {
	BaseURL string // e.g. http://127.0.0.1:8080
	Token   string
	HTTP    *http.Client // nil means http.DefaultClient
}

// Error is a refusal from the server, with its status and the engine's
// message. It matches warehouse.ErrReadOnly and sandbox.ErrRefused (403), warehouse.ErrTimeout (504)
// and ErrUnauthorized (401) with errors.Is, so callers branch the same way
// on a remote answer as on a local one.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

// Is maps the status back to the sentinel the server mapped from.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case http.StatusForbidden:
		return target == warehouse.ErrReadOnly || target == sandbox.ErrRefused
	case http.StatusGatewayTimeout:
		return target == warehouse.ErrTimeout
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	}
	return false
}

// Query runs sql on the server and returns its rows in warehouse.Result's
// normalised Go types.
func (c *Client) Query(ctx context.Context, sql string) (*warehouse.Result, error) {
	a, err := c.QueryAnswer(ctx, sql)
	if err != nil {
		return nil, err
	}
	return a.Result, nil
}

// QueryAnswer is Query with the answer's truncation flag and timing.
func (c *Client) QueryAnswer(ctx context.Context, sql string) (*Answer, error) {
	body, err := json.Marshal(map[string]string{"sql": sql})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.BaseURL, "/")+Path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("sql endpoint %s: %w", c.BaseURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sql endpoint: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("sql endpoint: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var we wireError
		if json.Unmarshal(raw, &we) != nil || we.Error == "" {
			we.Error = strings.TrimSpace(string(raw))
			if we.Error == "" {
				we.Error = http.StatusText(resp.StatusCode)
			}
		}
		return nil, &Error{Status: resp.StatusCode, Message: Visible(we.Error)}
	}
	var a Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("sql endpoint: decode answer: %w", err)
	}
	return &a, nil
}
