# offboard — see README.md. Every target works on a fresh machine with Go
# installed: the tools the checks need are installed into .tools/ on demand.

GO            ?= go
# The Go that builds, tests and ships offboard, whatever Go the machine
# has: the go command fetches it from the module proxy once (about 76 MB).
# go1.26.8 carries standard-library vulnerabilities that govulncheck finds
# reachable (crypto/tls, crypto/x509, net/http; fixed in go1.26.10); this
# release has the fixes. go.mod still says the module needs Go 1.26.
export GOTOOLCHAIN := go1.27.3
TOOLS         := $(CURDIR)/.tools
STATICCHECK   := $(TOOLS)/bin/staticcheck
GOVULNCHECK   := $(TOOLS)/bin/govulncheck
STATICCHECK_VERSION := v0.8.2
AZURITE             := $(TOOLS)/azurite/node_modules/.bin/azurite-blob
GOVULNCHECK_VERSION := v1.9.0
# The vulnerability database govulncheck reads: golang.org/x/vulndb's OSV
# entries as of this pseudo-version's date, from the Go module proxy, turned
# into a local database by cmd/offboard-vulndb. Bump it to a newer
# pseudo-version (go list -m golang.org/x/vulndb@latest) for newer
# findings; see README.md.
VULNDB_VERSION      := v0.0.0-20261105234957-e22db6528018
VULNDB              := $(TOOLS)/vulndb/$(VULNDB_VERSION)
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# -parallel: cmd/offboard's end-to-end tests mostly wait (on the binary
# they start, timeouts, Retry-After), so more of them run at once than
# there are CPUs: without -race, 16 at once took two thirds of the time 8
# did, side by side on a loaded 2-core machine. -vet=off: the target runs
# go vet first, every analyzer, and go test's own vet is a subset of it.
TEST_FLAGS    ?= -count=1 -timeout 15m -parallel 16 -vet=off
# RACE_PKGS are the packages `make test` runs with the race detector: those
# whose own code is concurrent (the runner and its lanes, the paces, the
# transport and its batches, ARM's concurrent listings, the journal and the
# report writers, the simulated tenant's server) and that do not import the
# Microsoft Graph SDK, so that msgraph-sdk-go (3 to 4 minutes to compile on
# 2 cores) is never compiled a second time, with -race. Every other package,
# cmd/offboard's end-to-end tests among them, is tested without -race on the
# build `make demo` left in the Go cache. job/graph's own concurrency (the
# app index's errgroup, the group index's and the apps' locks) and the
# application layer are raced by `make test-race`, which runs every package
# with -race as `make test` once did (the race detector needs cgo).
RACE_PKGS     := ./job ./job/arm ./job/transport ./report/... ./simtenant/...

.PHONY: all demo test test-race unit vet lint vulncheck build build-static bench gobench fuzz stress image tools clean

all: build

## demo: the whole job against the embedded simulated tenant
demo:
	$(GO) run ./cmd/offboard demo

## test: vet, then every test (unit and end to end): RACE_PKGS with the
## race detector, the rest without it. vet is built without -race, like
## the demo, so that it finds the SDKs compiled. The check before the tests
## keeps the Graph SDK out of RACE_PKGS.
## OFFBOARD_TEST_REQUIRE_AZURITE=1: without the emulator this target
## installs, the blob tests fail (a bare go test skips them).
test: $(AZURITE)
	$(GO) vet ./...
	@if $(GO) list -deps -test $(RACE_PKGS) | grep -q '^github.com/microsoftgraph/msgraph-sdk-go'; then \
	  echo "RACE_PKGS import msgraph-sdk-go: make test would compile it again with -race"; exit 1; fi
	$(GO) test -race $(TEST_FLAGS) $(RACE_PKGS)
	OFFBOARD_TEST_REQUIRE_AZURITE=1 $(GO) test $(TEST_FLAGS) $$($(GO) list ./... | grep -vxF "$$($(GO) list $(RACE_PKGS))")

## test-race: every package with the race detector (the SDKs compiled a
## second time: minutes longer than make test)
test-race: $(AZURITE)
	$(GO) vet ./...
	OFFBOARD_TEST_REQUIRE_AZURITE=1 $(GO) test -race $(TEST_FLAGS) ./...

vet:
	$(GO) vet ./...

## lint: gofmt, go vet, staticcheck, then vulncheck
lint: vet $(STATICCHECK) $(GOVULNCHECK) $(VULNDB)
	@out=$$($$($(GO) env GOROOT)/bin/gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(STATICCHECK) ./...
	$(VULNCHECK)

## vulncheck: govulncheck against the pinned database in $(VULNDB)
VULNCHECK = $(GOVULNCHECK) -db file://$(VULNDB) ./...
vulncheck: $(GOVULNCHECK) $(VULNDB)
	$(VULNCHECK)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/offboard ./cmd/offboard

## build-static: the binary the image ships, without Docker, checked to be
## statically linked (no dynamic section, no interpreter)
build-static: build
	@if readelf -l bin/offboard | grep -q 'INTERP' || readelf -d bin/offboard 2>/dev/null | grep -q 'NEEDED'; then \
	  echo "bin/offboard is dynamically linked"; exit 1; fi
	@echo "bin/offboard is statically linked"

## bench: the binary against a simulated tenant served by another process
## (budget and overcommitted on the default, strict and independent models,
## the default configuration on a shared budget, ARM deletes, latency,
## resolution, azure listing, footprint); prints one table, then issue 29's
## goals with the service models side by side.
## BENCH_FLAGS=-quick for a smoke run. Fails when a row misses its target;
## BENCH_FLAGS=-explore does not. See BENCHMARKS.md.
BENCH_FLAGS ?=
bench:
	$(GO) build -o bin/offboard ./cmd/offboard
	$(GO) run ./cmd/offboard-bench -bin bin/offboard $(BENCH_FLAGS)

## gobench: Go benchmarks of the hot paths
gobench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: every fuzz target (func Fuzz... in a _test.go) for FUZZTIME each;
## what a target finds is written under its package's testdata/fuzz/ and
## replayed by every `go test` from then on. See RELIABILITY.md.
FUZZTIME ?= 30s
FUZZMINIMIZETIME ?= 5s
fuzz:
	@set -e; for dir in $$(grep -l '^func Fuzz' $$(find . -name '*_test.go' -not -path './.tools/*') | xargs -n1 dirname | sort -u); do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | sed 's/^func //'); do \
	    echo "== $$dir $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) $$dir; \
	  done; \
	done

## stress: kill -9 at STRESS_KILLS random instants of a long run (seeded:
## STRESS_SEED), each rerun; 1,000 and 10,000 principals under 5 % injected
## faults, with peak memory compared. Minutes; not part of `make test`.
STRESS_SEED  ?= 1
STRESS_KILLS ?= 20
stress:
	OFFBOARD_STRESS=1 $(GO) test -count=1 -timeout 90m -v -run '^TestStress' ./cmd/offboard/ \
	  -args -stress-seed $(STRESS_SEED) -stress-kills $(STRESS_KILLS)

image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t offboard:$(VERSION) .

tools: $(STATICCHECK) $(GOVULNCHECK) $(VULNDB) $(AZURITE)

# The Azure Storage emulator the blob tests start (Node.js and npm needed),
# pinned with its whole tree by the lock file beside the tests.
AZURITE_LOCK := cmd/offboard/testdata/azurite/package-lock.json
$(AZURITE): $(AZURITE_LOCK)
	mkdir -p $(TOOLS)/azurite
	cp cmd/offboard/testdata/azurite/package.json $(AZURITE_LOCK) $(TOOLS)/azurite/
	cd $(TOOLS)/azurite && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STATICCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

$(GOVULNCHECK):
	GOBIN=$(TOOLS)/bin $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)

# Built once per VULNDB_VERSION. The module is downloaded from an empty
# directory, outside this module, so that go.mod and go.sum stay as they are;
# its zip then sits in the module cache, laid out as on the proxy.
$(VULNDB):
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cd "$$tmp" && \
	  GOWORK=off GOFLAGS=-mod=mod $(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	$(GO) run ./cmd/offboard-vulndb -out $@ \
	  -zip "$$($(GO) env GOMODCACHE)/cache/download/golang.org/x/vulndb/@v/$(VULNDB_VERSION).zip"

clean:
	rm -rf bin offboard-demo
