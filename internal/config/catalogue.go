package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/vigie-fr/vigie/schemas"
)

// CatalogueConfig describes the services events name: who runs them, where
// they are hosted, which regions and académies they serve, whom to call.
// The report names services by their display name and operator, and its
// shared-provider signal compares the services that failed together with
// their hosting providers and networks (docs/reports.md). A service missing
// from the catalogue is shown by its id.
type CatalogueConfig struct {
	Services []ServiceEntry `mapstructure:"services"`
}

// ServiceEntry is one service of the catalogue.
type ServiceEntry struct {
	// ID is the service as events carry it ("ent-11").
	ID string `mapstructure:"id"`
	// Name is what people call it ("monlycee.net").
	Name     string `mapstructure:"name"`
	Platform string `mapstructure:"platform"`
	// Operator runs the service (a region, an editor, the CNED).
	Operator string `mapstructure:"operator"`
	// Provider hosts it, and Network is the provider's autonomous system
	// ("AS16276"): services on one network share its failures.
	Provider string `mapstructure:"provider"`
	Network  string `mapstructure:"network"`
	// Regions and Academies it serves (INSEE codes; académie slugs).
	Regions   []string `mapstructure:"regions"`
	Academies []string `mapstructure:"academies"`
	// Contact is whom to reach during an incident (an address or a page).
	Contact string `mapstructure:"contact"`
}

// Service returns the catalogue's entry of id.
func (c CatalogueConfig) Service(id string) (ServiceEntry, bool) {
	for _, s := range c.Services {
		if s.ID == id {
			return s, true
		}
	}
	return ServiceEntry{}, false
}

var networkRE = regexp.MustCompile(`^AS[1-9][0-9]{0,9}$`)

// maxCatalogueText bounds a catalogue's free text: names, operators, contacts.
const maxCatalogueText = 200

// validate checks the catalogue's keys with Validate's bad.
func (c CatalogueConfig) validate(bad func(key string, val any, rule string)) {
	seen := map[string]int{}
	for i, s := range c.Services {
		key := fmt.Sprintf("catalogue.services[%d]", i)
		switch {
		case s.ID == "":
			bad(key+".id", `""`, "is empty, give the service as events name it")
		case len(s.ID) > schemas.MaxServiceLen:
			bad(key+".id", quote(s.ID), fmt.Sprintf("is longer than %d bytes, which no event's service can be", schemas.MaxServiceLen))
		}
		if j, dup := seen[s.ID]; dup && s.ID != "" {
			bad(key+".id", quote(s.ID), fmt.Sprintf("is already catalogue.services[%d]", j))
		}
		seen[s.ID] = i
		if s.Name == "" {
			bad(key+".name", `""`, "is empty, give the name people know the service by")
		}
		if !slices.Contains(schemas.Platforms, s.Platform) {
			bad(key+".platform", quote(s.Platform), "is not one of "+strings.Join(schemas.Platforms, ", "))
		}
		for field, v := range map[string]string{"name": s.Name, "operator": s.Operator, "provider": s.Provider, "contact": s.Contact} {
			if len(v) > maxCatalogueText || strings.IndexFunc(v, unicode.IsControl) >= 0 {
				bad(key+"."+field, quote(v), fmt.Sprintf("must be at most %d bytes on one line", maxCatalogueText))
			}
		}
		if s.Network != "" && !networkRE.MatchString(s.Network) {
			bad(key+".network", quote(s.Network), `is not an autonomous system number such as "AS16276"`)
		}
		if s.Network != "" && s.Provider == "" {
			bad(key+".network", quote(s.Network), "is set without a provider: name who hosts the service")
		}
		for j, r := range s.Regions {
			if !slices.Contains(schemas.Regions, r) {
				bad(fmt.Sprintf("%s.regions[%d]", key, j), quote(r), "is not an INSEE region code ("+strings.Join(schemas.Regions, ", ")+")")
			}
		}
		for j, a := range s.Academies {
			if a == "" || len(a) > schemas.MaxAcademyLen {
				bad(fmt.Sprintf("%s.academies[%d]", key, j), quote(a), fmt.Sprintf("is not an académie (1 to %d bytes)", schemas.MaxAcademyLen))
			}
		}
	}
}
