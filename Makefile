# plsgate — build, test, package, demo. Needs only Go and Node/npm on the machine:
# everything else (Go modules, the pinned Azurite) is installed by these targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false

.PHONY: all build dev tools test unit bench fmt-check vet package demo clean browser

all: build

# The shipped binary: what `make package` deploys. It links no emulator (main_test.go checks).
build:
	$(GO) build -o bin/plsgate .

# The dev command, never deployed: the demo and the local emulators (plsgate-dev --help).
dev:
	$(GO) build -o bin/plsgate-dev ./cmd/plsgate-dev

# Azurite (Table storage emulator) pinned in package.json/package-lock.json, installed into ./node_modules.
node_modules/.bin/azurite-table: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

tools: node_modules/.bin/azurite-table
	$(GO) mod download

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The whole suite: vet, gofmt, unit, Azurite integration and end-to-end tests
# (host emulator -> handler -> ARM emulator -> Azurite). Fuzz seeds run as tests.
test: tools fmt-check vet
	@$(HAVE_BROWSER) || echo "make test: no Chromium on PATH: the status-page browser test will skip (make browser installs it)"
	$(GO) test -count=1 -race -timeout 12m ./...

unit:
	$(GO) test -count=1 -short ./...

# The browsers internal/api's browser test looks for (chromiumPaths in browser_test.go).
HAVE_BROWSER := (for b in chromium chromium-browser google-chrome google-chrome-stable; do command -v $$b >/dev/null 2>&1 && exit 0; done; exit 1)

# Headless Chromium for the status-page browser test (internal/api), as CI runs it. A separate,
# explicit step because it installs a system package (Debian's chromium, apt-get, as root;
# bounded to 6 minutes). make test never installs anything: without a browser that one test
# skips and says so.
browser:
	@if $(HAVE_BROWSER); then echo "make browser: a Chromium-compatible browser is installed"; exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "make browser: installing needs root and apt-get; install a Chromium-compatible browser yourself (Debian/Ubuntu: sudo apt-get install chromium)" >&2; \
		exit 1; \
	fi; \
	echo "make browser: installing Debian's chromium with apt-get (up to 6 minutes)"; \
	DEBIAN_FRONTEND=noninteractive timeout 360 sh -c 'apt-get -qq -o DPkg::Lock::Timeout=120 update && \
		apt-get -qq -o DPkg::Lock::Timeout=120 install -y --no-install-recommends chromium' && command -v chromium

bench: tools
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Approval latency through the whole local stack (host emulator -> plsgate serve -> ARM
# emulator -> Azurite), issue 15 §6; run by hand, ~15-20 minutes with the defaults. Flags:
# BENCH_LATENCY_FLAGS='-scenarios a,c -arm-latency 0' (see internal/tools/latencybench).
.PHONY: bench-latency
bench-latency: tools
	$(GO) run ./internal/tools/latencybench $(BENCH_LATENCY_FLAGS)

# Deployable folder + zip: host.json, functions/, the deployer's policy as policy.yaml
# (PLSGATE_POLICY's default) and the linux/amd64 binary. POLICY is required and must pass
# `plsgate policy check`: no example policy is shipped as the production policy by accident.
package:
	@if [ -z "$(POLICY)" ]; then \
		echo "make package: POLICY is required: make package POLICY=my-policy.yaml (start from one of examples/policies/)" >&2; exit 2; fi
	@if [ ! -f "$(POLICY)" ]; then echo "make package: POLICY=$(POLICY): no such file" >&2; exit 2; fi
	$(GO) run . policy check "$(POLICY)"
	rm -rf dist/plsgate dist/plsgate.zip
	mkdir -p dist/plsgate
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/plsgate/plsgate .
	cp host.json dist/plsgate/
	cp -r functions/* dist/plsgate/   # the host wants each function folder at the app root
	cp "$(POLICY)" dist/plsgate/policy.yaml
	$(GO) run ./internal/tools/zipdir dist/plsgate dist/plsgate.zip
	@ls -l dist/plsgate/plsgate dist/plsgate.zip

# The demo runs on plsgate-dev and starts the shipped bin/plsgate as its handler.
demo: tools build dev
	bin/plsgate-dev demo --plsgate bin/plsgate

clean:
	rm -rf bin dist
