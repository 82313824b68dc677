package schemas

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends ev as json.Marshal would write it, byte for byte, and
// returns the extended buffer. Collectors encode every event they produce
// once: through reflection that was the largest cost of the ingest path
// after decoding (docs/profiles/). Values json.Marshal refuses (a time
// outside years 0–9999, NaN or infinite numbers) are refused the same way,
// with json.Marshal's error.
func AppendJSON(buf []byte, ev *Event) ([]byte, error) {
	ts, err := ev.TS.MarshalJSON()
	if err != nil {
		_, err = json.Marshal(ev) // the error json.Marshal gives
		return buf, err
	}
	buf = append(buf, `{"id":`...)
	buf = appendJSONString(buf, ev.ID)
	buf = append(buf, `,"ts":`...)
	buf = append(buf, ts...)
	buf = appendField(buf, "platform", ev.Platform, false)
	buf = appendField(buf, "service", ev.Service, false)
	buf = appendField(buf, "region", ev.Region, false)
	buf = appendField(buf, "academy", ev.Academy, true)
	buf = appendField(buf, "kind", ev.Kind, false)
	buf = appendField(buf, "outcome", ev.Outcome, false)
	if ev.Status != 0 {
		buf = append(buf, `,"status":`...)
		buf = strconv.AppendInt(buf, int64(ev.Status), 10)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"latency_ms", ev.LatencyMS}, {"queue_ms", ev.QueueMS}} {
		if f.v == nil {
			continue
		}
		if math.IsNaN(*f.v) || math.IsInf(*f.v, 0) {
			_, err = json.Marshal(ev)
			return buf, err
		}
		buf = append(buf, `,"`...)
		buf = append(buf, f.name...)
		buf = append(buf, `":`...)
		buf = appendJSONFloat(buf, *f.v)
	}
	buf = appendField(buf, "user", ev.User, true)
	buf = appendField(buf, "role", ev.Role, true)
	buf = appendField(buf, "source", ev.Source, true)
	if len(ev.Attrs) > 0 {
		buf = append(buf, `,"attrs":{`...)
		keys := make([]string, 0, len(ev.Attrs))
		for k := range ev.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendJSONString(buf, ev.Attrs[k])
		}
		buf = append(buf, '}')
	}
	if ev.SampleRate != 0 {
		if math.IsNaN(ev.SampleRate) || math.IsInf(ev.SampleRate, 0) {
			_, err = json.Marshal(ev)
			return buf, err
		}
		buf = append(buf, `,"sample_rate":`...)
		buf = appendJSONFloat(buf, ev.SampleRate)
	}
	return append(buf, '}'), nil
}

func appendField(buf []byte, name, v string, omitEmpty bool) []byte {
	if omitEmpty && v == "" {
		return buf
	}
	buf = append(buf, `,"`...)
	buf = append(buf, name...)
	buf = append(buf, `":`...)
	return appendJSONString(buf, v)
}

// appendJSONString writes s quoted. Plain printable ASCII is copied; any
// other string goes through json.Marshal, so that escaping (HTML
// characters, invalid UTF-8, U+2028) stays exactly the standard library's.
func appendJSONString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendJSONFloat writes a finite float64 as encoding/json does.
func appendJSONFloat(buf []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(buf) - start
		if n >= 4 && buf[len(buf)-4] == 'e' && buf[len(buf)-3] == '-' && buf[len(buf)-2] == '0' {
			buf[len(buf)-2] = buf[len(buf)-1]
			buf = buf[:len(buf)-1]
		}
	}
	return buf
}
