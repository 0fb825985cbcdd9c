#!/usr/bin/env bash
# Long run: transfers at a steady rate for a while, with the latency of
# each minute and, every 30 s, the head, the data directory's size and the
# node's RSS (scripts/bench.sh SAMPLE_EVERY). Called by `make soak`.
#
#   SOAK_MINUTES [30]  how long
#   SOAK_RATE [2000]   tx/s (pick about 70 % of the max rate `make bench` gives)
#   NODES [1], SENDERS [2000], OUT_DIR [build/soak/<date>], NODE_ARGS: as bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_RATE=${SOAK_RATE:-2000}
export OUT_DIR=${OUT_DIR:-build/soak/$(date +%Y%m%d-%H%M%S)}
export RUNS=steady SAMPLE_EVERY=${SAMPLE_EVERY:-30} SENDERS=${SENDERS:-2000}
export STEADY_RATE=$SOAK_RATE STEADY_TXS=$((SOAK_RATE * SOAK_MINUTES * 60)) STEADY_BATCH=${STEADY_BATCH:-10}
export BENCH_ARGS="${BENCH_ARGS:-} --window 60s"
./scripts/bench.sh
echo
echo "soak: samples ($OUT_DIR/samples.tsv):"
column -t "$OUT_DIR/samples.tsv" 2>/dev/null || cat "$OUT_DIR/samples.tsv"
