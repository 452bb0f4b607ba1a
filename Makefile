# clusterhop — see README.md. Every target works on a fresh Debian machine
# with only Go installed; `test` installs redis-server and valkey-server when
# it may.

GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME      ?= 30s
BENCHTIME     ?= 1s
BENCHCOUNT    ?= 6
# The servers test-latest runs the per-server real-cluster tests against
# (names from integration/cluster's table; the tests that run once use Redis
# 7 as in make test): the go-redis upgrade is what it checks, and make test
# already covers every server.
LATEST_SERVERS ?= valkey8
SOAK_SHORT    ?= 60s
# The server of the short soak: Valkey 8, since the tests that run on one
# server (the kill and resharding comparisons) use Redis 7.
SOAK_SERVER   ?= valkey-server

.PHONY: test test-unit test-latest test-otel lint bench fuzz demo soak soak-short server

# The whole suite, -race everywhere: real clusters for integration/ (started
# and stopped by the tests themselves), each real-cluster test once per
# server (Redis 7 and Valkey 8).
test: server
	CLUSTERHOP_INTEGRATION=1 ./scripts/test.sh ./...
	$(MAKE) test-otel

# The OpenTelemetry adapter is a module of its own (so core users do not
# pull OTel): ./... from the root does not reach it.
test-otel:
	cd otel && $(GO) vet ./... && $(GO) test -race -count=1 ./...

# Unit tests only; integration tests skip with a notice.
test-unit:
	CLUSTERHOP_INTEGRATION=0 ./scripts/test.sh ./...

# The same suite against the newest go-redis release, without touching go.mod,
# with the real-cluster tests on LATEST_SERVERS only.
test-latest: server
	CLUSTERHOP_SERVERS=$(LATEST_SERVERS) ./scripts/test-latest.sh

# Install redis-server and valkey-server when missing and we may (root on
# Debian; Valkey from bookworm-backports).
server:
	./scripts/ensure-server.sh

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@unformatted="$$(gofmt -l .)"; test -z "$$unformatted" || { echo "gofmt: these files need formatting:"; echo "$$unformatted"; exit 1; }

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./classify ./command ./slotmap ./retry ./redirect

# Each fuzz target for FUZZTIME (go test runs one fuzz target at a time).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

demo:
	$(GO) run ./cmd/clusterhop demo

soak: server
	CLUSTERHOP_INTEGRATION=1 CLUSTERHOP_SOAK=1 $(GO) test -race -run '^TestSoak$$' -timeout 30m -v ./integration/...

# The soak for SOAK_SHORT (default 60s) on SOAK_SERVER, so CI exercises its
# checks on every run: at least one slot migration and one graceful failover
# under traffic.
soak-short: server
	CLUSTERHOP_INTEGRATION=1 CLUSTERHOP_SOAK=1 CLUSTERHOP_SOAK_DURATION=$(SOAK_SHORT) CLUSTERHOP_SERVER=$(SOAK_SERVER) $(GO) test -race -count=1 -run '^TestSoak$$' -timeout 10m -v ./integration/
