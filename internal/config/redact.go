package config

import (
	"reflect"
	"time"
)

// Hidden replaces a secret in Redacted.
const Hidden = "(hidden)"

// Redacted is the configuration as an administrator may read it (GET
// /api/v1/admin/config): every key by its YAML name, durations written as
// in the file, and every secret — the SQL token, the HMAC key, the
// ClickHouse and Kafka passwords, password and token hashes — replaced by Hidden when
// set. (A hash is no password, but it lets a thief guess offline.)
func (c Config) Redacted() map[string]any {
	hide := func(s *string) {
		if *s != "" {
			*s = Hidden
		}
	}
	hide(&c.HTTP.SQLToken)
	hide(&c.Ingest.HMACKey)
	hide(&c.Warehouse.ClickHouse.Password)
	hide(&c.Kafka.SASL.Password)
	users := make([]UserConfig, len(c.Auth.Users))
	for i, u := range c.Auth.Users {
		hide(&u.PasswordHash)
		u.TokenHashes = hiddenList(u.TokenHashes)
		users[i] = u
	}
	c.Auth.Users = users
	cols := make([]CollectorConfig, len(c.Ingest.Collectors))
	for i, col := range c.Ingest.Collectors {
		col.TokenHashes = hiddenList(col.TokenHashes)
		cols[i] = col
	}
	c.Ingest.Collectors = cols
	return byTag(reflect.ValueOf(c)).(map[string]any)
}

func hiddenList(l []string) []string {
	out := make([]string, len(l))
	for i := range out {
		out[i] = Hidden
	}
	return out
}

// byTag turns a configuration value into maps keyed by the mapstructure
// names, the file's keys.
func byTag(v reflect.Value) any {
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		return time.Duration(v.Int()).String()
	case v.Kind() == reflect.Struct:
		m := map[string]any{}
		for i := 0; i < v.NumField(); i++ {
			m[v.Type().Field(i).Tag.Get("mapstructure")] = byTag(v.Field(i))
		}
		return m
	case v.Kind() == reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = byTag(v.Index(i))
		}
		return out
	}
	return v.Interface()
}
