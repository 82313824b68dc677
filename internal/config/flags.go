package config

import "github.com/spf13/pflag"

// FlagKeys maps the configuration keys that have a command-line flag to that
// flag. Flags win over the environment, which wins over the file.
var FlagKeys = map[string]string{
	"data_dir":         "data-dir",
	"log.level":        "log-level",
	"log.format":       "log-format",
	"http.listen":      "listen",
	"kafka.brokers":    "brokers",
	"warehouse.driver": "warehouse",
}

// RegisterFlags declares the flags of FlagKeys on fs (every vigie command has them).
func RegisterFlags(fs *pflag.FlagSet) {
	fs.String("data-dir", "", "data directory (embedded broker log, chDB data, keys, reports) [data_dir]")
	fs.String("log-level", "", "debug, info, warn or error [log.level]")
	fs.String("log-format", "", "text or json [log.format]")
	fs.String("listen", "", "HTTP address host:port [http.listen]")
	fs.StringSlice("brokers", nil, "Kafka brokers host:port,…; none runs the embedded broker [kafka.brokers]")
	fs.String("warehouse", "", "chdb (in-process) or clickhouse (server) [warehouse.driver]")
}

// ChangedFlags is the part of FlagKeys whose flags were given on fs: the
// bind map for Load (a flag left at its zero value must not hide the
// environment or the file).
func ChangedFlags(fs *pflag.FlagSet) map[string]string {
	bind := map[string]string{}
	for key, flag := range FlagKeys {
		if f := fs.Lookup(flag); f != nil && f.Changed {
			bind[key] = flag
		}
	}
	return bind
}
