// Package store is the one owner, in Go, of Vigie's warehouse tables: their
// row types, one encoder per table the product writes, and every read the
// product makes, as a typed method. The aggregator writes through it;
// incident detection, the report and the dashboard read through it, so no
// other package holds a table's column list or a line of product SQL.
//
// It also applies the DDL (Migrate: the versioned files of schemas/migrations,
// their bookkeeping in schema_migrations and the lock that serialises runs).
// It is not where rules live (what an incident is belongs to package
// incident), and not engineers' ad-hoc SQL (the read-only sandbox).
// It works the same on both transports, chDB in-process and a ClickHouse
// server, because it only speaks warehouse.Warehouse.
package store

import (
	"fmt"

	"github.com/vigie-fr/vigie/internal/warehouse"
)

// Store reads and writes one database of the warehouse.
type Store struct {
	wh warehouse.Warehouse
	db string
}

// New returns the store of database db on wh; it does no I/O. db is pasted
// into SQL, so it must be an identifier.
func New(wh warehouse.Warehouse, db string) (*Store, error) {
	if wh == nil {
		return nil, fmt.Errorf("store: no warehouse")
	}
	if !warehouse.ValidIdent(db) {
		return nil, fmt.Errorf("store: database name %q is not an identifier (letters, digits and _)", db)
	}
	return &Store{wh: wh, db: db}, nil
}

// Database is the database the store works in.
func (s *Store) Database() string { return s.db }

// Tables the store writes.
const (
	TableEvents  = "events"
	TableWindows = "agg_in"
	TableOffsets = "consumer_offsets"
	TableClaims  = "offset_claims"
)

func (s *Store) table(name string) string { return s.db + "." + name }
