package report_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigie-fr/vigie/dashboards/report"
	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
	"github.com/vigie-fr/vigie/internal/store"
)

// morningCatalogue hosts ent-11 and ent-32 (both failing) with ent-53
// (which held) at one provider, ent-76 alone at another, the CNED at a
// third.
var morningCatalogue = config.CatalogueConfig{Services: []config.ServiceEntry{
	{ID: "ent-11", Name: "monlycee.net", Platform: "ent", Operator: "Région Île-de-France", Provider: "Hébergeur A", Network: "AS64501", Regions: []string{"11"}},
	{ID: "ent-32", Name: "ENT Hauts-de-France", Platform: "ent", Operator: "Région Hauts-de-France", Provider: "Hébergeur A", Network: "AS64501", Regions: []string{"32"}},
	{ID: "ent-53", Name: "Toutatice", Platform: "ent", Operator: "Région Bretagne", Provider: "Hébergeur A", Network: "AS64501", Regions: []string{"53"}},
	{ID: "ent-76", Name: "ENT Occitanie", Platform: "ent", Operator: "Région Occitanie", Provider: "Hébergeur B", Network: "AS64502", Regions: []string{"76"}},
	{ID: "cned-classe-virtuelle", Name: "Ma classe à la maison", Platform: "cned", Operator: "CNED", Provider: "Hébergeur C", Network: "AS64503"},
}}

// addPeopleAndNotes writes raw events with roles and sample rates inside
// and around the morning's incidents, and what people entered: an
// annotation, a lesson, an action item. Per person (the store counts each
// once, under one role, weighed by the largest 1/sample_rate):
//
//	1 pupil 1/100, fails in ent-76 (rejected) and in the CNED (timeout): 2 attempts
//	2 pupil 1/100, fails in ent-76        3, 4 pupils 1/100, ok in ent-76
//	5 teacher 1/10, fails in ent-76       6 parent 1/2, ok in ent-76
//	7 pupil 1/100, fails in ent-11        8 staff (not sampled), fails in ent-11
//	a probe (not counted), and person 9 failing in ent-53, which had no
//	incident (not counted).
//
// Pupils: 5 seen, 3 failed, ≈ 500 and 300; teachers 1 and 1, ≈ 10 and 10;
// parents 1 and 0, ≈ 2 and 0; staff 1 and 1. Everyone: ≈ 311 affected of
// ≈ 513; attempts ≈ 411 failed of 613 (the 6 failures of 9 attempts seen).
func addPeopleAndNotes(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := t.Context()
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	lat := float32(100)
	n := 0
	ev := func(svc, region string, ts time.Time, user uint64, role, kind, outcome string, rate float64) store.Event {
		n++
		platform := "ent"
		if strings.HasPrefix(svc, "cned") {
			platform = "cned"
		}
		return store.Event{ID: "people-" + string(rune('a'+n)), TS: ts, Platform: platform, Service: svc, Region: region, Kind: kind,
			Outcome: outcome, LatencyMS: &lat, User: user, Role: role, SampleRate: rate, Offset: int64(n)}
	}
	rows := []store.Event{
		ev("ent-76", "76", at(6, 31), 1, "student", "login", "rejected", 0.01),
		ev("ent-76", "76", at(6, 32), 2, "student", "login", "rejected", 0.01),
		ev("ent-76", "76", at(6, 33), 3, "student", "page", "ok", 0.01),
		ev("ent-76", "76", at(6, 34), 4, "student", "page", "ok", 0.01),
		ev("ent-76", "76", at(6, 35), 5, "teacher", "login", "error", 0.1),
		ev("ent-76", "76", at(6, 36), 6, "parent", "page", "ok", 0.5),
		ev("ent-76", "76", at(6, 37), 0, "", "probe", "error", 0),
		ev("ent-11", "11", at(6, 45), 7, "student", "page", "error", 0.01),
		ev("ent-11", "11", at(6, 46), 8, "staff", "page", "error", 0),
		ev("cned-classe-virtuelle", "53", at(6, 10), 1, "student", "api", "timeout", 0.01),
		ev("ent-53", "53", at(6, 12), 9, "teacher", "page", "error", 0.01),
	}
	if err := st.InsertEvents(ctx, rows, "morning-people"); err != nil {
		t.Fatal(err)
	}
	written := time.Date(2021, 4, 7, 9, 0, 0, 0, time.UTC)
	for _, a := range []store.Annotation{
		{ID: "n1", At: at(6, 50), Platform: "ent", Region: "11", Kind: store.AnnotationEvent, Text: "Premières plaintes d'enseignants sur les réseaux sociaux", Author: "analyste.idf", WrittenAt: written},
		{ID: "n2", At: at(8, 0), Kind: store.AnnotationBadly, Text: "Aucune communication aux familles avant 10 h", Author: "analyste.dne", WrittenAt: written},
	} {
		if err := st.PutAnnotation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutAction(ctx, store.Action{ID: "x1", At: at(6, 30), Title: "Relever le quota de sessions de l'ENT Occitanie", Owner: "Région Occitanie",
		Priority: "P1", Due: time.Date(2021, 4, 19, 0, 0, 0, 0, time.UTC), State: "open", Author: "ingenieur.dne", WrittenAt: written}); err != nil {
		t.Fatal(err)
	}
}

func TestHeadlineNumbersDoNotDoubleCount(t *testing.T) {
	r := morningReport(t)
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	want := report.Headline{WallMinutes: 120, Start: at(6, 0), End: at(8, 0), Platforms: []report.PlatformHeadline{
		// ent-76 06:30–07:30 covers ent-11 and ent-32 06:40–07:00: one hour.
		{Platform: "ent", Services: []string{"ent-11", "ent-32", "ent-76"}, Regions: []string{"11", "32", "76"}, WallMinutes: 60,
			Start: at(6, 30), End: at(7, 30), Incidents: 3},
		{Platform: "cned", Services: []string{"cned-classe-virtuelle"}, Regions: []string{"11", "32", "53", "76"}, WallMinutes: 120,
			Start: at(6, 0), End: at(8, 0), Incidents: 4},
	}}
	if !reflect.DeepEqual(r.Headline, want) {
		t.Errorf("headline =\n%+v\nwant\n%+v", r.Headline, want)
	}
	if r.Summary.WallMinutes != 120 || r.Summary.IncidentMinutes != 580 {
		t.Errorf("wall %d, sum of region-incidents %d; want 120 and 580", r.Summary.WallMinutes, r.Summary.IncidentMinutes)
	}
}

func TestPeopleByRoleAreEstimatedForTheWholePopulation(t *testing.T) {
	e := morningReport(t).Estimate
	want := report.Estimate{Available: true, Sampled: true, ByRole: []store.People{
		{Role: "student", Users: 5, Failed: 3, EstUsers: 500, EstFailed: 300, Attempts: 6, FailedAttempts: 4, EstAttempts: 600, EstFailedAttempts: 400, Sampled: 6},
		{Role: "teacher", Users: 1, Failed: 1, EstUsers: 10, EstFailed: 10, Attempts: 1, FailedAttempts: 1, EstAttempts: 10, EstFailedAttempts: 10, Sampled: 1},
		{Role: "parent", Users: 1, EstUsers: 2, Attempts: 1, EstAttempts: 2, Sampled: 1},
		{Role: "staff", Users: 1, Failed: 1, EstUsers: 1, EstFailed: 1, Attempts: 1, FailedAttempts: 1, EstAttempts: 1, EstFailedAttempts: 1},
	}, Total: store.People{Users: 8, Failed: 5, EstUsers: 513, EstFailed: 311, Attempts: 9, FailedAttempts: 6, EstAttempts: 613, EstFailedAttempts: 411, Sampled: 8}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("estimate =\n%+v\nwant\n%+v", e, want)
	}
}

func TestResponseAndProvidersAreComputed(t *testing.T) {
	r := morningReport(t)
	at := func(h, m int) time.Time { return time.Date(2021, 4, 6, h, m, 0, 0, time.UTC) }
	// Every failing minute of the morning is as bad as the worst: each
	// service recovers at its incident's end.
	if len(r.Recovery) != 4 {
		t.Fatalf("recovery = %+v", r.Recovery)
	}
	cned := r.Recovery[0]
	if cned.Service != "cned-classe-virtuelle" || !cned.Start.Equal(at(6, 0)) || !cned.WorstAt.Equal(at(6, 0)) ||
		!cned.MitigatedAt.Equal(at(8, 0)) || !cned.End.Equal(at(8, 0)) || cned.AlertAt.Before(cned.Start) {
		t.Errorf("CNED recovery = %+v", cned)
	}
	if tr := r.Trigger; tr == nil || tr.Service != "cned-classe-virtuelle" || tr.Region != "11" || !tr.Start.Equal(at(6, 0)) ||
		tr.StartAttempts != 600 || tr.Before != 0 || !reflect.DeepEqual(tr.Signals, []string{"attack", "shared_provider"}) {
		t.Errorf("trigger = %+v", r.Trigger)
	}
	want := []report.ProviderShare{
		{Provider: "Hébergeur A", Network: "AS64501", Failed: []string{"ent-11", "ent-32"}, Held: []string{"ent-53"}},
		{Provider: "Hébergeur B", Network: "AS64502", Failed: []string{"ent-76"}, Held: []string{}},
		{Provider: "Hébergeur C", Network: "AS64503", Failed: []string{"cned-classe-virtuelle"}, Held: []string{}},
	}
	if !reflect.DeepEqual(r.Providers, want) {
		t.Errorf("providers =\n%+v\nwant\n%+v", r.Providers, want)
	}
	// The four services failing together at 08:40 are the same four: the
	// shared-provider signal compares them with their hosts.
	for _, s := range r.Signals {
		if s.Kind == report.SignalSharedProvider && !reflect.DeepEqual(s.Providers, want) {
			t.Errorf("shared-provider signal's providers =\n%+v\nwant\n%+v", s.Providers, want)
		}
	}
}

// The report in each language: complete (no missing message), with the
// key sentences written out exactly, and no English in the French one.
func TestTheReportIsCompleteInEachLanguage(t *testing.T) {
	nb := func(s string) string { return strings.NewReplacer("_", "\u202f", "~", "\u00a0").Replace(s) }
	want := map[i18n.Lang][]string{
		i18n.French: {
			"# Retour d'expérience : du 6 avril 2021 à 08~h~00 au 6 avril 2021 à 12~h~00 (heure de Paris)",
			"Statut : **brouillon**",
			"- **ENT** : 3 services en panne dans **3 régions** (Île-de-France, Hauts-de-France, Occitanie), **1 h** de panne, 6 avril 2021, de 08~h~30 à 09~h~30.",
			"- **CNED** : 1 service en panne dans **4 régions** (toutes les régions avec du trafic (4)), **2 h** de panne, 6 avril 2021, de 08~h~00 à 10~h~00.",
			"- Au total, au moins un service était en panne pendant **2 h** (6 avril 2021, de 08~h~00 à 10~h~00) ; les pannes simultanées ne sont comptées qu'une fois.",
			"- Environ **311 personnes** ont subi au moins un échec (300 élèves, 10 enseignants, 1 personnel), estimation pour l'ensemble des usagers ; environ 411 tentatives sur 613 ont échoué pendant les pannes (67,0~%).",
			"| Élèves | 300 | 500 | 3 / 5 | 400 / 600 |",
			"| **Total** | 311 | 513 | 5 / 8 | 411 / 613 |",
			"8 des 9 événements pris en compte étaient échantillonnés",
			"- Première panne : Ma classe à la maison (CNED) en Île-de-France (11), à 08~h~00 : trop d'échecs et réponses trop lentes.",
			"| 6 avril 2021 à 08~h~50 | Saisi par analyste.idf | ENT Île-de-France (11) Premières plaintes d'enseignants sur les réseaux sociaux |",
			"- **Hébergeur A (réseau AS64501)** : 2 services en panne (monlycee.net (Région Île-de-France), ENT Hauts-de-France (Région Hauts-de-France)) ; ses autres services ont tenu : Toutatice (Région Bretagne).",
			"Les services en panne sont chez 3 hébergeurs différents : un hébergeur commun n'explique pas à lui seul les pannes simultanées.",
			"| Relever le quota de sessions de l'ENT Occitanie | Région Occitanie | P1 | 19 avril 2021 | à faire | ingenieur.dne, le 7 avril 2021 à 11~h~00 |",
			"- Aucune communication aux familles avant 10 h (analyste.dne)",
			"- ENT : 1 région sur 4 n'a eu aucune panne (Bretagne).",
			"- Chez Hébergeur A, des services ont tenu alors que d'autres du même hébergeur tombaient : Toutatice (Région Bretagne).",
			"| Île-de-France (11) | **82,6** | 99,0 | 99,0 | 99,0 |",
		},
		i18n.English: {
			"# Post-mortem: 6 April 2021 at 08:00 to 6 April 2021 at 12:00 (Paris time)",
			"- **ENT**: 3 services in incident in **3 regions** (Île-de-France, Hauts-de-France, Occitanie), **1 h** in incident, 6 April 2021, 08:30 to 09:30.",
			"- About **311 people** saw at least one failure (300 pupils, 10 teachers, 1 staff member), estimated for all users; about 411 of 613 attempts failed during the incidents (67.0%).",
			"| **Total** | 311 | 513 | 5 / 8 | 411 / 613 |",
			"| Relever le quota de sessions de l'ENT Occitanie | Région Occitanie | P1 | 19 April 2021 | open | ingenieur.dne, 7 April 2021 at 11:00 |",
		},
	}
	for lang, lines := range want {
		r := morningReport(t)
		r.Lang = lang
		var md bytes.Buffer
		if err := r.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		out := md.String()
		if strings.Contains(out, "⟦") {
			t.Errorf("the %s report has a missing message: %s", lang, out[strings.Index(out, "⟦"):][:60])
		}
		for _, l := range lines {
			if !strings.Contains(out, nb(l)) {
				t.Errorf("the %s report lacks\n%q", lang, nb(l))
			}
		}
		if lang != i18n.French {
			continue
		}
		// Words of the English report that must not leak into the French one
		// (outside the glossary, where technical terms belong).
		body, _, _ := strings.Cut(out, "## Glossaire")
		for _, w := range []string{" incident ", " incidents ", "users", "Lessons", "attempts", "p95", "HyperLogLog", "Wilson", "quantile", "attack-like", "failed"} {
			if strings.Contains(body, w) {
				i := strings.Index(body, w)
				t.Errorf("the French report's body says %q: …%s…", w, body[max(0, i-60):min(len(body), i+40)])
			}
		}
	}
}
