// Package simulate replays the mornings Vigie was built for — 6 April 2021,
// the first day of remote school, and 16 March 2020, the first day of the
// first lockdown — as schema v1 events, and sends them to a collector.
//
// The events are simulated: their shape (which ENTs failed, when, how; the
// CNED slowdown under attack-like traffic; the load curve) follows the public
// facts gathered in docs/design.md ("The domain"), their volume does not. One
// simulated user stands for PupilsPerUser pupils, and small regions are given
// a floor of traffic so that every minute has enough events to judge; counts
// derived from simulated data are never measurements and must not be
// presented as such.
//
// The package is not a load-testing tool for the collector, and it does not
// model the overseas regions' own time zones: every region follows the
// metropolitan morning, so that all 18 are visible in the same window.
package simulate

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie-fr/vigie/internal/paris"
	"github.com/vigie-fr/vigie/schemas"
)

// PupilsPerUser is how many pupils one simulated user stands for: the user
// pool of a region holds (its pupils / PupilsPerUser) pseudonymous ids.
const PupilsPerUser = 500

// CNEDService is the service name of the CNED virtual classroom.
const CNEDService = "cned-classe-virtuelle"

// Causes of a scripted incident. They drive the simulation only: no event
// carries them, the report must find them from the data.
const (
	// CauseOverload is a capacity-limited service under quota: sessions capped,
	// logins rejected or sent to a waiting room, errors, latency rising first.
	CauseOverload = "overload"
	// CauseAttack is attack-like traffic: many requests from few sources with
	// odd user agents and no user, on top of the legitimate load.
	CauseAttack = "attack"
	// CauseSilent is a platform down hard: its pages never load, so its
	// beacons stop and nothing arrives at all.
	CauseSilent = "silent"
)

// Incident is one scripted failure of a service.
type Incident struct {
	Platform string // "ent" or "cned"
	Service  string
	// Regions hit; nil means every region (a national service such as the CNED).
	Regions []string
	// Start and End bound the failure: availability below target and p95
	// above the threshold from Start (inclusive) to End (exclusive).
	Start, End time.Time
	Cause      string // CauseOverload or CauseAttack
	// WaitingRoomFrom, when set before Start, opens the waiting room early:
	// some logins are queued (not failed) before the failure proper.
	WaitingRoomFrom time.Time
}

// Scenario is one simulated morning.
type Scenario struct {
	Name        string // the day, e.g. "2021-04-06"
	Description string
	// Start and End bound the window, in Paris time (the day's offset).
	Start, End time.Time
	// PeakFactor is the demand of the 08:00–09:00 peak over a normal morning's
	// peak (docs/design.md, "The domain": 5–7×). The rest of the morning is scaled less.
	PeakFactor float64
	Incidents  []Incident
	// Diurnal replaces the morning curve by a whole day's (night, morning
	// and afternoon classes, evening homework; weekends at a third) for runs
	// of several days; PeakFactor is then 1.
	Diurnal bool
	// NoiseRate, when above 0, fails each healthy request independently
	// with this probability (a timeout one time in five): the random errors
	// of a real service, which thin minutes see as 1 of 3 failing.
	NoiseRate float64
}

// TruthIncident is one (platform, service, region) the scenario breaks, and
// when: what a report computed from the data alone should find.
type TruthIncident struct {
	Platform, Service, Region string
	Start, End                time.Time
	Cause                     string
}

// Truth expands the scenario's incidents to one entry per region, sorted by
// start, then service, then region.
func (sc Scenario) Truth() []TruthIncident {
	var out []TruthIncident
	for _, in := range sc.Incidents {
		regions := in.Regions
		if regions == nil {
			regions = schemas.Regions
		}
		for _, r := range regions {
			out = append(out, TruthIncident{Platform: in.Platform, Service: in.Service, Region: r, Start: in.Start, End: in.End, Cause: in.Cause})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Service != b.Service {
			return a.Service < b.Service
		}
		return a.Region < b.Region
	})
	return out
}

// ENTService is the service name of a region's ENT, e.g. "ent-11".
func ENTService(region string) string { return "ent-" + region }

// ENTBrand is the public name of a region's ENT where it is well known, for
// display; the events carry only the service name.
func ENTBrand(region string) string {
	return map[string]string{
		"11": "monlycee.net", "24": "NetO'Centre", "27": "ECLAT-BFC", "28": "L'Educ de Normandie",
		"32": "ENT Hauts-de-France", "44": "Mon Bureau Numérique", "52": "e-lyco", "53": "Toutatice",
		"75": "Lycée connecté", "76": "ENT Occitanie", "84": "ENT Auvergne-Rhône-Alpes", "93": "Atrium",
	}[region]
}

// Names lists the known scenarios.
func Names() []string { return []string{"2021-04-06", "2020-03-16", "2021-04-08", "healthy-week"} }

// Lookup returns a scenario by name.
func Lookup(name string) (Scenario, error) {
	switch name {
	case "2021-04-06":
		return april2021(), nil
	case "2020-03-16":
		return march2020(), nil
	case "2021-04-08":
		return silentMorning(), nil
	case "healthy-week":
		return HealthyDays(time.Date(2021, 5, 10, 0, 0, 0, 0, paris.Location), 7), nil
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q: known scenarios are %s", name, strings.Join(Names(), ", "))
}

// april2021 is Tuesday 6 April 2021 (Paris, CEST +02:00). ENTs of seven regions fail
// one after the other between 08:05 and 08:40 (the first reports came
// "shortly after 8:30"); the Pays de la Loire waiting room is open from 07:30
// (the Vendée teacher's white screen); the CNED is slow 08:00–10:00 under
// attack-like traffic and back for the essential from 10:00.
func april2021() Scenario {
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, paris.Location) }
	ent := func(region string, h1, m1, h2, m2 int) Incident {
		return Incident{Platform: "ent", Service: ENTService(region), Regions: []string{region}, Start: at(h1, m1), End: at(h2, m2), Cause: CauseOverload}
	}
	pdl := ent("52", 8, 40, 9, 55)
	pdl.WaitingRoomFrom = at(7, 30)
	return Scenario{
		Name: "2021-04-06",
		Description: "Tuesday 6 April 2021, first morning of remote school: ENTs of seven regions saturated " +
			"(quotas, waiting rooms, errors), CNED virtual classroom slow 08:00–10:00 under attack-like traffic.",
		Start: at(6, 0), End: at(12, 0), PeakFactor: 6,
		Incidents: []Incident{
			ent("11", 8, 5, 11, 20),
			ent("44", 8, 10, 11, 40),
			ent("32", 8, 15, 10, 50),
			ent("24", 8, 20, 10, 35),
			ent("76", 8, 25, 11, 5),
			ent("28", 8, 30, 10, 20),
			pdl,
			{Platform: "cned", Service: CNEDService, Start: at(8, 0), End: at(10, 0), Cause: CauseAttack},
		},
	}
}

// march2020 is Monday 16 March 2020 (Paris, CET +01:00), the comparison point: the
// same shape a year earlier — several ENTs saturated (Hauts-de-France and
// Bourgogne-Franche-Comté among others) and a CNED overloaded by its own
// users, not attacked.
func march2020() Scenario {
	at := func(h, m int) time.Time { return time.Date(2020, 3, 16, h, m, 0, 0, paris.Location) }
	ent := func(region string, h1, m1, h2, m2 int) Incident {
		return Incident{Platform: "ent", Service: ENTService(region), Regions: []string{region}, Start: at(h1, m1), End: at(h2, m2), Cause: CauseOverload}
	}
	return Scenario{
		Name: "2020-03-16",
		Description: "Monday 16 March 2020, first morning of the first lockdown: ENTs of several regions saturated, " +
			"CNED overloaded by new users.",
		Start: at(6, 0), End: at(12, 0), PeakFactor: 6,
		Incidents: []Incident{
			ent("32", 8, 10, 11, 30),
			ent("27", 8, 20, 11, 10),
			ent("44", 8, 30, 10, 15),
			ent("11", 8, 35, 10, 40),
			ent("84", 8, 50, 10, 30),
			{Platform: "cned", Service: CNEDService, Start: at(8, 45), End: at(10, 30), Cause: CauseOverload},
		},
	}
}

// silentMorning is a scripted morning (Thursday 8 April 2021, not the
// historical record): the ENT of Auvergne-Rhône-Alpes goes dark 09:10–09:55
// (its pages never load, so no beacon arrives: only silence tells), and the
// ENT of Corse, the smallest region, fails 08:30–09:20. Random errors (1 %)
// run all morning, as in a real service.
func silentMorning() Scenario {
	at := func(h, m int) time.Time { return time.Date(2021, 4, 8, h, m, 0, 0, paris.Location) }
	return Scenario{
		Name: "2021-04-08",
		Description: "Scripted morning: the ENT of Auvergne-Rhône-Alpes silent 09:10–09:55 (beacons stop), " +
			"the ENT of Corse failing 08:30–09:20, 1 % random errors elsewhere.",
		Start: at(6, 0), End: at(12, 0), PeakFactor: 2, NoiseRate: 0.01,
		Incidents: []Incident{
			{Platform: "ent", Service: ENTService("94"), Regions: []string{"94"}, Start: at(8, 30), End: at(9, 20), Cause: CauseOverload},
			{Platform: "ent", Service: ENTService("84"), Regions: []string{"84"}, Start: at(9, 10), End: at(9, 55), Cause: CauseSilent},
		},
	}
}

// HealthyDays is days of healthy traffic from start (a Paris midnight):
// a whole day's curve, weekends included, 1 % random errors, no incident.
// It measures false incidents.
func HealthyDays(start time.Time, days int) Scenario {
	return Scenario{
		Name:        "healthy-" + start.Format("2006-01-02") + "-" + strconv.Itoa(days) + "d",
		Description: "Healthy days with a diurnal curve and 1 % random errors: no incident.",
		Start:       start, End: start.AddDate(0, 0, days), PeakFactor: 1, Diurnal: true, NoiseRate: 0.01,
	}
}

//go:embed academies.csv
var academiesCSV []byte

// Academy is one row of academies.csv: rounded public orders of magnitude,
// for weighting simulated load.
type Academy struct {
	Slug, Name, Region, RegionName string
	Pupils                         int
}

// Academies returns the 30 académies with their region and approximate pupils.
func Academies() ([]Academy, error) {
	rows, err := csv.NewReader(bytes.NewReader(academiesCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("academies.csv: %w", err)
	}
	var out []Academy
	for i, r := range rows[1:] {
		if len(r) != 5 {
			return nil, fmt.Errorf("academies.csv line %d: %d fields, want 5", i+2, len(r))
		}
		n, err := strconv.Atoi(r[4])
		if err != nil {
			return nil, fmt.Errorf("academies.csv line %d: pupils_approx %q: %w", i+2, r[4], err)
		}
		out = append(out, Academy{Slug: r[0], Name: r[1], Region: r[2], RegionName: r[3], Pupils: n})
	}
	return out, nil
}
