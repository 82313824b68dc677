package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/vigie-fr/vigie/internal/tlsconf"
)

// exampleFile is the reference a user copies; it must say the defaults.
const exampleFile = "../../deploy/vigie.example.yaml"

// clusterFile is the distributed example the deploy manifests use.
const clusterFile = "../../deploy/cluster.example.yaml"

// cleanEnv unsets every VIGIE_ variable for the test, so that a developer's
// shell cannot change what Load returns (t.Setenv restores them after).
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "VIGIE_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

// problems returns the joined errors of a failed Load or Validate, one per
// broken rule.
func problems(t *testing.T, err error) []error {
	t.Helper()
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v does not join its problems", err)
	}
	return joined.Unwrap()
}

// leafKeys lists every key of the YAML file, from the struct tags.
func leafKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := prefix + f.Tag.Get("mapstructure")
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, leafKeys(f.Type, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

// fileKeys lists the keys a YAML file writes, read apart from any defaults.
func fileKeys(t *testing.T, path string) []string {
	t.Helper()
	v := viper.New()
	v.SetConfigFile(path)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	// A map-valued key (incidents.objectives, alerts.webhooks) is one key
	// of Config however many entries the file gives it.
	var keys []string
	seen := map[string]bool{}
	for _, k := range v.AllKeys() {
		for _, m := range []string{"incidents.objectives", "alerts.webhooks", "delivery.subscriptions"} {
			if strings.HasPrefix(k, m+".") {
				k = m
			}
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, m := range []string{"incidents.objectives", "alerts.webhooks", "delivery.subscriptions"} {
		if !seen[m] && v.InConfig(m) { // an empty map has no leaf
			keys = append(keys, m)
		}
	}
	slices.Sort(keys)
	return keys
}

// leafValues maps every key to its value in c.
func leafValues(val reflect.Value, prefix string, out map[string]any) {
	typ := val.Type()
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		key := prefix + f.Tag.Get("mapstructure")
		if f.Type.Kind() == reflect.Struct {
			leafValues(val.Field(i), key+".", out)
			continue
		}
		out[key] = val.Field(i).Interface()
	}
}

// normalized makes an empty list and no list the same: YAML's `brokers: []`
// decodes to an empty slice, Default() has nil, and both mean "none".
func normalized(c Config) Config {
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = nil
	}
	if len(c.Warehouse.ClickHouse.Addr) == 0 {
		c.Warehouse.ClickHouse.Addr = nil
	}
	if len(c.Probe.Targets) == 0 {
		c.Probe.Targets = nil
	}
	if len(c.Tail.Files) == 0 {
		c.Tail.Files = nil
	}
	if len(c.Incidents.Objectives) == 0 {
		c.Incidents.Objectives = nil
	}
	if len(c.Incidents.Calendar.Holidays) == 0 {
		c.Incidents.Calendar.Holidays = nil
	}
	if len(c.Alerts.Webhooks) == 0 {
		c.Alerts.Webhooks = nil
	}
	if len(c.Delivery.Subscriptions) == 0 {
		c.Delivery.Subscriptions = nil
	}
	if len(c.Auth.Users) == 0 {
		c.Auth.Users = nil
	}
	if len(c.Catalogue.Services) == 0 {
		c.Catalogue.Services = nil
	}
	if len(c.Ingest.Collectors) == 0 {
		c.Ingest.Collectors = nil
	}
	if len(c.Auth.OIDC.Roles) == 0 {
		c.Auth.OIDC.Roles = nil
	}
	return c
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate:\n%v", err)
	}
}

func TestLoadWithoutFileOrEnvironmentGivesDefaults(t *testing.T) {
	cleanEnv(t)
	c, err := Load("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Fatalf("Load(\"\") = %+v\nwant Default() = %+v", c, Default())
	}
}

func TestLoadFileSetsEveryKey(t *testing.T) {
	cleanEnv(t)
	got, err := Load("testdata/config.yaml", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir: "/var/lib/vigie-test", MinFreeMB: 512,
		Log: LogConfig{Level: "debug", Format: "json"},
		HTTP: HTTPConfig{
			Listen: "0.0.0.0:9090", MaxBodyBytes: 1 << 20,
			ReadTimeout: 15 * time.Second, WriteTimeout: 2 * time.Minute,
			SQLToken: "sql-token-of-the-test-file-0123456789", Pprof: true, OpsListen: "127.0.0.1:9091",
		},
		Kafka: KafkaConfig{
			Brokers: []string{"kafka-1:9092", "kafka-2:9092"},
			Topic:   "test.events", DLQTopic: "test.events.dlq", Partitions: 12, Group: "test-aggregate",
			Retention: 72 * time.Hour, BatchTimeout: 10 * time.Millisecond, EmbeddedPort: 19092,
			TLS: KafkaTLSConfig{Enabled: true, CAFile: "testdata/tls/ca.pem", CertFile: "testdata/tls/client.pem",
				KeyFile: "testdata/tls/client-key.pem", ServerName: "kafka.test.example"},
			SASL: KafkaSASLConfig{Mechanism: "SCRAM-SHA-512", Username: "vigie", Password: "kafka-password-of-the-test-file"},
		},
		Warehouse: WarehouseConfig{
			Driver: "clickhouse", Database: "vigie_test", MigrateOnStart: false,
			ChDB: ChDBConfig{Path: "/srv/chdb"},
			ClickHouse: ClickHouseConfig{
				Addr:     []string{"ch-1:9440", "ch-2:9440"},
				Username: "vigie", Password: "clickhouse-password-of-the-test-file",
				TLS: true, TLSInsecure: true, Cluster: "vigie_cluster",
				MaxOpenConn: 16, DialTimeout: 5 * time.Second,
			},
			Retention: RetentionConfig{Raw: 30 * 24 * time.Hour, Minute: 14 * 24 * time.Hour, Hour: 3650 * 24 * time.Hour},
			Query:     QueryConfig{Timeout: time.Minute, MaxRows: 500},
		},
		Ingest: IngestConfig{
			HMACKey:        "hmac-key-of-the-test-file-0123456789abcdef",
			MaxBatchEvents: 5000, MaxFuture: 30 * time.Minute, ProduceTimeout: 20 * time.Second,
			MaxPast: 48 * time.Hour, MaxInFlight: 8, RatePerSecond: 5, RateBurst: 10,
			Collectors: []CollectorConfig{{Name: "ent-idf", TokenHashes: []string{"sha256:" + strings.Repeat("1", 64)},
				Platforms: []string{"ent"}, Services: []string{"monlycee.net"}, Regions: []string{"11"},
				Backfill: true, RatePerSecond: 50, RateBurst: 100}},
		},
		Aggregate: AggregateConfig{
			FlushInterval: 2 * time.Second, FlushEvents: 50000, DedupHorizon: 48 * time.Hour, SessionTimeout: 30 * time.Second,
		},
		Probe: probeOfTheTestFile,
		Tail:  tailOfTheTestFile,
		Sandbox: SandboxConfig{
			Sessions: 3, MaxMemoryBytes: 2 << 30, MaxResultBytes: 32 << 20, MaxThreads: 2,
			ClickHouseUsername: "vigie_sandbox", ClickHousePassword: "sandbox-password-of-the-test-file",
		},
		Incidents: IncidentsConfig{AvailabilityTarget: 0.99, P95ThresholdMS: 1500, MinMinutes: 10, MinEvents: 50, MergeGapMinutes: 5,
			LatencyQuantile: 0.9, Confidence: 0.99, MaxWindowMinutes: 25,
			Objectives: map[string]ObjectiveConfig{"cned": {LatencyThresholdMS: 5000}, "ent/ent-11": {AvailabilityTarget: 0.98, LatencyQuantile: 0.99}},
			Silence:    SilenceConfig{MinExpected: 40, Fraction: 0.1, HistoryDays: 14},
			Calendar:   CalendarConfig{Nights: "23:00-05:00", Weekends: true, Holidays: []string{"2021-04-10..2021-04-25", "2021-05-13"}}},
		Alerts: AlertsConfig{Interval: 30 * time.Second, Lookback: 6 * time.Hour, Services: []string{"ent/ent-11", "cned/cned-classe-virtuelle"},
			Webhooks: map[string]WebhookConfig{"oncall": {URL: "http://alertmanager:9093", Format: "alertmanager", Timeout: 5 * time.Second}},
			Retries:  5, RetryBackoff: 2 * time.Second},
		Auth: AuthConfig{
			Users: []UserConfig{{Name: "alice", Roles: []string{"analyst", "union"},
				PasswordHash: "$2b$10$abcdefghijklmnopqrstuuJ3cWQ1VjV3mE4yDiDnP6gS6Xl6aNq0e",
				TokenHashes:  []string{"sha256:" + strings.Repeat("2", 64)}, Lang: "en"}},
			SessionTTL: time.Hour, TrustForwardedProto: true,
			OIDC: OIDCConfig{Issuer: "https://sso.example.fr/realms/education", ClientID: "vigie", ClientSecretFile: "/run/secrets/oidc",
				RedirectURL: "https://vigie.example.fr/auth/oidc/callback", Scopes: []string{"openid", "email"},
				NameClaim: "preferred_username", RolesClaim: "roles",
				Roles: []OIDCRoleConfig{{Group: "vigie-analystes", Roles: []string{"analyst"}}}},
		},
		Delivery: DeliveryConfig{Enabled: true, From: "Vigie <vigie@example.fr>", Interval: 30 * time.Second,
			RetryBackoff: 2 * time.Minute, MaxBackoff: 2 * time.Hour, CatchUp: 168 * time.Hour,
			SMTP: SMTPConfig{Host: "smtp.example.fr", Port: 465, Security: "tls", Username: "vigie", PasswordFile: "/run/secrets/smtp", Timeout: 20 * time.Second, TLSInsecure: true},
			Subscriptions: map[string]SubscriptionConfig{"hebdo-idf": {Recipients: []string{"syndicat@example.fr", "rectorat@example.fr"},
				Regions: []string{"11"}, Platforms: []string{"ent"}, Lang: "fr", Schedule: "0 7 * * 1", Range: "week"}}},
		Catalogue: CatalogueConfig{Services: []ServiceEntry{{ID: "ent-11", Name: "monlycee.net", Platform: "ent", Operator: "Région Île-de-France",
			Provider: "Hébergeur Nord", Network: "AS64501", Regions: []string{"11"}, Academies: []string{"paris", "creteil", "versailles"},
			Contact: "astreinte@example.fr"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("testdata/config.yaml loads to\n%+v\nwant\n%+v", got, want)
	}

	// The file must keep up with Config: a new key gets a non-default line,
	// or this test would prove nothing about it. Keys that exclude one
	// another (a password or its file, a CA or no verification) are set in
	// exclusiveFile, which must also load.
	exclusive, err := Load(exclusiveFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	exclusiveKeys := fileKeys(t, exclusiveFile)
	keys := slices.Compact(slices.Sorted(slices.Values(append(fileKeys(t, "testdata/config.yaml"), exclusiveKeys...))))
	if all := leafKeys(reflect.TypeOf(Config{}), ""); !slices.Equal(keys, all) {
		t.Errorf("testdata/config.yaml and %s set keys\n%v\nwant every key\n%v", exclusiveFile, keys, all)
	}
	gotVals, exclusiveVals, defVals := map[string]any{}, map[string]any{}, map[string]any{}
	leafValues(reflect.ValueOf(got), "", gotVals)
	leafValues(reflect.ValueOf(exclusive), "", exclusiveVals)
	leafValues(reflect.ValueOf(Default()), "", defVals)
	for key, v := range gotVals {
		if slices.Contains(exclusiveKeys, key) {
			v = exclusiveVals[key]
		}
		if reflect.DeepEqual(v, defVals[key]) {
			t.Errorf("testdata/config.yaml or %s sets %s to its default %v: use another value", exclusiveFile, key, v)
		}
	}
	ex := exclusive.Kafka
	if ex.TLS.InsecureSkipVerify != true || ex.SASL.PasswordFile != "testdata/tls/kafka-password" ||
		exclusive.Warehouse.ClickHouse.TLSFiles() != (tlsconf.Files{CAFile: "testdata/tls/ca.pem", CertFile: "testdata/tls/client.pem",
			KeyFile: "testdata/tls/client-key.pem", ServerName: "clickhouse.test.example"}) {
		t.Errorf("%s loads to kafka %+v, clickhouse %+v", exclusiveFile, ex, exclusive.Warehouse.ClickHouse)
	}
}

// exclusiveFile sets the keys testdata/config.yaml cannot set beside the
// ones they exclude.
const exclusiveFile = "testdata/config-exclusive.yaml"

func TestExampleFileSaysTheDefaults(t *testing.T) {
	cleanEnv(t)
	got, err := Load(exampleFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalized(got), Default()) {
		t.Errorf("%s loads to\n%+v\nwant Default()\n%+v", exampleFile, got, Default())
	}
	if keys, all := fileKeys(t, exampleFile), leafKeys(reflect.TypeOf(Config{}), ""); !slices.Equal(keys, all) {
		t.Errorf("%s writes keys\n%v\nwant every key\n%v", exampleFile, keys, all)
	}
}

func TestClusterExampleIsADistributedSetupThatValidates(t *testing.T) {
	cleanEnv(t)
	c, err := Load(clusterFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := c.Warehouse.ClickHouse
	switch {
	case c.Kafka.Embedded():
		t.Error("kafka.brokers is empty: the cluster example runs the embedded broker")
	case c.Warehouse.Driver != "clickhouse":
		t.Errorf("warehouse.driver = %q, want clickhouse", c.Warehouse.Driver)
	case len(ch.Addr) < 2 || !ch.TLS || ch.Cluster == "":
		t.Errorf("warehouse.clickhouse = %+v, want several addresses, TLS and a cluster", ch)
	case ch.Password != "" || c.Ingest.HMACKey != "" || c.HTTP.SQLToken != "":
		t.Error("the cluster example holds a secret: secrets come from the environment")
	}
	if host, _, _ := strings.Cut(c.HTTP.Listen, ":"); host != "0.0.0.0" {
		t.Errorf("http.listen = %q: other machines (and probes) cannot reach a loopback address", c.HTTP.Listen)
	}
}

func TestEachValidationRuleNamesItsKey(t *testing.T) {
	cleanEnv(t)
	tests := []struct {
		name, file, key, says string
	}{
		{"an empty data directory is refused", "data-dir-empty", "data_dir", "is empty"},
		{"an unknown log level is refused", "log-level", "log.level", `"verbose" is not one of`},
		{"an unknown log format is refused", "log-format", "log.format", `"xml" is not one of`},
		{"a listen address without a port is refused", "http-listen", "http.listen", `"localhost" is not host:port`},
		{"a listen address with a named port is refused", "http-listen-port", "http.listen", `"127.0.0.1:http" is not host:port`},
		{"a tiny request body limit is refused", "http-max-body-bytes", "http.max_body_bytes", "100 is too small"},
		{"a zero read timeout is refused", "http-read-timeout", "http.read_timeout", "0s must be above 0"},
		{"a negative write timeout is refused", "http-write-timeout", "http.write_timeout", "-1s must be above 0"},
		{"a short SQL token is refused", "http-sql-token", "http.sql_token", "is 15 characters, use at least 32"},
		{"a broker without a port is refused", "kafka-brokers", "kafka.brokers[1]", `"kafka-2" is not host:port`},
		{"a topic name Kafka would refuse is refused", "kafka-topic", "kafka.topic", `"vigie events" is not a Kafka topic name`},
		{"an empty dead-letter topic is refused", "kafka-dlq-topic-empty", "kafka.dlq_topic", `"" is not a Kafka topic name`},
		{"a dead-letter topic equal to the events topic is refused", "kafka-dlq-topic-same", "kafka.dlq_topic", "is the same as kafka.topic"},
		{"zero partitions are refused", "kafka-partitions", "kafka.partitions", "0 is not allowed"},
		{"an empty consumer group is refused", "kafka-group", "kafka.group", "is empty"},
		{"a zero topic retention is refused", "kafka-retention", "kafka.retention", "0s must be above 0"},
		{"a batch timeout above one second is refused", "kafka-batch-timeout", "kafka.batch_timeout", "2s must be above 0 and at most 1s"},
		{"an embedded port above 65535 is refused", "kafka-embedded-port", "kafka.embedded_port", "70000 is not a port number"},
		{"an unknown warehouse driver is refused", "warehouse-driver", "warehouse.driver", `"postgres" is not one of chdb, clickhouse`},
		{"a database name with a dash is refused", "warehouse-database", "warehouse.database", `"vigie-prod" must be letters`},
		{"a ClickHouse server without addresses is refused", "warehouse-clickhouse-addr-empty", "warehouse.clickhouse.addr", "is empty"},
		{"a ClickHouse address with a port above 65535 is refused", "warehouse-clickhouse-addr", "warehouse.clickhouse.addr[1]", `"ch-2:99999" is not host:port`},
		{"a ClickHouse pool of zero connections is refused", "warehouse-clickhouse-max-open-conns", "warehouse.clickhouse.max_open_conns", "0 is not allowed"},
		{"a zero ClickHouse dial timeout is refused", "warehouse-clickhouse-dial-timeout", "warehouse.clickhouse.dial_timeout", "0s must be above 0"},
		{"a cluster name with a space is refused", "warehouse-clickhouse-cluster", "warehouse.clickhouse.cluster", `"prod cluster" must be letters`},
		{"a cluster with the in-process engine is refused", "warehouse-clickhouse-cluster-chdb", "warehouse.clickhouse.cluster", "needs warehouse.driver: clickhouse"},
		{"a raw retention that is not whole days is refused", "warehouse-retention-raw", "warehouse.retention.raw", "36h0m0s must be a whole number of days"},
		{"a minute retention under a day is refused", "warehouse-retention-minute", "warehouse.retention.minute", "1h0m0s must be a whole number of days"},
		{"a zero hour retention is refused", "warehouse-retention-hour", "warehouse.retention.hour", "0s must be a whole number of days"},
		{"a zero query timeout is refused", "warehouse-query-timeout", "warehouse.query.timeout", "0s must be above 0"},
		{"a zero query row limit is refused", "warehouse-query-max-rows", "warehouse.query.max_rows", "0 is not allowed"},
		{"a short HMAC key is refused", "ingest-hmac-key", "ingest.hmac_key", "is 14 characters, use at least 32"},
		{"a zero batch size is refused", "ingest-max-batch-events", "ingest.max_batch_events", "0 is not allowed"},
		{"a negative future allowance is refused", "ingest-max-future", "ingest.max_future", "-1m0s must not be negative"},
		{"a zero produce timeout is refused", "ingest-produce-timeout", "ingest.produce_timeout", "0s must be above 0"},
		{"a zero flush interval is refused", "aggregate-flush-interval", "aggregate.flush_interval", "0s must be above 0"},
		{"a flush larger than one insert block is refused", "aggregate-flush-events", "aggregate.flush_events", "600000 is not allowed"},
		{"a negative free-space floor is refused", "min-free", "min_free_mb", "-1 must not be negative"},
		{"a dedup horizon longer than the log's retention is refused", "aggregate-dedup-horizon", "aggregate.dedup_horizon", "200h0m0s is not allowed"},
		{"a session timeout below the brokers' minimum is refused", "aggregate-session-timeout-low", "aggregate.session_timeout", "3s is below the brokers' 6s minimum"},
		{"a session timeout above the embedded broker's maximum is refused", "aggregate-session-timeout-high", "aggregate.session_timeout", "10m0s is above 5m"},
		{"an availability target written as a percentage is refused", "incidents-availability-target", "incidents.availability_target", "95 must be above 0 and at most 1"},
		{"an availability target that is not a number is refused", "incidents-availability-target-nan", "incidents.availability_target", "NaN must be above 0 and at most 1"},
		{"a zero latency threshold is refused", "incidents-p95-threshold-ms", "incidents.p95_threshold_ms", "0 must be a number above 0"},
		{"zero minutes per incident are refused", "incidents-min-minutes", "incidents.min_minutes", "0 is not allowed"},
		{"zero events per judged minute are refused", "incidents-min-events", "incidents.min_events", "0 is not allowed"},
		{"a negative merge gap is refused", "incidents-merge-gap-minutes", "incidents.merge_gap_minutes", "-1 must not be negative"},
		{"zero sandbox sessions are refused", "sandbox-sessions", "sandbox.sessions", "0 is not allowed"},
		{"a user language Vigie does not speak is refused", "auth-user-lang", "auth.users[0].lang", `"english" is not a language Vigie speaks`},
		{"a network that is not an AS number is refused", "catalogue-network", "catalogue.services[0].network", `"16276" is not an autonomous system number`},
		{"a service listed twice is refused", "catalogue-duplicate", "catalogue.services[1].id", `"ent-11" is already catalogue.services[0]`},
		{"a service of an unknown platform is refused", "catalogue-platform", "catalogue.services[0].platform", `"moodle" is not one of ent, cned`},
		{"a service in an unknown region is refused", "catalogue-region", "catalogue.services[0].regions[0]", `"99" is not an INSEE region code`},
		{"a service without a name is refused", "catalogue-name", "catalogue.services[0].name", `"" is empty`},
		{"a sandbox memory limit of 1 MB is refused", "sandbox-max-memory-bytes", "sandbox.max_memory_bytes", "1000000 is too small"},
		{"a sandbox result limit of 1 kB is refused", "sandbox-max-result-bytes", "sandbox.max_result_bytes", "1024 is too small"},
		{"zero sandbox threads are refused", "sandbox-max-threads", "sandbox.max_threads", "0 is not allowed"},
		{"a sandbox account with the in-process engine is refused", "sandbox-clickhouse-username", "sandbox.clickhouse_username", `"vigie_sandbox" needs warehouse.driver: clickhouse`},
		{"a sandbox password without an account is refused", "sandbox-clickhouse-password", "sandbox.clickhouse_password", "(hidden) is set without sandbox.clickhouse_username"},
		{"a latency quantile written as a percentile is refused", "incidents-latency-quantile", "incidents.latency_quantile", "95 must be above 0 and below 1"},
		{"a certain confidence is refused", "incidents-confidence", "incidents.confidence", "1 must be at least 0.5 and below 1"},
		{"a window of no minute is refused", "incidents-max-window-minutes", "incidents.max_window_minutes", "0 must be 1 to 60"},
		{"a service's target written as a percentage is refused", "incidents-objectives-target", "incidents.objectives.cned.availability_target", "95 must be above 0 and at most 1"},
		{"an objective named with two slashes is refused", "incidents-objectives-name", "incidents.objectives.ent/ent-11/x", `is not "platform" or "platform/service"`},
		{"a silence fraction of all is refused", "incidents-silence-fraction", "incidents.silence.fraction", "1 must be at least 0 and below 1"},
		{"silence judged on no expected event is refused", "incidents-silence-min-expected", "incidents.silence.min_expected", "0 must be a number, at least 1"},
		{"nights not in HH:MM-HH:MM are refused", "incidents-calendar-nights", "incidents.calendar.nights", `"22h-6h" is not "HH:MM-HH:MM"`},
		{"holidays ending before they start are refused", "incidents-calendar-holidays", "incidents.calendar.holidays[0]", `"2021-04-25..2021-04-10" is not`},
		{"an evaluation more often than every second is refused", "alerts-interval", "alerts.interval", "100ms must be at least 1s"},
		{"a metrics service without its platform is refused", "alerts-services", "alerts.services[0]", `"ent-11" is not "platform/service"`},
		{"a webhook that is not HTTP is refused", "alerts-webhooks", "alerts.webhooks.oncall.url", `"ftp://x" is not an http:// or https:// URL`},
		{"a webhook in an unknown format is refused", "alerts-webhooks-format", "alerts.webhooks.oncall.format", `"slack" is not one of alertmanager, json`},
		{"an open server on a public address is refused", "auth-open-public", "auth.users", `but http.listen "0.0.0.0:8080" is not a loopback address`},
		{"an unknown role is refused", "auth-user-role", "auth.users[0].roles[0]", `"superuser" is not one of analyst, union, engineer, admin`},
		{"the collector role is for collectors only", "auth-user-collector-role", "auth.users[0].roles[0]", "is given to ingest.collectors only"},
		{"a user without credentials is refused", "auth-user-no-credential", "auth.users[0]", "has neither password_hash nor token_hashes"},
		{"a token hash that is not sha256 hex is refused", "auth-token-hash", "auth.users[0].token_hashes[0]", `is not "sha256:" and 64 lowercase hex digits`},
		{"a password in clear is refused and not repeated", "auth-password-hash", "auth.users[0].password_hash", "(hidden) is not an argon2id"},
		{"a user and a collector of one name are refused", "auth-duplicate-name", "ingest.collectors[0].name", `"ent-idf" is already the name of auth.users[0].name`},
		{"one token for two identities is refused", "auth-duplicate-token", "ingest.collectors[0].token_hashes[0]", "is the same token as auth.users[0].token_hashes[0]"},
		{"a session of seconds is refused", "auth-session-ttl", "auth.session_ttl", "10s is not allowed, use 1m to 720h"},
		{"an OIDC issuer over plain HTTP is refused", "auth-oidc-issuer", "auth.oidc.issuer", "is not an https:// URL"},
		{"OIDC without any group mapped is refused", "auth-oidc-roles", "auth.oidc.roles", "map at least one group"},
		{"a collector scoped to an unknown region is refused", "ingest-collector-region", "ingest.collectors[0].regions[0]", `"99" is not an INSEE region code`},
		{"a collector with an empty scope list is refused", "ingest-collector-scope-empty", "ingest.collectors[0].services", `is empty: list what this collector may send, or ["*"]`},
		{"a scope mixing * and values is refused", "ingest-collector-scope-mixed", "ingest.collectors[0].platforms", `mixes "*" with values`},
		{"a max_past under an hour is refused", "ingest-max-past", "ingest.max_past", "10m0s is too short"},
		{"no request in flight is refused", "ingest-max-in-flight", "ingest.max_in_flight", "0 is not allowed"},
		{"a zero rate is refused", "ingest-rate-per-second", "ingest.rate_per_second", "0 must be a number above 0"},
		{"an ops address without a port is refused", "http-ops-listen", "http.ops_listen", `"metrics" is not host:port`},
	}
	files, _ := filepath.Glob("testdata/invalid-*.yaml")
	if len(files) != len(tests) {
		t.Errorf("%d testdata/invalid-*.yaml files, %d cases: each file needs its case", len(files), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "testdata/invalid-" + tt.file + ".yaml"
			_, err := Load(path, nil, nil)
			if err == nil {
				t.Fatalf("%s loaded without error", path)
			}
			// One file breaks one rule: a second problem would mean a
			// rule fires where it should not.
			ps := problems(t, err)
			if len(ps) != 1 {
				t.Fatalf("%s: %d problems, want 1:\n%v", path, len(ps), err)
			}
			msg := ps[0].Error()
			if !strings.HasPrefix(msg, tt.key+": ") || !strings.Contains(msg, tt.says) {
				t.Errorf("%s: problem %q, want it to start with %q and say %q", path, msg, tt.key+": ", tt.says)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file %s", err, path)
			}
		})
	}
}

func TestInfiniteLatencyThresholdIsRefused(t *testing.T) {
	// YAML's .inf cannot reach an int field, but it can reach this one; the
	// rule is that every minute would pass, so no incident would ever show.
	c := Default()
	c.Incidents.P95ThresholdMS = math.Inf(1)
	err := c.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "incidents.p95_threshold_ms: +Inf") {
		t.Fatalf("Validate() = %v, want incidents.p95_threshold_ms: +Inf …", err)
	}
}

func TestMisspeltKeyIsAnErrorNamingIt(t *testing.T) {
	cleanEnv(t)
	_, err := Load("testdata/misspelt-key.yaml", nil, nil)
	if err == nil {
		t.Fatal("a misspelt key loaded without error: it would silently keep its default")
	}
	if msg := err.Error(); !strings.Contains(msg, "'kafka' has invalid keys: partitons") {
		t.Errorf("error %q does not name kafka.partitons", msg)
	}
}

func TestDurationWithoutUnitIsAnErrorNamingIt(t *testing.T) {
	cleanEnv(t)
	// read_timeout: 30 would be 30ns and pass "above 0"; max_future: 0 is
	// the same in every unit and stays allowed.
	_, err := Load("testdata/duration-without-unit.yaml", nil, nil)
	if err == nil {
		t.Fatal("a duration without a unit loaded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "'http.read_timeout' 30 has no unit") {
		t.Errorf("error %q does not name http.read_timeout", msg)
	}
	if strings.Contains(msg, "max_future") {
		t.Errorf("error %q refuses max_future: 0", msg)
	}
}

func TestSeveralProblemsAreReportedAtOnce(t *testing.T) {
	cleanEnv(t)
	_, err := Load("testdata/several-problems.yaml", nil, nil)
	if err == nil {
		t.Fatal("loaded without error")
	}
	var keys []string
	for _, p := range problems(t, err) {
		key, _, _ := strings.Cut(p.Error(), ": ")
		keys = append(keys, key)
	}
	want := []string{"log.level", "kafka.partitions", "warehouse.clickhouse.addr"}
	if !slices.Equal(keys, want) {
		t.Errorf("problems name %v, want %v (all of them, in the file's order):\n%v", keys, want, err)
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	tests := []struct {
		name, file string
		env        map[string]string
		check      func(Config) (got, want any)
	}{
		{"a number replaces the file's", exampleFile, map[string]string{"VIGIE_KAFKA_PARTITIONS": "24"},
			func(c Config) (any, any) { return c.Kafka.Partitions, 24 }},
		{"a string replaces the file's", exampleFile, map[string]string{"VIGIE_WAREHOUSE_DRIVER": "clickhouse"},
			func(c Config) (any, any) { return c.Warehouse.Driver, "clickhouse" }},
		{"a comma list replaces the file's list", exampleFile, map[string]string{"VIGIE_KAFKA_BROKERS": "k1:9092,k2:9092,k3:9092"},
			func(c Config) (any, any) { return c.Kafka.Brokers, []string{"k1:9092", "k2:9092", "k3:9092"} }},
		{"a duration replaces the file's", exampleFile, map[string]string{"VIGIE_AGGREGATE_FLUSH_INTERVAL": "250ms"},
			func(c Config) (any, any) { return c.Aggregate.FlushInterval, 250 * time.Millisecond }},
		{"a boolean replaces the file's", exampleFile, map[string]string{"VIGIE_WAREHOUSE_CLICKHOUSE_TLS": "true"},
			func(c Config) (any, any) { return c.Warehouse.ClickHouse.TLS, true }},
		{"a float replaces the file's", exampleFile, map[string]string{"VIGIE_INCIDENTS_AVAILABILITY_TARGET": "0.9"},
			func(c Config) (any, any) { return c.Incidents.AvailabilityTarget, 0.9 }},
		{"a secret comes from the environment", clusterFile, map[string]string{"VIGIE_WAREHOUSE_CLICKHOUSE_PASSWORD": "from-the-secret-store"},
			func(c Config) (any, any) { return c.Warehouse.ClickHouse.Password, "from-the-secret-store" }},
		{"a key the file does not write is set", clusterFile, map[string]string{"VIGIE_WAREHOUSE_QUERY_MAX_ROWS": "77"},
			func(c Config) (any, any) { return c.Warehouse.Query.MaxRows, 77 }},
		{"an empty variable is ignored", exampleFile, map[string]string{"VIGIE_KAFKA_TOPIC": ""},
			func(c Config) (any, any) { return c.Kafka.Topic, "vigie.events.v1" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load(tt.file, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestAnInvalidEnvironmentValueIsReportedWithItsKey(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VIGIE_KAFKA_PARTITIONS", "0")
	_, err := Load("", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "kafka.partitions: 0 is not allowed") {
		t.Fatalf("Load = %v, want kafka.partitions: 0 is not allowed", err)
	}
}

// newFlags declares the global flags as every vigie command does.
func newFlags() (*pflag.FlagSet, map[string]string) {
	fs := pflag.NewFlagSet("vigie", pflag.ContinueOnError)
	RegisterFlags(fs)
	return fs, FlagKeys
}

func TestFlagsOverrideTheEnvironment(t *testing.T) {
	tests := []struct {
		name, env, envValue string
		args                []string
		check               func(Config) (got, want any)
	}{
		{"--data-dir beats VIGIE_DATA_DIR", "VIGIE_DATA_DIR", "/from/env", []string{"--data-dir", "/from/flag"},
			func(c Config) (any, any) { return c.DataDir, "/from/flag" }},
		{"--log-level beats VIGIE_LOG_LEVEL", "VIGIE_LOG_LEVEL", "warn", []string{"--log-level", "error"},
			func(c Config) (any, any) { return c.Log.Level, "error" }},
		{"--log-format beats VIGIE_LOG_FORMAT", "VIGIE_LOG_FORMAT", "text", []string{"--log-format", "json"},
			func(c Config) (any, any) { return c.Log.Format, "json" }},
		{"--listen beats VIGIE_HTTP_LISTEN", "VIGIE_HTTP_LISTEN", "0.0.0.0:80", []string{"--listen", "127.0.0.1:0"},
			func(c Config) (any, any) { return c.HTTP.Listen, "127.0.0.1:0" }},
		{"--brokers beats VIGIE_KAFKA_BROKERS", "VIGIE_KAFKA_BROKERS", "env-1:9092", []string{"--brokers", "flag-1:9092,flag-2:9092"},
			func(c Config) (any, any) { return c.Kafka.Brokers, []string{"flag-1:9092", "flag-2:9092"} }},
		{"--warehouse beats VIGIE_WAREHOUSE_DRIVER", "VIGIE_WAREHOUSE_DRIVER", "chdb", []string{"--warehouse", "clickhouse"},
			func(c Config) (any, any) { return c.Warehouse.Driver, "clickhouse" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv(tt.env, tt.envValue)
			fs, bind := newFlags()
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := Load("", fs, bind)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestEachLayerOverridesTheOneBelow(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VIGIE_DATA_DIR", "/from/env")
	t.Setenv("VIGIE_HTTP_LISTEN", "127.0.0.1:9999")
	t.Setenv("VIGIE_LOG_LEVEL", "warn")
	fs, bind := newFlags()
	if err := fs.Parse([]string{"--data-dir", "/from/flag"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(clusterFile, fs, bind)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key, layers string
		got, want   any
	}{
		{"data_dir", "default, file, env, flag", c.DataDir, "/from/flag"},
		{"http.listen", "default, file, env", c.HTTP.Listen, "127.0.0.1:9999"},
		{"log.level", "default, env", c.Log.Level, "warn"},
		{"log.format", "default, file", c.Log.Format, "json"},
		{"kafka.topic", "default", c.Kafka.Topic, Default().Kafka.Topic},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s set by %s = %v, want %v", tt.key, tt.layers, tt.got, tt.want)
		}
	}
}

func TestFlagsNotGivenChangeNothing(t *testing.T) {
	cleanEnv(t)
	t.Setenv("VIGIE_LOG_LEVEL", "warn")
	fs, bind := newFlags()
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	// Bound but not given: their empty defaults must not blank the keys.
	c, err := Load("testdata/config.yaml", fs, bind)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Log.Level, c.DataDir, c.Kafka.Brokers, c.Warehouse.Driver}
	want := []any{"warn", "/var/lib/vigie-test", []string{"kafka-1:9092", "kafka-2:9092"}, "clickhouse"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	cleanEnv(t)
	const hmac, token, password, sandboxPassword = "hmac-SECRET-short", "token-SECRET-short", "password-SECRET-value", "sandbox-SECRET-value"
	t.Setenv("VIGIE_INGEST_HMAC_KEY", hmac)
	t.Setenv("VIGIE_HTTP_SQL_TOKEN", token)
	t.Setenv("VIGIE_WAREHOUSE_CLICKHOUSE_PASSWORD", password)
	t.Setenv("VIGIE_SANDBOX_CLICKHOUSE_PASSWORD", sandboxPassword)
	t.Setenv("VIGIE_WAREHOUSE_DRIVER", "clickhouse")
	t.Setenv("VIGIE_WAREHOUSE_CLICKHOUSE_ADDR", "no-port")
	errs := map[string]error{}
	_, errs["Load with invalid values"] = Load("", nil, nil)
	_, errs["Load with a misspelt key"] = Load("testdata/misspelt-key.yaml", nil, nil)
	c := Default()
	c.Ingest.HMACKey, c.HTTP.SQLToken, c.Warehouse.ClickHouse.Password = hmac, token, password
	c.Sandbox.ClickHousePassword = sandboxPassword
	c.Warehouse.Driver, c.Warehouse.ClickHouse.MaxOpenConn = "clickhouse", 0
	errs["Validate"] = c.Validate()
	for name, err := range errs {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, secret := range []string{hmac, token, password, sandboxPassword} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error shows the secret %q:\n%v", name, secret, err)
			}
		}
	}
	msg := fmt.Sprint(errs["Load with invalid values"])
	for _, want := range []string{"ingest.hmac_key: (hidden) is 17 characters", "http.sql_token: (hidden) is 18 characters", `warehouse.clickhouse.addr[0]: "no-port"`, "sandbox.clickhouse_password: (hidden) is set without"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not say %q:\n%s", want, msg)
		}
	}
}

// yamlDocs reads every document of a YAML file as plain maps and lists.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, doc)
	}
}

// dig follows map keys (strings) and list indexes (ints); nil when absent.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[p]
		case int:
			l, _ := v.([]any)
			if p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

// envKeys maps every VIGIE_ variable to its key.
func envKeys() map[string]string {
	out := map[string]string{}
	for _, k := range leafKeys(reflect.TypeOf(Config{}), "") {
		out["VIGIE_"+strings.ToUpper(strings.ReplaceAll(k, ".", "_"))] = k
	}
	return out
}

// secretEnv is what each part needs from the secret store.
var secretEnv = map[string][]string{
	"collect":    {"VIGIE_INGEST_HMAC_KEY"},
	"aggregate":  {"VIGIE_WAREHOUSE_CLICKHOUSE_PASSWORD"},
	"dashboards": {"VIGIE_WAREHOUSE_CLICKHOUSE_PASSWORD", "VIGIE_HTTP_SQL_TOKEN"},
}

// kubernetesSecretEnv is secretEnv plus the live-detection replica.
var kubernetesSecretEnv = map[string][]string{
	"collect":    secretEnv["collect"],
	"aggregate":  secretEnv["aggregate"],
	"dashboards": secretEnv["dashboards"],
	"alerts":     {"VIGIE_WAREHOUSE_CLICKHOUSE_PASSWORD", "VIGIE_HTTP_SQL_TOKEN"},
}

// partSettings are the non-secret settings a Deployment gives over the
// shared configuration: its least-privileged ClickHouse account
// (deploy/clickhouse/users.sql) and who runs live detection.
var partSettings = map[string]map[string]string{
	"vigie-dashboards": {"VIGIE_ALERTS_ENABLED": "false", "VIGIE_WAREHOUSE_CLICKHOUSE_USERNAME": "vigie_reader", "VIGIE_WAREHOUSE_MIGRATE_ON_START": "false"},
	"vigie-alerts":     {"VIGIE_WAREHOUSE_CLICKHOUSE_USERNAME": "vigie_alerts", "VIGIE_WAREHOUSE_MIGRATE_ON_START": "false"},
}

func usersSQL(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../deploy/clickhouse/users.sql")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKubernetesManifestsRunTheClusterConfig(t *testing.T) {
	cleanEnv(t)
	const dir = "../../deploy/kubernetes/"
	want, err := Load(clusterFile, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(dir + "*.yaml")
	var resources []string
	for _, r := range dig(yamlDocs(t, dir+"kustomization.yaml")[0], "resources").([]any) {
		resources = append(resources, dir+r.(string))
	}
	resources = append(resources, dir+"kustomization.yaml")
	slices.Sort(resources)
	if !slices.Equal(files, resources) {
		t.Errorf("kustomization.yaml lists %v, the directory holds %v", resources, files)
	}
	deployments := map[string]map[string]any{}
	for _, f := range files {
		for _, doc := range yamlDocs(t, f) {
			switch doc["kind"] {
			case "ConfigMap":
				path := filepath.Join(t.TempDir(), "vigie.yaml")
				if err := os.WriteFile(path, []byte(dig(doc, "data", "vigie.yaml").(string)), 0o600); err != nil {
					t.Fatal(err)
				}
				got, err := Load(path, nil, nil)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s holds another configuration than %s:\n%+v\nwant\n%+v", f, clusterFile, got, want)
				}
			case "Deployment":
				deployments[dig(doc, "metadata", "name").(string)] = doc
			}
		}
	}
	_, port, _ := strings.Cut(want.HTTP.Listen, ":")
	_, opsPort, _ := strings.Cut(want.HTTP.OpsListen, ":")
	keys := envKeys()
	for part, secrets := range kubernetesSecretEnv {
		t.Run("vigie "+part, func(t *testing.T) {
			d := deployments["vigie-"+part]
			if d == nil {
				t.Fatalf("no Deployment vigie-%s", part)
			}
			pod := dig(d, "spec", "template")
			c := dig(pod, "spec", "containers", 0)
			command := part
			if part == "alerts" {
				command = "dashboards" // with alerts.enabled, its default
			}
			checks := []struct{ what, got, want any }{
				{"args", dig(c, "args"), []any{command, "--config", "/etc/vigie/vigie.yaml"}},
				{"config mount", dig(c, "volumeMounts", 0, "mountPath"), "/etc/vigie"},
				{"config volume", dig(pod, "spec", "volumes", 0, "configMap", "name"), "vigie-config"},
				{"data mount (data_dir)", dig(c, "volumeMounts", 1, "mountPath"), want.DataDir},
				{"container port (http.listen)", fmt.Sprint(dig(c, "ports", 0, "containerPort")), port},
				{"readiness probe", dig(c, "readinessProbe", "httpGet", "path"), "/readyz"},
				{"liveness probe", dig(c, "livenessProbe", "httpGet", "path"), "/healthz"},
				{"scrape annotation", dig(pod, "metadata", "annotations", "prometheus.io/scrape"), "true"},
				{"ops port (http.ops_listen)", fmt.Sprint(dig(c, "ports", 1, "containerPort")), opsPort},
				{"scrape port", dig(pod, "metadata", "annotations", "prometheus.io/port"), opsPort},
				{"scrape path", dig(pod, "metadata", "annotations", "prometheus.io/path"), "/metrics"},
			}
			for _, ch := range checks {
				if !reflect.DeepEqual(ch.got, ch.want) {
					t.Errorf("%s = %v, want %v", ch.what, ch.got, ch.want)
				}
			}
			var names []string
			settings := partSettings["vigie-"+part]
			for _, e := range dig(c, "env").([]any) {
				name := dig(e, "name").(string)
				if keys[name] == "" {
					t.Errorf("env %s is no configuration key", name)
				}
				// Settings that differ between Deployments of the same
				// configuration: each part's ClickHouse account, and live
				// detection in vigie-alerts only.
				if v, ok := settings[name]; ok {
					if got := dig(e, "value"); got != v {
						t.Errorf("env %s = %v, want %q", name, got, v)
					}
					t.Setenv(name, v)
					continue
				}
				names = append(names, name)
				if ref := dig(e, "valueFrom", "secretKeyRef", "name"); ref != "vigie-secrets" {
					t.Errorf("env %s comes from %v, want the Secret vigie-secrets", name, ref)
				}
				t.Setenv(name, strings.Repeat("s", 32))
			}
			if !slices.Equal(names, secrets) {
				t.Errorf("env %v, want exactly the secrets %v", names, secrets)
			}
			// What this part runs: the configuration with its environment,
			// and its ClickHouse account exists in deploy/clickhouse/users.sql.
			got, err := Load(clusterFile, nil, nil)
			if err != nil {
				t.Fatalf("vigie-%s's configuration: %v", part, err)
			}
			if part != "collect" && !strings.Contains(usersSQL(t), "CREATE USER OR REPLACE "+got.Warehouse.ClickHouse.Username+"\n") {
				t.Errorf("vigie-%s logs in to ClickHouse as %q, which deploy/clickhouse/users.sql does not create", part, got.Warehouse.ClickHouse.Username)
			}
			if part != "aggregate" && part != "collect" && got.Warehouse.MigrateOnStart {
				t.Errorf("vigie-%s migrates on start: only vigie aggregate's account may change the schema", part)
			}
		})
	}
	if a := deployments["vigie-alerts"]; a == nil || dig(a, "spec", "replicas") != 1 || dig(a, "spec", "strategy", "type") != "Recreate" ||
		!reflect.DeepEqual(dig(a, "spec", "template", "spec", "containers", 0, "args"), []any{"dashboards", "--config", "/etc/vigie/vigie.yaml"}) {
		t.Errorf("vigie-alerts must run one vigie dashboards, replaced with Recreate (one live evaluator at a time)")
	}
	if n := dig(deployments["vigie-aggregate"], "spec", "replicas").(int); n > want.Kafka.Partitions {
		t.Errorf("vigie-aggregate has %d replicas for %d partitions: %d would sit idle", n, want.Kafka.Partitions, n-want.Kafka.Partitions)
	}
}

func TestComposeRunsAValidConfiguration(t *testing.T) {
	doc := yamlDocs(t, "../../deploy/compose.yaml")[0]
	keys := envKeys()
	for part, secrets := range secretEnv {
		t.Run("vigie "+part, func(t *testing.T) {
			cleanEnv(t)
			svc := dig(doc, "services", part)
			if got, want := dig(svc, "command"), []any{part, "--config", "/etc/vigie/vigie.yaml"}; !reflect.DeepEqual(got, want) {
				t.Errorf("command = %v, want %v", got, want)
			}
			if got := dig(svc, "volumes", 0); got != "./cluster.example.yaml:/etc/vigie/vigie.yaml:ro" {
				t.Errorf("volume %v does not mount the cluster config", got)
			}
			// Apply the service's environment as compose would, with a
			// 32-character stand-in for each ${secret}.
			var names []string
			for name, val := range dig(svc, "environment").(map[string]any) {
				if keys[name] == "" {
					t.Errorf("environment %s is no configuration key", name)
				}
				s := fmt.Sprint(val)
				if strings.HasPrefix(s, "${") {
					names = append(names, name)
					s = strings.Repeat("s", 32)
				}
				t.Setenv(name, s)
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(secrets))
			if !slices.Equal(names, want) {
				t.Errorf("secrets from the host %v, want %v", names, want)
			}
			c, err := Load(clusterFile, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := []any{c.Kafka.Brokers, c.Warehouse.ClickHouse.Addr, c.Warehouse.ClickHouse.TLS}; !reflect.DeepEqual(got, []any{[]string{"redpanda:9092"}, []string{"clickhouse:9000"}, false}) {
				t.Errorf("brokers, clickhouse addr, tls = %v: not the compose services", got)
			}
		})
	}
}

func TestReferenceDocumentsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for env, key := range envKeys() {
		if row := "| `" + key + "` |"; !strings.Contains(string(doc), row) {
			t.Errorf("docs/configuration.md has no row for %s", key)
		}
		if !strings.Contains(string(doc), "`"+env+"`") {
			t.Errorf("docs/configuration.md does not name %s for %s", env, key)
		}
	}
}
