GO      ?= go
BIN     := build/bin
GOFLAGS ?=

.PHONY: build test test-go test-js devnet bench lint clean

build:
	$(GO) build -o $(BIN)/cocogeth ./cmd/cocogeth
	$(GO) build -o $(BIN)/cocobench ./cmd/cocobench

test: build
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) test-js

test-js: build
	cd test/js && npm ci --no-audit --no-fund
	cd test/js && COCOGETH_BIN=$(CURDIR)/$(BIN)/cocogeth node --test --test-concurrency=1

devnet: build
	$(BIN)/cocogeth --dev --datadir build/devnet

bench: build
	./scripts/bench.sh

clean:
	rm -rf build
