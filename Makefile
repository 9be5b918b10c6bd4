# plsgate — build, test, package, demo. Needs only Go and Node/npm on the machine:
# everything else (Go modules, the pinned Azurite) is installed by these targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export GOFLAGS := -buildvcs=false

.PHONY: all build tools test unit bench fmt-check vet package demo clean

all: build

build:
	$(GO) build -o bin/plsgate .

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
	$(GO) test -count=1 -race -timeout 12m ./...

unit:
	$(GO) test -count=1 -short ./...

bench: tools
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Deployable folder + zip: host.json, functions/, policy.yaml and the linux/amd64 binary.
package:
	rm -rf dist/plsgate dist/plsgate.zip
	mkdir -p dist/plsgate
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/plsgate/plsgate .
	cp host.json dist/plsgate/
	cp -r functions/* dist/plsgate/   # the host wants each function folder at the app root
	cp examples/policies/webpubsub.yaml dist/plsgate/policy.yaml
	$(GO) run ./internal/tools/zipdir dist/plsgate dist/plsgate.zip
	@ls -l dist/plsgate/plsgate dist/plsgate.zip

demo: tools build
	bin/plsgate dev demo

clean:
	rm -rf bin dist
