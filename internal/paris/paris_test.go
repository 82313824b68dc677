package paris

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLocationIsParis(t *testing.T) {
	if Location.String() != "Europe/Paris" {
		t.Fatalf("Location = %s, want Europe/Paris (time/tzdata is linked in)", Location)
	}
	for _, tc := range []struct {
		at     time.Time
		offset int
	}{
		{time.Date(2021, 1, 15, 12, 0, 0, 0, time.UTC), 3600},
		{time.Date(2021, 4, 6, 12, 0, 0, 0, time.UTC), 7200},
	} {
		if _, off := tc.at.In(Location).Zone(); off != tc.offset {
			t.Errorf("offset on %s = %d s, want %d", tc.at.Format(time.DateOnly), off, tc.offset)
		}
	}
}

func TestParseRange(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name     string
		from, to string
		want     [2]string // UTC, RFC 3339
		hours    float64
	}{
		{"a day alone is that whole Paris day", "2021-04-06", "", [2]string{"2021-04-05T22:00:00Z", "2021-04-06T22:00:00Z"}, 24},
		{"a day as to includes that day", "2021-04-06", "2021-04-07", [2]string{"2021-04-05T22:00:00Z", "2021-04-07T22:00:00Z"}, 48},
		{"the same day twice is that one day", "2021-04-06", "2021-04-06", [2]string{"2021-04-05T22:00:00Z", "2021-04-06T22:00:00Z"}, 24},
		{"the day summer time starts is 23 h long", "2021-03-28", "", [2]string{"2021-03-27T23:00:00Z", "2021-03-28T22:00:00Z"}, 23},
		{"the day summer time ends is 25 h long", "2021-10-31", "", [2]string{"2021-10-30T22:00:00Z", "2021-10-31T23:00:00Z"}, 25},
		{"a winter day starts at 23:00 UTC", "2020-03-16", "", [2]string{"2020-03-15T23:00:00Z", "2020-03-16T23:00:00Z"}, 24},
		{"RFC 3339 times are taken as given", "2021-04-06T06:00:00+02:00", "2021-04-06T10:00:00Z", [2]string{"2021-04-06T04:00:00Z", "2021-04-06T10:00:00Z"}, 6},
		{"an RFC 3339 from alone lasts 24 h", "2021-10-31T00:00:00+02:00", "", [2]string{"2021-10-30T22:00:00Z", "2021-10-31T22:00:00Z"}, 24},
		{"a time then a day ends after that day", "2021-04-06T06:00:00Z", "2021-04-06", [2]string{"2021-04-06T06:00:00Z", "2021-04-06T22:00:00Z"}, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, to, err := ParseRange(tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if !f.Equal(utc(tt.want[0])) || !to.Equal(utc(tt.want[1])) {
				t.Errorf("ParseRange(%q, %q) = %s, %s; want %s, %s", tt.from, tt.to, f.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), tt.want[0], tt.want[1])
			}
			if h := to.Sub(f).Hours(); h != tt.hours {
				t.Errorf("range is %v h long, want %v", h, tt.hours)
			}
		})
	}
}

func TestParseRangeErrorsNameTheValueAndTheForms(t *testing.T) {
	tests := []struct {
		name, from, to, param string
		has                   []string
	}{
		{"a missing from", "", "2021-04-06", "from", []string{"missing", "RFC 3339", "a day"}},
		{"a French date", "06/04/2021", "", "from", []string{`"06/04/2021" is neither an RFC 3339 time (2021-04-06T06:00:00+02:00) nor a day (2021-04-06`}},
		{"a time without its offset", "2021-04-06T06:00:00", "", "from", []string{`"2021-04-06T06:00:00"`, "RFC 3339"}},
		{"a bad to", "2021-04-06", "tomorrow", "to", []string{`"tomorrow"`, "RFC 3339", "a day"}},
		{"a to before from", "2021-04-06", "2021-04-05", "to", []string{"2021-04-05 is not after from (2021-04-06)"}},
		{"a to equal to from", "2021-04-06T06:00:00Z", "2021-04-06T08:00:00+02:00", "to", []string{"not after from"}},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused naming "+tt.param, func(t *testing.T) {
			_, _, err := ParseRange(tt.from, tt.to)
			var re *RangeError
			if !errors.As(err, &re) || re.Param != tt.param {
				t.Fatalf("error %v, want a RangeError for %s", err, tt.param)
			}
			if !strings.HasPrefix(err.Error(), tt.param+": ") {
				t.Errorf("error %q does not start with %q", err, tt.param+": ")
			}
			for _, s := range tt.has {
				if !strings.Contains(re.Msg, s) {
					t.Errorf("message %q lacks %q", re.Msg, s)
				}
			}
		})
	}
}

func FuzzParseRange(f *testing.F) {
	for _, s := range [][2]string{
		{"2021-04-06", ""}, {"2021-03-28", "2021-10-31"}, {"2021-04-06T06:00:00+02:00", "2021-04-06T10:00:00Z"},
		{"2021-04-06", "2021-04-05"}, {"", ""}, {"0000-01-01", "9999-12-31"}, {"2021-02-30", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, from, to string) {
		f, t2, err := ParseRange(from, to)
		if err != nil {
			var re *RangeError
			if !errors.As(err, &re) || (re.Param != "from" && re.Param != "to") {
				t.Fatalf("ParseRange(%q, %q): %v is not a RangeError naming from or to", from, to, err)
			}
			return
		}
		if !t2.After(f) {
			t.Fatalf("ParseRange(%q, %q) = %s, %s: to is not after from", from, to, f, t2)
		}
	})
}
