package httpapi

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/vigie-fr/vigie/schemas"
)

// batch is what a body holds: valid events and per-event errors.
type batch struct {
	events    []schemas.Event
	positions []int // each event's index in the body
	bad       []schemas.FieldError
}

// refusal is a batch refused as a whole.
type refusal struct {
	status int
	reason string // metric label
	msg    string
	limit  int64
}

// readBatch reads a body of at most limit bytes, both as sent and after
// decompression (a small gzip body can expand without bound), then decodes
// it. An unreadable batch is refused whole, even if some events came before
// the break: accepting a prefix would leave the client unsure what to resend.
// sizeHint is the body's announced length (Content-Length, -1 when
// unknown): an uncompressed body is read into a buffer of that size at
// once, instead of one that doubles (and is cleared) a dozen times on the
// way to a megabyte. The limit still applies to what is actually read.
func readBatch(body io.Reader, encoding string, sizeHint, limit int64, opt schemas.DecodeOptions) (batch, *refusal) {
	oversize := &refusal{
		status: http.StatusRequestEntityTooLarge, reason: "oversize", limit: limit,
		msg: fmt.Sprintf("body is larger than %d bytes (http.max_body_bytes, counted after decompression): send smaller batches", limit),
	}
	r := body
	switch enc := strings.ToLower(strings.TrimSpace(encoding)); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			if isTooLarge(err) {
				return batch{}, oversize
			}
			return batch{}, &refusal{status: http.StatusBadRequest, reason: "unreadable", msg: "Content-Encoding is gzip but the body is not gzip: " + err.Error()}
		}
		defer gz.Close()
		r = gz
	default:
		return batch{}, &refusal{status: http.StatusUnsupportedMediaType, reason: "bad_encoding",
			msg: fmt.Sprintf("Content-Encoding %q is not supported, use gzip or none", truncate(encoding, 40))}
	}
	buf := &bytes.Buffer{}
	if r == body && sizeHint > 0 && sizeHint <= limit {
		buf.Grow(int(sizeHint) + bytes.MinRead) // ReadFrom wants MinRead spare bytes before it stops
	}
	_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	data := buf.Bytes()
	if err != nil {
		if isTooLarge(err) {
			return batch{}, oversize
		}
		return batch{}, &refusal{status: http.StatusBadRequest, reason: "unreadable", msg: "cannot read the body: " + err.Error()}
	}
	if int64(len(data)) > limit {
		return batch{}, oversize
	}
	events, positions, bad, err := schemas.DecodeBatch(bytes.NewReader(data), opt)
	if err != nil {
		return batch{}, &refusal{status: http.StatusBadRequest, reason: "unreadable",
			msg: err.Error() + ": send NDJSON (one event object per line) or one JSON array of event objects; nothing of this batch was stored"}
	}
	return batch{events: events, positions: positions, bad: bad}, nil
}

func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
