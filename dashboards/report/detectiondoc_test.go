package report

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/dashboards/incident"
	"github.com/vigie-fr/vigie/internal/config"
)

// docs/detection.md says the rule twice, in French and in English; the
// report says it under "How incidents are found". All three must say what
// the code applies by default: the English list is the report's own text,
// the French one must name every default parameter.
func TestDetectionDocSaysTheRuleTheCodeApplies(t *testing.T) {
	raw, err := os.ReadFile("../../docs/detection.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	fr, en, ok := strings.Cut(doc, "\n## English\n")
	if !ok {
		t.Fatal(`docs/detection.md has no "## English" section after the French one`)
	}
	cfg := config.Default().Incidents
	o := objective(cfg, nil)
	for _, item := range RuleText(o) {
		if !strings.Contains(en, "\n- "+item+"\n") {
			t.Errorf("the English rule of docs/detection.md lacks the report's line\n- %s", item)
		}
	}
	// French numbers: decimal comma, thin grouping as the report's (a space).
	frNum := func(v float64) string {
		return strings.Replace(strconv.FormatFloat(v, 'f', -1, 64), ".", ",", 1)
	}
	def := cfg.Objective("", "")
	want := []string{
		"jusqu'à\n  **" + strconv.Itoa(cfg.MaxWindowMinutes) + " minutes**",
		"**" + strconv.Itoa(cfg.MinEvents) + " tentatives**",
		"confiance **" + frNum(cfg.Confidence*100) + " %**",
		"(**" + frNum(def.AvailabilityTarget*100) + " %** par défaut)",
		"(**" + count(uint64(def.LatencyThresholdMS)) + " ms** par défaut)",
		"au moins\n  **" + frNum(cfg.Silence.MinExpected) + " événements**",
		"des **" + strconv.Itoa(cfg.Silence.HistoryDays) + " jours** précédents",
		"moins **" + strconv.Itoa(incident.MinHistoryDays) + "** d'entre eux",
		"au plus **" + frNum(cfg.Silence.Fraction*100) + " %**",
		"**" + cfg.Calendar.Nights + "**",
		"d'au plus **" + strconv.Itoa(cfg.MergeGapMinutes) + " minutes**",
		"au moins **" + plural(cfg.MinMinutes, "minute") + "**",
	}
	for _, w := range want {
		if !strings.Contains(fr, w) {
			t.Errorf("the French rule of docs/detection.md does not say %q (the default configuration's value)", w)
		}
	}
}
