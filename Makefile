# offboard — see README.md. Every target works on a fresh machine with Go
# installed: the tools the checks need are installed into .tools/ on demand.

GO            ?= go
TOOLS         := $(CURDIR)/.tools
STATICCHECK   := $(TOOLS)/bin/staticcheck
GOVULNCHECK   := $(TOOLS)/bin/govulncheck
STATICCHECK_VERSION := v0.8.2
AZURITE             := $(TOOLS)/azurite/node_modules/.bin/azurite-blob
GOVULNCHECK_VERSION := v1.9.0
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# The race detector needs cgo; everything else builds without it.
TEST_FLAGS    ?= -race -count=1 -timeout 15m

.PHONY: all demo test unit vet lint vulncheck build build-static bench fuzz stress image tools clean

all: build

## demo: the whole job against the embedded simulated tenant
demo:
	$(GO) run ./cmd/offboard demo

## test: vet, then every test (unit and end to end) with the race detector.
## vet is built with -race too, so the SDKs compile once, not twice.
test: $(AZURITE)
	$(GO) vet -race ./...
	$(GO) test $(TEST_FLAGS) ./...

vet:
	$(GO) vet ./...

## lint: gofmt, go vet, staticcheck
lint: vet $(STATICCHECK)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(STATICCHECK) ./...

## vulncheck: govulncheck (needs to reach the Go vulnerability database)
vulncheck: $(GOVULNCHECK)
	$(GOVULNCHECK) ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/offboard ./cmd/offboard

## build-static: the binary the image ships, without Docker, checked to be
## statically linked (no dynamic section, no interpreter)
build-static: build
	@if readelf -l bin/offboard | grep -q 'INTERP' || readelf -d bin/offboard 2>/dev/null | grep -q 'NEEDED'; then \
	  echo "bin/offboard is dynamically linked"; exit 1; fi
	@echo "bin/offboard is statically linked"

## bench: Go benchmarks of the hot paths
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: each fuzz target for a bounded time
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./job/csvinput/

image:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t offboard:$(VERSION) .

tools: $(STATICCHECK) $(GOVULNCHECK) $(AZURITE)

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

clean:
	rm -rf bin offboard-demo
