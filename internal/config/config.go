// Package config is Vigie's configuration: one struct tree that mirrors the
// YAML file, its defaults, loading through viper (file, VIGIE_… environment
// variables, flags) and validation that names the key, the value and the rule.
// It is not where components read their own settings from the environment:
// they get their part of Config as an argument.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/vigie-fr/vigie/schemas"
)

// Config is the whole configuration. Every key has a default (Default) and a
// line in deploy/vigie.example.yaml.
type Config struct {
	// DataDir holds the embedded broker's log, the chDB data, the HMAC key and reports.
	DataDir string `mapstructure:"data_dir"`
	// MinFreeMB is the free space data_dir must keep: below it Vigie does
	// not start, and a running one turns not ready and refuses events.
	MinFreeMB int             `mapstructure:"min_free_mb"`
	Log       LogConfig       `mapstructure:"log"`
	HTTP      HTTPConfig      `mapstructure:"http"`
	Kafka     KafkaConfig     `mapstructure:"kafka"`
	Warehouse WarehouseConfig `mapstructure:"warehouse"`
	Ingest    IngestConfig    `mapstructure:"ingest"`
	Aggregate AggregateConfig `mapstructure:"aggregate"`
	Incidents IncidentsConfig `mapstructure:"incidents"`
	Probe     ProbeConfig     `mapstructure:"probe"`
	Tail      TailConfig      `mapstructure:"tail"`
	Sandbox   SandboxConfig   `mapstructure:"sandbox"` // sandbox.go
	Alerts    AlertsConfig    `mapstructure:"alerts"`
	Auth      AuthConfig      `mapstructure:"auth"`      // auth.go
	Catalogue CatalogueConfig `mapstructure:"catalogue"` // catalogue.go
	Delivery  DeliveryConfig  `mapstructure:"delivery"`  // delivery.go
}

// LogConfig sets slog's output.
type LogConfig struct {
	Level  string `mapstructure:"level"`  // debug, info, warn, error
	Format string `mapstructure:"format"` // text or json
}

// HTTPConfig is the HTTP server of serve/demo/collect/dashboards.
type HTTPConfig struct {
	Listen       string        `mapstructure:"listen"`
	MaxBodyBytes int64         `mapstructure:"max_body_bytes"`
	ReadTimeout  time.Duration `mapstructure:"read_timeout"`
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// SQLToken guards the read-only SQL endpoint; generated into the data dir when empty.
	SQLToken string `mapstructure:"sql_token"`
	// Pprof serves Go's profiler under /debug/pprof/ (for engineers; off by default).
	Pprof bool `mapstructure:"pprof"`
	// OpsListen, when set, serves /metrics and /debug/pprof/ there, without
	// authentication, instead of on Listen behind the engineer or admin role.
	OpsListen string `mapstructure:"ops_listen"`
}

// KafkaConfig says which brokers to use; none means the embedded broker.
type KafkaConfig struct {
	Brokers      []string      `mapstructure:"brokers"`
	Topic        string        `mapstructure:"topic"`
	DLQTopic     string        `mapstructure:"dlq_topic"`
	Partitions   int           `mapstructure:"partitions"`
	Group        string        `mapstructure:"group"`
	Retention    time.Duration `mapstructure:"retention"`
	BatchTimeout time.Duration `mapstructure:"batch_timeout"`
	// EmbeddedPort is the embedded broker's loopback port; 0 picks a free one.
	EmbeddedPort int `mapstructure:"embedded_port"`
	// TLS and SASL secure the connections to a cluster (kafka.go).
	TLS  KafkaTLSConfig  `mapstructure:"tls"`
	SASL KafkaSASLConfig `mapstructure:"sasl"`
}

// Embedded reports whether Vigie runs its own in-process broker.
func (k KafkaConfig) Embedded() bool { return len(k.Brokers) == 0 }

// WarehouseConfig chooses and configures the ClickHouse transport.
type WarehouseConfig struct {
	Driver         string           `mapstructure:"driver"` // chdb or clickhouse
	Database       string           `mapstructure:"database"`
	MigrateOnStart bool             `mapstructure:"migrate_on_start"`
	ChDB           ChDBConfig       `mapstructure:"chdb"`
	ClickHouse     ClickHouseConfig `mapstructure:"clickhouse"`
	Retention      RetentionConfig  `mapstructure:"retention"`
	Query          QueryConfig      `mapstructure:"query"`
}

// ChDBConfig is the in-process engine.
type ChDBConfig struct {
	// Path of the engine's data; empty means <data_dir>/chdb.
	Path string `mapstructure:"path"`
}

// ClickHouseConfig is a ClickHouse server or cluster over the native protocol.
type ClickHouseConfig struct {
	Addr        []string      `mapstructure:"addr"`
	Username    string        `mapstructure:"username"`
	Password    string        `mapstructure:"password"`
	TLS         bool          `mapstructure:"tls"`
	TLSInsecure bool          `mapstructure:"tls_insecure_skip_verify"`
	Cluster     string        `mapstructure:"cluster"` // non-empty: Replicated tables and ON CLUSTER DDL
	MaxOpenConn int           `mapstructure:"max_open_conns"`
	DialTimeout time.Duration `mapstructure:"dial_timeout"`

	// TLSCAFile is the only CA the servers' certificates may be signed by
	// (empty: the system's roots); TLSCertFile and TLSKeyFile are Vigie's
	// client certificate (mutual TLS); TLSServerName the name the servers'
	// certificates carry when it is not the host dialled.
	TLSCAFile     string `mapstructure:"tls_ca_file"`
	TLSCertFile   string `mapstructure:"tls_cert_file"`
	TLSKeyFile    string `mapstructure:"tls_key_file"`
	TLSServerName string `mapstructure:"tls_server_name"`
}

// RetentionConfig is how long each table keeps rows, counted from ingestion.
type RetentionConfig struct {
	Raw    time.Duration `mapstructure:"raw"`
	Minute time.Duration `mapstructure:"minute"`
	Hour   time.Duration `mapstructure:"hour"`
}

// QueryConfig bounds engineers' read-only SQL.
type QueryConfig struct {
	Timeout time.Duration `mapstructure:"timeout"`
	MaxRows int           `mapstructure:"max_rows"`
}

// IngestConfig is the HTTP collector.
type IngestConfig struct {
	// HMACKey pseudonymises user ids; generated into the data dir when empty.
	HMACKey        string        `mapstructure:"hmac_key"`
	MaxBatchEvents int           `mapstructure:"max_batch_events"`
	MaxFuture      time.Duration `mapstructure:"max_future"`
	ProduceTimeout time.Duration `mapstructure:"produce_timeout"`
	// The collectors and their limits: collectors.go.
	MaxPast       time.Duration     `mapstructure:"max_past"`
	MaxInFlight   int               `mapstructure:"max_in_flight"`
	RatePerSecond float64           `mapstructure:"rate_per_second"`
	RateBurst     int               `mapstructure:"rate_burst"`
	Collectors    []CollectorConfig `mapstructure:"collectors"`
}

// AggregateConfig is the stream processor.
type AggregateConfig struct {
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	FlushEvents   int           `mapstructure:"flush_events"`
	// DedupHorizon is how long after an event arrived a re-send of its id
	// is still recognised and dropped; 0 turns de-duplication off.
	DedupHorizon   time.Duration `mapstructure:"dedup_horizon"`
	SessionTimeout time.Duration `mapstructure:"session_timeout"`
}

// IncidentsConfig defines when a (platform, service, region) is in incident.
type IncidentsConfig struct {
	AvailabilityTarget float64 `mapstructure:"availability_target"`
	P95ThresholdMS     float64 `mapstructure:"p95_threshold_ms"`
	MinMinutes         int     `mapstructure:"min_minutes"`
	MinEvents          int     `mapstructure:"min_events"`
	MergeGapMinutes    int     `mapstructure:"merge_gap_minutes"`
	// The statistical rule and per-service objectives (detection.go).
	LatencyQuantile  float64                    `mapstructure:"latency_quantile"`
	Confidence       float64                    `mapstructure:"confidence"`
	MaxWindowMinutes int                        `mapstructure:"max_window_minutes"`
	Objectives       map[string]ObjectiveConfig `mapstructure:"objectives"`
	Silence          SilenceConfig              `mapstructure:"silence"`
	Calendar         CalendarConfig             `mapstructure:"calendar"`
}

// Default returns the configuration of a single machine on embedded parts.
func Default() Config {
	return Config{
		DataDir: "vigie-data", MinFreeMB: 256,
		Log: LogConfig{Level: "info", Format: "text"},
		HTTP: HTTPConfig{
			Listen: "127.0.0.1:8080", MaxBodyBytes: 8 << 20,
			ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		},
		Kafka: KafkaConfig{
			Topic: "vigie.events.v1", DLQTopic: "vigie.events.dlq", Partitions: 4,
			Group: "vigie-aggregate", Retention: 7 * 24 * time.Hour, BatchTimeout: 5 * time.Millisecond,
		},
		Warehouse: WarehouseConfig{
			Driver: "chdb", Database: "vigie", MigrateOnStart: true,
			ClickHouse: ClickHouseConfig{Addr: []string{"127.0.0.1:9000"}, Username: "default", MaxOpenConn: 8, DialTimeout: 10 * time.Second},
			Retention:  RetentionConfig{Raw: 90 * 24 * time.Hour, Minute: 30 * 24 * time.Hour, Hour: 5 * 365 * 24 * time.Hour},
			Query:      QueryConfig{Timeout: 30 * time.Second, MaxRows: 10000},
		},
		Ingest: IngestConfig{MaxBatchEvents: 10000, MaxFuture: time.Hour, ProduceTimeout: 10 * time.Second,
			MaxPast: 72 * time.Hour, MaxInFlight: 64, RatePerSecond: 20, RateBurst: 40},
		Aggregate: AggregateConfig{
			FlushInterval: time.Second, FlushEvents: 20000, DedupHorizon: 24 * time.Hour, SessionTimeout: 10 * time.Second,
		},
		Probe:   DefaultProbe(),
		Tail:    DefaultTail(),
		Sandbox: DefaultSandbox(),
		Incidents: IncidentsConfig{AvailabilityTarget: 0.95, P95ThresholdMS: 3000, MinMinutes: 1, MinEvents: 20, MergeGapMinutes: 3,
			LatencyQuantile: 0.95, Confidence: 0.999, MaxWindowMinutes: 20,
			Silence:  SilenceConfig{MinExpected: 30, Fraction: 0.05, HistoryDays: 7},
			Calendar: CalendarConfig{Nights: "22:00-06:00"}},
		Alerts: AlertsConfig{Enabled: true, Interval: 15 * time.Second, Lookback: 4 * time.Hour,
			Services: defaultAlertServices(schemas.Regions), Retries: 3, RetryBackoff: time.Second},
		Auth: AuthConfig{SessionTTL: 12 * time.Hour, OIDC: OIDCConfig{
			Scopes: []string{"openid", "email", "profile"}, NameClaim: "email", RolesClaim: "groups"}},
		Delivery: DefaultDelivery(),
	}
}

// Validate checks every rule and joins every problem, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key string, val any, rule string) {
		errs = append(errs, fmt.Errorf("%s: %v %s", key, val, rule))
	}
	if c.DataDir == "" {
		bad("data_dir", `""`, "is empty, give a directory")
	}
	if c.MinFreeMB < 0 {
		bad("min_free_mb", c.MinFreeMB, "must not be negative")
	}
	if !oneOf(c.Log.Level, "debug", "info", "warn", "error") {
		bad("log.level", quote(c.Log.Level), "is not one of debug, info, warn, error")
	}
	if !oneOf(c.Log.Format, "text", "json") {
		bad("log.format", quote(c.Log.Format), "is not one of text, json")
	}
	if !hostPort(c.HTTP.Listen, 0) {
		bad("http.listen", quote(c.HTTP.Listen), "is not host:port (port 0 to 65535)")
	}
	if c.HTTP.OpsListen != "" && !hostPort(c.HTTP.OpsListen, 0) {
		bad("http.ops_listen", quote(c.HTTP.OpsListen), "is not host:port (port 0 to 65535), or empty to serve /metrics on http.listen")
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		bad("http.max_body_bytes", c.HTTP.MaxBodyBytes, "is too small, use 1024 or more")
	}
	positiveDur(&errs, "http.read_timeout", c.HTTP.ReadTimeout)
	positiveDur(&errs, "http.write_timeout", c.HTTP.WriteTimeout)
	if c.HTTP.SQLToken != "" && len(c.HTTP.SQLToken) < 32 {
		bad("http.sql_token", "(hidden)", fmt.Sprintf("is %d characters, use at least 32 (or leave it empty to generate one)", len(c.HTTP.SQLToken)))
	}
	for i, b := range c.Kafka.Brokers {
		if !hostPort(b, 1) {
			bad(fmt.Sprintf("kafka.brokers[%d]", i), quote(b), "is not host:port (port 1 to 65535)")
		}
	}
	if !topicName(c.Kafka.Topic) {
		bad("kafka.topic", quote(c.Kafka.Topic), topicRule)
	}
	if !topicName(c.Kafka.DLQTopic) {
		bad("kafka.dlq_topic", quote(c.Kafka.DLQTopic), topicRule)
	} else if c.Kafka.DLQTopic == c.Kafka.Topic {
		// Poison messages sent back to the topic they came from would loop forever.
		bad("kafka.dlq_topic", quote(c.Kafka.DLQTopic), "is the same as kafka.topic, use another topic")
	}
	if c.Kafka.Partitions < 1 || c.Kafka.Partitions > 1000 {
		bad("kafka.partitions", c.Kafka.Partitions, "is not allowed, use 1 to 1000")
	}
	if c.Kafka.Group == "" {
		bad("kafka.group", `""`, "is empty, name the consumer group")
	}
	positiveDur(&errs, "kafka.retention", c.Kafka.Retention)
	if c.Kafka.BatchTimeout <= 0 || c.Kafka.BatchTimeout > time.Second {
		bad("kafka.batch_timeout", c.Kafka.BatchTimeout, "must be above 0 and at most 1s (it is added to every produce)")
	}
	if c.Kafka.EmbeddedPort < 0 || c.Kafka.EmbeddedPort > 65535 {
		bad("kafka.embedded_port", c.Kafka.EmbeddedPort, "is not a port number")
	}
	c.Kafka.validateSecurity(bad)
	w := c.Warehouse
	if !oneOf(w.Driver, "chdb", "clickhouse") {
		bad("warehouse.driver", quote(w.Driver), "is not one of chdb, clickhouse")
	}
	if !identRE(w.Database) {
		bad("warehouse.database", quote(w.Database), "must be letters, digits and _ (starting with a letter)")
	}
	if w.Driver == "clickhouse" {
		if len(w.ClickHouse.Addr) == 0 {
			bad("warehouse.clickhouse.addr", "[]", "is empty, give host:port of the native protocol (9000, or 9440 with TLS)")
		}
		for i, a := range w.ClickHouse.Addr {
			if !hostPort(a, 1) {
				bad(fmt.Sprintf("warehouse.clickhouse.addr[%d]", i), quote(a), "is not host:port (port 1 to 65535)")
			}
		}
		if w.ClickHouse.MaxOpenConn < 1 {
			bad("warehouse.clickhouse.max_open_conns", w.ClickHouse.MaxOpenConn, "is not allowed, use 1 or more")
		}
		positiveDur(&errs, "warehouse.clickhouse.dial_timeout", w.ClickHouse.DialTimeout)
		w.ClickHouse.validateTLS(bad)
	} else if w.ClickHouse.Cluster != "" {
		// The migrator would render ON CLUSTER and Replicated tables, which
		// the in-process engine has no cluster for.
		bad("warehouse.clickhouse.cluster", quote(w.ClickHouse.Cluster), "needs warehouse.driver: clickhouse (chDB has no cluster)")
	}
	if w.ClickHouse.Cluster != "" && !identRE(w.ClickHouse.Cluster) {
		bad("warehouse.clickhouse.cluster", quote(w.ClickHouse.Cluster), "must be letters, digits and _")
	}
	for _, r := range []struct {
		key string
		d   time.Duration
	}{{"warehouse.retention.raw", w.Retention.Raw}, {"warehouse.retention.minute", w.Retention.Minute}, {"warehouse.retention.hour", w.Retention.Hour}} {
		if r.d < 24*time.Hour || r.d%(24*time.Hour) != 0 {
			bad(r.key, r.d, "must be a whole number of days, at least 24h (TTL is kept in days)")
		}
	}
	positiveDur(&errs, "warehouse.query.timeout", w.Query.Timeout)
	if w.Query.MaxRows < 1 {
		bad("warehouse.query.max_rows", w.Query.MaxRows, "is not allowed, use 1 or more")
	}
	c.Sandbox.validate(bad, w.Driver)
	c.Catalogue.validate(bad)
	if c.Ingest.HMACKey != "" && len(c.Ingest.HMACKey) < 32 {
		bad("ingest.hmac_key", "(hidden)", fmt.Sprintf("is %d characters, use at least 32 (or leave it empty to generate one)", len(c.Ingest.HMACKey)))
	}
	if c.Ingest.MaxBatchEvents < 1 {
		bad("ingest.max_batch_events", c.Ingest.MaxBatchEvents, "is not allowed, use 1 or more")
	}
	if c.Ingest.MaxFuture < 0 {
		bad("ingest.max_future", c.Ingest.MaxFuture, "must not be negative")
	}
	positiveDur(&errs, "ingest.produce_timeout", c.Ingest.ProduceTimeout)
	positiveDur(&errs, "aggregate.flush_interval", c.Aggregate.FlushInterval)
	if c.Aggregate.FlushEvents < 1 || c.Aggregate.FlushEvents > 500000 {
		bad("aggregate.flush_events", c.Aggregate.FlushEvents, "is not allowed, use 1 to 500000 (a flush must stay one insert block)")
	}
	if h := c.Aggregate.DedupHorizon; h < 0 || (c.Kafka.Retention > 0 && h > c.Kafka.Retention) {
		bad("aggregate.dedup_horizon", h, fmt.Sprintf("is not allowed, use 0 (off) to kafka.retention (%v): a re-send can only come back while the log holds it", c.Kafka.Retention))
	}
	if c.Aggregate.SessionTimeout < 6*time.Second {
		bad("aggregate.session_timeout", c.Aggregate.SessionTimeout, "is below the brokers' 6s minimum")
	} else if c.Aggregate.SessionTimeout > 5*time.Minute {
		// The embedded broker refuses more; a longer one also delays fail-over.
		bad("aggregate.session_timeout", c.Aggregate.SessionTimeout, "is above 5m, the embedded broker's maximum")
	}
	in := c.Incidents
	// Written as what must hold, so that NaN (YAML .nan) fails too.
	if !(in.AvailabilityTarget > 0 && in.AvailabilityTarget <= 1) {
		bad("incidents.availability_target", in.AvailabilityTarget, "must be above 0 and at most 1 (e.g. 0.95)")
	}
	if !(in.P95ThresholdMS > 0 && !math.IsInf(in.P95ThresholdMS, 1)) {
		bad("incidents.p95_threshold_ms", in.P95ThresholdMS, "must be a number above 0")
	}
	if in.MinMinutes < 1 {
		bad("incidents.min_minutes", in.MinMinutes, "is not allowed, use 1 or more")
	}
	if in.MinEvents < 1 {
		bad("incidents.min_events", in.MinEvents, "is not allowed, use 1 or more")
	}
	if in.MergeGapMinutes < 0 {
		bad("incidents.merge_gap_minutes", in.MergeGapMinutes, "must not be negative")
	}
	c.Probe.validate(bad)
	c.Tail.validate(bad)
	in.validateDetection(bad)
	c.Alerts.validate(bad)
	c.validateAuth(bad)
	c.validateCollectors(bad)
	c.Delivery.validate(bad)
	return errors.Join(errs...)
}

func positiveDur(errs *[]error, key string, d time.Duration) {
	if d <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: %v must be above 0", key, d))
	}
}

// hostPort reports whether s is host:port with a numeric port from minPort
// to 65535 (a named port such as "http" would fail late, at dial time).
func hostPort(s string, minPort int) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= minPort && n <= 65535
}

const topicRule = "is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -, not . or ..)"

// topicName applies Kafka's own rule, so a bad name fails here and not at
// topic creation.
func topicName(s string) bool {
	if s == "" || len(s) > 249 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func oneOf(s string, options ...string) bool {
	for _, o := range options {
		if s == o {
			return true
		}
	}
	return false
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

func identRE(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// ChDBPath is where the in-process engine keeps its data.
func (c *Config) ChDBPath() string {
	if c.Warehouse.ChDB.Path != "" {
		return c.Warehouse.ChDB.Path
	}
	return filepath.Join(c.DataDir, "chdb")
}

// Load reads the configuration: defaults, then the YAML file (if path is not
// empty), then VIGIE_… environment variables (VIGIE_KAFKA_PARTITIONS for
// kafka.partitions), then flags bound with BindFlag. Unknown keys in the file
// are errors. The result is validated.
func Load(path string, flags *pflag.FlagSet, bind map[string]string) (Config, error) {
	v := viper.New()
	def := Default()
	setDefaults(v, "", reflect.ValueOf(def))
	v.SetEnvPrefix("VIGIE")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	for key, flag := range bind {
		if flags == nil {
			break
		}
		if f := flags.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return Config{}, fmt.Errorf("bind flag --%s to %s: %w", flag, key, err)
			}
		}
	}
	var c Config
	err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		bareNumberDuration,
		mapstructure.StringToTimeDurationHookFunc(),
		stringToIntSlice,
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", orDefaults(path), err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration (%s):\n%w", orDefaults(path), err)
	}
	return c, nil
}

func orDefaults(path string) string {
	if path == "" {
		return "defaults and environment"
	}
	return path
}

// bareNumberDuration refuses a number where a duration belongs: YAML's
// `read_timeout: 30` would otherwise decode as 30ns and pass validation.
// Zero needs no unit.
func bareNumberDuration(from, to reflect.Type, data any) (any, error) {
	durationType := reflect.TypeOf(time.Duration(0))
	if to != durationType || from == durationType {
		return data, nil
	}
	switch from.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		if !reflect.ValueOf(data).IsZero() {
			return nil, fmt.Errorf("%v has no unit, write a duration such as 500ms, 30s, 5m or 2h", data)
		}
	}
	return data, nil
}

// setDefaults registers every leaf key so that environment variables reach
// keys the file does not mention (viper only sees keys it knows of).
func setDefaults(v *viper.Viper, prefix string, val reflect.Value) {
	t := val.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("mapstructure")
		if prefix != "" {
			key = prefix + "." + key
		}
		fv := val.Field(i)
		if fv.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Duration(0)) {
			setDefaults(v, key, fv)
			continue
		}
		v.SetDefault(key, fv.Interface())
	}
}
