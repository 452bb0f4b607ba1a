# clusterhop — see README.md. Every target works on a fresh Debian machine
# with only Go installed; `test` installs redis-server when it may.

GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.7.0
FUZZTIME      ?= 30s
BENCHTIME     ?= 1s
BENCHCOUNT    ?= 6

.PHONY: test test-unit test-latest lint bench fuzz demo soak server

# The whole suite: a real Redis cluster for integration/ (started and stopped
# by the tests themselves), -race everywhere.
test: server
	CLUSTERHOP_INTEGRATION=1 ./scripts/test.sh ./...

# Unit tests only; integration tests skip with a notice.
test-unit:
	CLUSTERHOP_INTEGRATION=0 ./scripts/test.sh ./...

# The same suite against the newest go-redis release, without touching go.mod.
test-latest: server
	./scripts/test-latest.sh

# Install redis-server when it is missing and we may (root on Debian).
server:
	./scripts/ensure-server.sh

lint:
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	@unformatted="$$(gofmt -l .)"; test -z "$$unformatted" || { echo "gofmt: these files need formatting:"; echo "$$unformatted"; exit 1; }

bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) -count $(BENCHCOUNT) ./classify ./slotmap ./retry ./redirect

# Each fuzz target for FUZZTIME (go test runs one fuzz target at a time).
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

demo:
	$(GO) run ./cmd/clusterhop demo

soak: server
	CLUSTERHOP_INTEGRATION=1 CLUSTERHOP_SOAK=1 $(GO) test -race -run '^TestSoak$$' -timeout 30m -v ./integration/...
