//go:build nochdb

package chdb

import "fmt"

// load never finds the engine in this build: the error says which build
// has it and what to configure instead.
func load() error {
	return fmt.Errorf("%w: this vigie was built without the in-process engine (-tags nochdb, the cluster image): "+
		"set warehouse.driver: clickhouse, or use a vigie built without nochdb (the demo image)", ErrLibraryMissing)
}
