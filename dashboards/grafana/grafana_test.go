// Package grafana_test holds Vigie's Grafana dashboards to the store: the
// dashboard JSON in dashboards/ is written from store.Views (the text of
// the very queries the API runs, with Grafana's macros and variables in
// place of values), and every query in it runs on a warehouse holding a
// demo-like morning. Regenerate the JSON after a change of the store's
// queries with:
//
//	go test ./dashboards/grafana -run TestDashboardIsTheStoresQueries -update
package grafana_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/vigie-fr/vigie/dashboards/incident/incidenttest"
	"github.com/vigie-fr/vigie/internal/store"
	"github.com/vigie-fr/vigie/internal/warehouse"
	"github.com/vigie-fr/vigie/schemas"
)

var update = flag.Bool("update", false, "rewrite dashboards/vigie.json from the store's views")

func TestMain(m *testing.M) { os.Exit(incidenttest.Run(m)) }

const (
	dashboardFile  = "dashboards/vigie.json"
	datasourceFile = "provisioning/datasources/vigie.yaml"
	providerFile   = "provisioning/dashboards/vigie.yaml"
	datasourceUID  = "vigie-clickhouse"
	database       = "vigie" // warehouse.database's default
)

// grafanaText writes the store's queries with the ClickHouse data
// source's macros and the dashboard's variables: each filter is a
// multi-value variable whose "All" is the value 'all'.
var grafanaText = store.SQLText{From: "$__fromTime", To: "$__toTime", In: func(col string, _ []string) string {
	return fmt.Sprintf("(%[1]s IN (${%[1]s:singlequote}) OR 'all' IN (${%[1]s:singlequote}))", col)
}}

func target(sql string, table bool) map[string]any {
	format, queryType := 0, "timeseries"
	if table {
		format, queryType = 1, "table"
	}
	return map[string]any{"datasource": map[string]any{"type": "grafana-clickhouse-datasource", "uid": datasourceUID},
		"editorType": "sql", "format": format, "queryType": queryType, "rawSql": sql, "refId": "A"}
}

func variable(name, label string, options [][2]string, query string) map[string]any {
	v := map[string]any{"name": name, "label": label, "multi": true, "includeAll": true, "allValue": "all",
		"current": map[string]any{"selected": true, "text": []string{"All"}, "value": []string{"$__all"}}}
	if query != "" {
		v["type"] = "query"
		v["datasource"] = map[string]any{"type": "grafana-clickhouse-datasource", "uid": datasourceUID}
		v["query"] = query
		v["refresh"] = 1
		return v
	}
	var parts []string
	for _, o := range options {
		parts = append(parts, o[0]+" : "+o[1])
	}
	v["type"] = "custom"
	v["query"] = strings.Join(parts, ",")
	return v
}

// dashboard builds the dashboard JSON from the store's views.
func dashboard(t *testing.T, st *store.Store) []byte {
	t.Helper()
	views, err := st.Views(grafanaText)
	if err != nil {
		t.Fatal(err)
	}
	var panels []map[string]any
	for i, v := range views {
		kind := "timeseries"
		if v.Table {
			kind = "table"
		}
		p := map[string]any{"id": i + 1, "type": kind, "title": v.Title, "description": "store view " + v.Name,
			"gridPos":    map[string]int{"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
			"datasource": map[string]any{"type": "grafana-clickhouse-datasource", "uid": datasourceUID},
			"targets":    []any{target(v.SQL, v.Table)}}
		if strings.Contains(v.Name, "availability") {
			p["fieldConfig"] = map[string]any{"defaults": map[string]any{"unit": "percentunit", "min": 0, "max": 1}}
		}
		panels = append(panels, p)
	}
	var regions [][2]string
	for _, code := range schemas.Regions {
		regions = append(regions, [2]string{schemas.RegionNames[code], code})
	}
	d := map[string]any{
		"uid": "vigie-overview", "title": "Vigie — disponibilité de l'école à distance / remote-school availability",
		"schemaVersion": 39, "version": 1, "editable": true, "timezone": "Europe/Paris", "refresh": "1m",
		"time": map[string]string{"from": "2021-04-06T06:00:00.000Z", "to": "2021-04-06T10:00:00.000Z"},
		"tags": []string{"vigie"},
		"templating": map[string]any{"list": []any{
			variable("platform", "Plateforme / Platform", [][2]string{{"ENT", "ent"}, {"CNED", "cned"}}, ""),
			variable("service", "Service", nil, "SELECT service FROM (\n"+st.ServicesSQL()+"\n)"),
			variable("region", "Région / Region", regions, ""),
		}},
		"panels": panels,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func textStore(t *testing.T) *store.Store {
	t.Helper()
	incidenttest.Store(t, incidenttest.DB(t)) // opens the engine
	st, err := store.New(incidenttest.Engine(t), database)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The dashboard's queries are the store's: the JSON in the repository is
// what the store's views give today.
func TestDashboardIsTheStoresQueries(t *testing.T) {
	want := dashboard(t, textStore(t))
	if *update {
		if err := os.WriteFile(dashboardFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the store's views give: run go test ./dashboards/grafana -run TestDashboardIsTheStoresQueries -update", dashboardFile)
	}
}

// The provisioning files name the data source the dashboard uses and the
// folder the JSON is in.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID string
			JSONData        map[string]any `yaml:"jsonData"`
		}
	}
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type string
			Options    map[string]any
		}
	}
	for file, into := range map[string]any{datasourceFile: &ds, providerFile: &prov} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "grafana-clickhouse-datasource" ||
		ds.Datasources[0].UID != datasourceUID || ds.Datasources[0].JSONData["defaultDatabase"] != database {
		t.Errorf("data source %+v", ds)
	}
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options["path"] == nil {
		t.Errorf("dashboard provider %+v", prov)
	}
}

// macro replaces the data source's macros and the dashboard's variables
// with values, deterministically, as Grafana would for a range and a
// selection.
func macro(sql, db string, vars map[string]string) string {
	sql = strings.NewReplacer("$__fromTime", warehouse.TimeLiteral(incidenttest.MorningFrom),
		"$__toTime", warehouse.TimeLiteral(incidenttest.MorningTo), database+".", db+".").Replace(sql)
	return regexp.MustCompile(`\$\{(\w+):singlequote\}`).ReplaceAllStringFunc(sql, func(m string) string {
		name := m[2:strings.IndexByte(m, ':')]
		if v, ok := vars[name]; ok {
			return "'" + v + "'"
		}
		return "'all'"
	})
}

// Every query of the dashboard, its variables' too, runs on a warehouse
// holding the demo's kind of morning, and gives the numbers the API gives.
func TestEveryQueryRunsOnTheDemoWarehouse(t *testing.T) {
	db := incidenttest.DB(t)
	incidenttest.Insert(t, incidenttest.Store(t, db), incidenttest.Morning())
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Templating struct {
			List []struct{ Name, Type, Query string }
		}
		Panels []struct {
			Title   string
			Targets []struct {
				RawSQL string `json:"rawSql"`
			}
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wh := incidenttest.Engine(t)
	run := func(sql string) [][]any {
		t.Helper()
		res, err := wh.Query(ctx, sql, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
		return res.Rows
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			rows := run(macro(v.Query, db, nil))
			if len(rows) != 5 {
				t.Errorf("variable %s: %d rows, want the 5 services (4 ENTs, the CNED)", v.Name, len(rows))
			}
		}
	}
	if len(d.Panels) < 8 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	got := map[string][][]any{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			rows := run(macro(tg.RawSQL, db, nil))
			if len(rows) == 0 {
				t.Errorf("%s: no rows", p.Title)
			}
			got[p.Title] = rows
			// A filter on region 76 and the ENT keeps that series only.
			if filtered := run(macro(tg.RawSQL, db, map[string]string{"region": "76", "platform": "ent"})); len(filtered) == 0 || len(filtered) > len(rows) {
				t.Errorf("%s filtered: %d rows of %d", p.Title, len(filtered), len(rows))
			}
		}
	}
	// The outcomes at 06:00 UTC: 4 ENTs (ent-11 and ent-32 failing from
	// 06:40, ent-76 saturated from 06:30) and the flooded CNED.
	outcomes := got["Issues des tentatives / Outcomes"]
	first := outcomes[0]
	wantOK := uint64(4*60*500 + 2*40*99 + 2*20*50 + 60*99 + 30*99 + 30*55)
	if len(outcomes) != 4 || warehouse.AsUint(first[1]) != wantOK || warehouse.AsUint(first[5]) != 30*30 {
		t.Errorf("outcomes at 06:00 = %v, want ok %d and 900 queued", first, wantOK)
	}
	regions := got["Régions sur la période / Regions over the range"]
	var codes []string
	for _, r := range regions {
		codes = append(codes, warehouse.AsString(r[0]))
	}
	slices.Sort(codes)
	if !reflect.DeepEqual(codes, []string{"11", "32", "53", "76"}) {
		t.Errorf("regions table: %v", codes)
	}
}
