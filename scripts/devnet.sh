#!/usr/bin/env bash
# Starts a local network of N validating nodes (default 3) as separate
# processes, with data under one folder, the well-known dev key funded, and
# prints every node's endpoints. Ctrl-C stops them all.
#
#   N=3 DIR=build/devnet BASE_PORT=8545 scripts/devnet.sh
#   PPROF_BASE=6060 gives node i a pprof server on 127.0.0.1:6060+i.
#
# A second run reuses DIR (the chain continues); RESET=1 starts afresh.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin/cocogeth}
N=${N:-3}
DIR=${DIR:-build/devnet}
BASE_PORT=${BASE_PORT:-8545}
RAFT_BASE=${RAFT_BASE:-30400}
CHAIN_ID=${CHAIN_ID:-1337}
DEV_ADDR=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266

[ -x "$BIN" ] || { echo "missing $BIN: run make build" >&2; exit 1; }
[ "${RESET:-0}" = 1 ] && rm -rf "$DIR"
mkdir -p "$DIR"

if [ ! -f "$DIR/genesis.json" ]; then
  vals=""
  for i in $(seq 1 "$N"); do
    key=$("$BIN" nodekey --datadir "$DIR/node$i" 2>/dev/null)
    [ -n "$vals" ] && vals="$vals,"
    vals="$vals{\"id\":\"node$i\",\"raftAddr\":\"127.0.0.1:$((RAFT_BASE + i))\",\"publicKey\":\"$key\"}"
  done
  cat > "$DIR/genesis.json" <<JSON
{
  "config": {
    "chainId": $CHAIN_ID,
    "coco": { "blockTime": "20ms", "maxTxs": 2000, "validators": [ $vals ] }
  },
  "gasLimit": "0x3b9aca00",
  "baseFeePerGas": "0x3b9aca00",
  "alloc": { "$DEV_ADDR": { "balance": "0x33b2e3c9fd0803ce8000000" } }
}
JSON
  for i in $(seq 1 "$N"); do
    "$BIN" init --datadir "$DIR/node$i" "$DIR/genesis.json" 2>"$DIR/node$i.init.log"
  done
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping ${#pids[@]} nodes..."
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "Stopped. Data kept in $DIR (RESET=1 to start afresh)."
}
trap cleanup INT TERM EXIT

for i in $(seq 1 "$N"); do
  http=$((BASE_PORT + 10 * (i - 1))); ws=$((http + 1))
  pprof=()
  [ -n "${PPROF_BASE:-}" ] && pprof=(--pprof --pprof.port $((PPROF_BASE + i)))
  "$BIN" --datadir "$DIR/node$i" --http --http.addr 127.0.0.1 --http.port "$http" \
    --http.api eth,net,web3,txpool,raft,coco --ws --ws.addr 127.0.0.1 --ws.port "$ws" \
    --ws.api eth,net,web3,txpool,raft,coco "${pprof[@]}" ${EXTRA_ARGS:-} >"$DIR/node$i.log" 2>&1 &
  pids+=($!)
  echo "node$i: http://127.0.0.1:$http  ws://127.0.0.1:$ws  raft 127.0.0.1:$((RAFT_BASE + i))  log $DIR/node$i.log"
done
echo "Chain id $CHAIN_ID; funded dev account $DEV_ADDR"
echo "(private key 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80: public, for development only)"
echo "Ctrl-C stops all nodes."
# Wait until one node exits unexpectedly, or for Ctrl-C.
while true; do
  for idx in "${!pids[@]}"; do
    if ! kill -0 "${pids[$idx]}" 2>/dev/null; then
      echo "node$((idx + 1)) exited; see $DIR/node$((idx + 1)).log" >&2
      exit 1
    fi
  done
  sleep 1
done
