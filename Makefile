# ferry — make help lists the targets.
SHELL := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X github.com/ferry-ml/ferry/internal/version.Version=$(VERSION) -X github.com/ferry-ml/ferry/internal/version.Commit=$(COMMIT)
GO      ?= go
# Where hack/setup-host.sh installs Go when the host has no Go 1.26+.
export PATH := $(PATH):/usr/local/go/bin
export CGO_ENABLED := 0
# One build cache for bin/ferry, vet and the e2e test binary: the same
# CGO_ENABLED=0 -trimpath configuration compiles each dependency once.
# (`make test` needs CGO_ENABLED=1 -race, a configuration of its own.)
BUILDFLAGS := -trimpath

.PHONY: help build release test python-test lint bench e2e node-image conformance clean web web-deps web-test

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/ferry (static, trimmed, version stamped)
	$(GO) build $(BUILDFLAGS) -ldflags "$(LDFLAGS)" -o bin/ferry ./cmd/ferry

release: ## every platform's archive (linux, darwin, windows; amd64, arm64) carrying the Linux builds, with SHA256SUMS, into dist/
	./hack/release.sh

test: ## unit and integration tests with -race, the Python SDK's tests, then lint
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...
	$(MAKE) python-test
	$(MAKE) web-test
	$(MAKE) lint

python-test: build ## the Python SDK (python/): mypy --strict, then its tests against a real ferry server from bin/ferry
	mypy --strict python/ferry
	FERRY_BIN=$(CURDIR)/bin/ferry python3 -m unittest discover -s python/tests -v
	python3 -m unittest discover -s python/serving -p 'test_*.py' -v

lint: ## gofmt, go vet, staticcheck (also the e2e code, behind -tags e2e)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(BUILDFLAGS) ./...
	$(GO) vet $(BUILDFLAGS) -tags e2e ./e2e/
	$(GO) tool staticcheck ./...
	$(GO) tool staticcheck -tags e2e ./e2e/

# The dashboard (web/): npm ci from the lockfile, only when it changed (a
# stamp in node_modules), with npm's cache in $(NPM_CACHE). Its build is
# committed in runtime/dashboard/dist, so `go build` needs no npm.
NPM_CACHE ?= $(HOME)/.npm
NPM := npm --prefix web --cache $(NPM_CACHE) --no-audit --no-fund
web/node_modules/.ferry-lock: web/package-lock.json
	$(NPM) ci --prefer-offline
	cp web/package-lock.json $@

web-deps: web/node_modules/.ferry-lock
	$(NPM) run gen

web: web-deps ## build the dashboard into runtime/dashboard/dist (typed client from api/v1/openapi.json, tsc, vite)
	$(NPM) run build

web-test: web-deps build ## dashboard: committed build current, tsc, Vitest, initial JS size, browser tests in Chromium against bin/ferry
	cd web && npx tsc --noEmit && rm -rf /tmp/ferry-web-check && npx vite build --logLevel warn --outDir /tmp/ferry-web-check
	@diff -r runtime/dashboard/dist /tmp/ferry-web-check >/dev/null || { echo "runtime/dashboard/dist is stale: run make web and commit it"; diff -rq runtime/dashboard/dist /tmp/ferry-web-check; exit 1; }
	cd web && npx vitest run
	node web/scripts/size.mjs
	FERRY_BIN=$(CURDIR)/bin/ferry node --test web/e2e/

bench: ## benchmarks (API and store throughput, audit paging at 1M rows)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./store/... ./runtime/...

clean: ## remove build outputs
	rm -rf bin

e2e: build web-deps ## end-to-end: real kind clusters from ferry's node image (builds it if needed; web-deps for the browser tests)
	./bin/ferry node-image build
	FERRY_BIN=$(CURDIR)/bin/ferry $(GO) test $(BUILDFLAGS) -tags e2e -count=1 -timeout 80m -v ./e2e/

node-image: build ## build (or reuse) the kind node image from the Debian mirror and the Go module proxy
	./bin/ferry node-image build

conformance: node-image ## upstream e2e specs (sig-network and sig-storage [Conformance], NetworkPolicy) on a 3-node ferry cluster; not in CI (SETS="network storage netpol")
	./hack/conformance.sh $(SETS)
