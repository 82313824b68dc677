# Vigie — the two commands of a fresh machine are `make demo` and `make test`.
# libchdb.so (ClickHouse's engine, ~560 MB) is installed into the cache by
# scripts/install-chdb.sh, never committed.

export VIGIE_CACHE_DIR ?= $(HOME)/.cache/vigie
export CHDB_LIB_PATH ?= $(VIGIE_CACHE_DIR)/libchdb.so
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
DEMO_FLAGS ?=

.PHONY: all build chdb demo serve test test-long bench bench-day lint fmt clean

all: build

build:
	$(GO) build -o bin/vigie ./cmd/vigie

chdb:
	scripts/install-chdb.sh

## demo: replay 6 April 2021 on embedded parts, write the report, serve the dashboard (DEMO_FLAGS=--exit to stop after the report)
demo: chdb build
	./bin/vigie demo $(DEMO_FLAGS)

serve: chdb build
	./bin/vigie serve

## test: the whole suite on real parts (kfake over TCP, chDB on disk, loopback HTTP, headless Chromium)
test: chdb
	scripts/install-test-deps.sh
	$(GO) vet ./...
	@echo "ClickHouse server contract suite (runs when VIGIE_TEST_CLICKHOUSE_DSN is set; chDB runs it always):"
	@$(GO) test -count=1 -v -run Contract ./internal/warehouse/chserver/ | grep -E -e '--- (SKIP|PASS|FAIL)' -e 'VIGIE_TEST_CLICKHOUSE_DSN' || true
	$(GO) test -count=1 -timeout 40m ./...

## test-long: soak and fault runs, behind a flag; the kill test runs on its own and prints how many SIGKILLs landed
test-long: chdb
	VIGIE_LONG_TESTS=1 $(GO) test -count=1 -timeout 80m -skip TestKilledAggregator ./...
	VIGIE_LONG_TESTS=1 bash -o pipefail -c '$(GO) test -count=1 -timeout 20m -v -run TestKilledAggregator ./aggregate/ 2>&1 | grep -E "_test\.go:|^(--- |ok|FAIL|panic)"'

## bench: performance figures as a table (events/s, ratios to kcat measured in the same run, freshness under load, peak RSS)
bench: chdb
	scripts/install-test-deps.sh
	$(GO) test -p 1 -run '^$$' -bench . -benchtime 3x -count 1 -timeout 60m ./... | scripts/bench-table.sh

## bench-day: the 10 M-event school day through one process (peak RSS, freshness, drain); BENCH_DAY_EVENTS and BENCH_DAY_RATE change it
BENCH_DAY_EVENTS ?= 10000000
BENCH_DAY_RATE ?= 31000
bench-day: chdb
	VIGIE_BENCH_DAY_EVENTS=$(BENCH_DAY_EVENTS) VIGIE_BENCH_DAY_RATE=$(BENCH_DAY_RATE) $(GO) test -run '^$$' -bench Day -benchtime 1x -count 1 -timeout 90m ./aggregate/ | scripts/bench-table.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin vigie-demo
