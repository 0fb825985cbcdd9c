GO  ?= go
BIN := build/bin

.PHONY: all build test test-go test-js test-browser test-js-deps test-js-single test-js-cluster devnet devnet-single bench soak lint clean demo enclave

all: build

build:
	$(GO) build -o $(BIN)/cocogeth ./cmd/cocogeth
	$(GO) build -o $(BIN)/cocobench ./cmd/cocobench

# The whole test suite: vet, Go unit and end-to-end tests (real processes),
# then the ethers v6 / web3.js suite against a real node.
test: build
	$(GO) vet ./...
	$(MAKE) test-js
	$(MAKE) test-browser
	$(GO) test -count=1 -timeout 25m ./...

test-go: build
	$(GO) test -count=1 -timeout 25m ./...

# The ethers v6 / web3.js suite twice: against one --dev node, then against
# a follower of a 3-node cluster.
test-js: test-js-single test-js-cluster

test-js-deps:
	cd test/js && npm ci --no-audit --no-fund --loglevel=error
	cd confidential/examples && npm ci --no-audit --no-fund --loglevel=error

# cocogeth built and signed for an SGX enclave with ego (enclave.json);
# says what is missing where ego's toolchain is not installed.
enclave:
	./scripts/enclave.sh

# A confidential supply chain on a fresh --dev node (confidential/examples).
demo: build
	./scripts/demo.sh

test-js-single: build test-js-deps
	cd test/js && COCOGETH_BIN=$(CURDIR)/$(BIN)/cocogeth node --test --test-concurrency=1

# Cluster mode (test/js/lib/cluster.mjs): every test file starts three
# validating nodes and talks to a follower; COCO_TARGET=leader targets the
# leader instead.
test-js-cluster: build test-js-deps
	cd test/js && COCO_CLUSTER=1 COCO_TARGET=$${COCO_TARGET:-follower} COCOGETH_BIN=$(CURDIR)/$(BIN)/cocogeth node --test --test-concurrency=1

# The members' dashboard in headless Chromium (Debian's chromium package,
# or CHROMIUM=/path) against a governed 3-node network; screenshots go to
# build/dashboard-screenshots/ (UPDATE_SCREENSHOTS=1: docs/dashboard/).
test-browser: build test-js-deps
	cd test/js && COCOGETH_BIN=$(CURDIR)/$(BIN)/cocogeth node --test --test-concurrency=1 dashboard.browser.mjs

# A local network of three validating nodes (Raft), data under build/devnet.
devnet: build
	./scripts/devnet.sh

# One node with an ephemeral dev chain (like geth --dev).
devnet-single: build
	$(BIN)/cocogeth --dev

# Load benchmark: committed tx/s, latency and node CPU per transaction on
# 1 node, 3 nodes and go-ethereum's own dev node (test/js/refnode), then the
# ratios measured in this run (scripts/bench-compare.sh).
bench: build
	cd test/js/refnode && $(GO) build -o ../../../$(BIN)/refnode .
	D=build/bench/$$(date +%Y%m%d-%H%M%S); \
	OUT_DIR=$$D/1vn ./scripts/bench.sh && \
	NODES=3 OUT_DIR=$$D/3vn ./scripts/bench.sh && \
	NODE_KIND=refnode NODE_BIN=$(BIN)/refnode RUNS="transfer erc20" OUT_DIR=$$D/refnode ./scripts/bench.sh && \
	./scripts/bench-compare.sh $$D

# Long run at a steady rate: per-minute latency, disk and RSS over time
# (scripts/soak.sh; SOAK_MINUTES, SOAK_RATE).
soak: build
	./scripts/soak.sh

lint:
	gofmt -l $$(git ls-files '*.go')
	$(GO) vet ./...

clean:
	rm -rf build
