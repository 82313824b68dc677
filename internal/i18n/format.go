package i18n

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// French typography: a narrow no-break space groups thousands, a no-break
// space comes before "%" and ":".
const (
	narrowNBSP = "\u202f"
	nbsp       = "\u00a0"
)

// Int writes an integer with the language's thousands separator:
// "8 190" in French, "8,190" in English.
func (p *Printer) Int(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if p.lang == French {
		sep = narrowNBSP
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Float writes x with prec decimals and the language's decimal mark:
// "40,3" in French, "40.3" in English; thousands are grouped as in Int.
func (p *Printer) Float(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', prec, 64)
	whole, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := p.Int(n)
	if x < 0 && (n != 0 || strings.Trim(frac, "0") != "") {
		out = "-" + out
	}
	if frac != "" {
		mark := "."
		if p.lang == French {
			mark = ","
		}
		out += mark + frac
	}
	return out
}

// Percent writes a ratio (0.403) as a percentage with prec decimals:
// "40,3 %" in French, "40.3%" in English.
func (p *Printer) Percent(ratio float64, prec int) string {
	if p.lang == French {
		return p.Float(ratio*100, prec) + nbsp + "%"
	}
	return p.Float(ratio*100, prec) + "%"
}

// Date writes a day: "6 avril 2021", "6 April 2021".
func (p *Printer) Date(t time.Time) string {
	day := strconv.Itoa(t.Day())
	if p.lang == French && t.Day() == 1 {
		day = "1er"
	}
	return day + " " + p.T("month."+strconv.Itoa(int(t.Month()))) + " " + strconv.Itoa(t.Year())
}

// Clock writes a time of day: "08 h 05" in French, "08:05" in English.
func (p *Printer) Clock(t time.Time) string {
	if p.lang == French {
		return t.Format("15") + nbsp + "h" + nbsp + t.Format("04")
	}
	return t.Format("15:04")
}

// DateTime writes a day and a time: "6 avril 2021 à 08 h 05",
// "6 April 2021 at 08:05". The time is written in t's location: the
// caller chooses it (Paris, or a region's own time overseas).
func (p *Printer) DateTime(t time.Time) string {
	return p.T("datetime", "Date", p.Date(t), "Clock", p.Clock(t))
}

// Weekday names a day of the week: "lundi", "Monday".
func (p *Printer) Weekday(d time.Weekday) string {
	return p.T("weekday." + strconv.Itoa(int(d)))
}

// Duration writes a length of time the same way in every table, rounded to
// the minute: "45 min", "3 h 15 min", "2 j 4 h" (days drop the minutes).
func (p *Printer) Duration(d time.Duration) string {
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 60:
		return p.T("duration.m", "M", m)
	case m < 24*60:
		if m%60 == 0 {
			return p.T("duration.h", "H", m/60)
		}
		return p.T("duration.hm", "H", m/60, "M", m%60)
	default:
		return p.T("duration.dh", "D", m/(24*60), "H", (m%(24*60))/60)
	}
}
