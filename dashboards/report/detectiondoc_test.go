package report

import (
	"os"
	"strings"
	"testing"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/internal/i18n"
)

// docs/detection.md says the rule twice, in French and in English; the
// report says it under "How incidents are found". Both must say what the
// code applies by default: each language's list is the report's own text
// in that language.
func TestDetectionDocSaysTheRuleTheCodeApplies(t *testing.T) {
	raw, err := os.ReadFile("../../docs/detection.md")
	if err != nil {
		t.Fatal(err)
	}
	fr, en, ok := strings.Cut(string(raw), "\n## English\n")
	if !ok {
		t.Fatal(`docs/detection.md has no "## English" section after the French one`)
	}
	o := objective(config.Default().Incidents, nil)
	for lang, section := range map[i18n.Lang]string{i18n.French: fr, i18n.English: en} {
		for _, item := range RuleText(i18n.For(lang), o) {
			if !strings.Contains(section, "\n- "+item+"\n") {
				t.Errorf("the %s rule of docs/detection.md lacks the report's line\n- %s", lang, item)
			}
		}
	}
}
