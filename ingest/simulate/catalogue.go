package simulate

import (
	"fmt"

	"github.com/vigie-fr/vigie/internal/config"
	"github.com/vigie-fr/vigie/schemas"
)

// demoHosts are the fictional hosting providers of the demo's catalogue,
// on documentation AS numbers (RFC 5398): a few regions' ENTs share a
// host, so the report can say which hosts' services failed together and
// which held. They are a model, not the real hosts of 2021.
var demoHosts = map[string][2]string{
	"11": {"Hébergeur Nord", "AS64501"}, "32": {"Hébergeur Nord", "AS64501"}, "28": {"Hébergeur Nord", "AS64501"},
	"53": {"Hébergeur Nord", "AS64501"}, "27": {"Hébergeur Nord", "AS64501"},
	"44": {"Hébergeur Est", "AS64502"}, "84": {"Hébergeur Est", "AS64502"}, "93": {"Hébergeur Est", "AS64502"},
	"94": {"Hébergeur Est", "AS64502"},
	"24": {"Hébergeur Ouest", "AS64503"}, "52": {"Hébergeur Ouest", "AS64503"}, "75": {"Hébergeur Ouest", "AS64503"},
	"76": {"Hébergeur Ouest", "AS64503"},
	"01": {"Hébergeur Outre-mer", "AS64504"}, "02": {"Hébergeur Outre-mer", "AS64504"}, "03": {"Hébergeur Outre-mer", "AS64504"},
	"04": {"Hébergeur Outre-mer", "AS64504"}, "06": {"Hébergeur Outre-mer", "AS64504"},
}

// Catalogue is the catalogue of the services the simulator sends (the
// demo's catalogue.services when the configuration has none): each
// region's ENT under its public name, run by its region, and the CNED
// virtual classroom. Hosts and contacts are fictional.
func Catalogue() (config.CatalogueConfig, error) {
	acs, err := Academies()
	if err != nil {
		return config.CatalogueConfig{}, err
	}
	byRegion := map[string][]string{}
	for _, a := range acs {
		byRegion[a.Region] = append(byRegion[a.Region], a.Slug)
	}
	var c config.CatalogueConfig
	for _, r := range schemas.Regions {
		name := ENTBrand(r)
		if name == "" {
			name = "ENT " + schemas.RegionNames[r]
		}
		host := demoHosts[r]
		c.Services = append(c.Services, config.ServiceEntry{ID: ENTService(r), Name: name, Platform: "ent",
			Operator: "Région " + schemas.RegionNames[r], Provider: host[0], Network: host[1], Regions: []string{r},
			Academies: byRegion[r], Contact: fmt.Sprintf("astreinte-ent-%s@example.fr", r)})
	}
	c.Services = append(c.Services, config.ServiceEntry{ID: CNEDService, Name: "Ma classe à la maison", Platform: "cned",
		Operator: "CNED", Provider: "Hébergeur Classe", Network: "AS64510", Regions: append([]string{}, schemas.Regions...),
		Contact: "astreinte-classe@example.fr"})
	return c, nil
}
