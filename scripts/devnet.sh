#!/usr/bin/env bash
# Starts a local network of N validating nodes (default 3) as separate
# processes, with data under one folder, the well-known dev key funded, and
# prints every node's endpoints. Ctrl-C stops them all.
#
#   N=3 DIR=build/devnet BASE_PORT=8545 scripts/devnet.sh
#   PPROF_BASE=6060 gives node i a pprof server on 127.0.0.1:6060+i.
#
# A second run reuses DIR (the chain continues); RESET=1 starts afresh.
#
# GOVERNED=1 writes a constitution instead of a plain validator list: three
# members A, B, C (each owning one of three nodes; N is 3), one participant D,
# voting policy 2-of-3, TEE manifest "simulation". Each member gets a
# recovery key, written to DIR/recovery-A.key etc. (docs/operators.md,
# disaster recovery). Their accounts use public development keys (never for
# value):
#   A 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266  ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
#   B 0x70997970C51812dc3A010C7d01b50e0d17dc79C8  59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
#   C 0x6a5Cf0407d10cc63E5F3E1976aE2DC4faC6C021B  5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3d71ba1bbfd98a9b
#   D 0x90F79bf6EB2c4f870365E785982E1f101E93b906  7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6
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
  owners=(A B C)
  for i in $(seq 1 "$N"); do
    key=$("$BIN" nodekey --datadir "$DIR/node$i" 2>/dev/null)
    [ -n "$vals" ] && vals="$vals,"
    if [ "${GOVERNED:-0}" = 1 ]; then
      vals="$vals{\"id\":\"node$i\",\"owner\":\"${owners[$(( (i - 1) % 3 ))]}\",\"raftAddr\":\"127.0.0.1:$((RAFT_BASE + i))\",\"publicKey\":\"$key\"}"
    else
      vals="$vals{\"id\":\"node$i\",\"raftAddr\":\"127.0.0.1:$((RAFT_BASE + i))\",\"publicKey\":\"$key\"}"
    fi
  done
  if [ "${GOVERNED:-0}" = 1 ]; then
    declare -A rk
    for m in A B C; do
      rm -f "$DIR/recovery-$m.key"
      rk[$m]=$("$BIN" recovery keygen --out "$DIR/recovery-$m.key")
    done
    coco="\"constitution\": {
        \"members\": [
          { \"id\": \"A\", \"accounts\": [\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\"], \"publicKey\": \"0x01\", \"recoveryKey\": \"${rk[A]}\" },
          { \"id\": \"B\", \"accounts\": [\"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\"], \"publicKey\": \"0x02\", \"recoveryKey\": \"${rk[B]}\" },
          { \"id\": \"C\", \"accounts\": [\"0x6a5Cf0407d10cc63E5F3E1976aE2DC4faC6C021B\"], \"publicKey\": \"0x03\", \"recoveryKey\": \"${rk[C]}\" }
        ],
        \"participants\": [ { \"id\": \"D\", \"accounts\": [\"0x90F79bf6EB2c4f870365E785982E1f101E93b906\"] } ],
        \"nodes\": [ $vals ],
        \"teeManifest\": [\"simulation\"],
        \"codeManifest\": [\"0x$(sha256sum "$BIN" | cut -c1-64)\"],
        \"policy\": { \"kind\": \"m-of-n\", \"m\": 2 },
        \"settings\": { \"proposalLifetime\": 100000, \"epochLength\": 100000, \"openSending\": false }
      }"
    alloc="\"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266\": { \"balance\": \"0x33b2e3c9fd0803ce8000000\" },
    \"0x70997970C51812dc3A010C7d01b50e0d17dc79C8\": { \"balance\": \"0x33b2e3c9fd0803ce8000000\" },
    \"0x6a5Cf0407d10cc63E5F3E1976aE2DC4faC6C021B\": { \"balance\": \"0x33b2e3c9fd0803ce8000000\" },
    \"0x90F79bf6EB2c4f870365E785982E1f101E93b906\": { \"balance\": \"0x33b2e3c9fd0803ce8000000\" }"
  else
    coco="\"validators\": [ $vals ]"
    alloc="\"$DEV_ADDR\": { \"balance\": \"0x33b2e3c9fd0803ce8000000\" }"
  fi
  cat > "$DIR/genesis.json" <<JSON
{
  "config": {
    "chainId": $CHAIN_ID,
    "coco": { "blockTime": "20ms", "maxTxs": 2000, $coco }
  },
  "gasLimit": "0x3b9aca00",
  "baseFeePerGas": "0x3b9aca00",
  "alloc": { $alloc }
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
  # A clean stop through each node's IPC socket (cocogeth stop: no OS
  # signal, as enclaves need); SIGTERM only for a node it cannot reach.
  for idx in "${!pids[@]}"; do
    if kill -0 "${pids[$idx]}" 2>/dev/null; then
      "$BIN" stop --datadir "$DIR/node$((idx + 1))" --timeout 30s >/dev/null 2>&1 || kill -TERM "${pids[$idx]}" 2>/dev/null || true
    fi
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  echo "Stopped. Data kept in $DIR (RESET=1 to start afresh)."
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

for i in $(seq 1 "$N"); do
  http=$((BASE_PORT + 10 * (i - 1))); ws=$((http + 1))
  pprof=()
  [ -n "${PPROF_BASE:-}" ] && pprof=(--pprof --pprof.port $((PPROF_BASE + i)))
  "$BIN" --datadir "$DIR/node$i" --http --http.addr 127.0.0.1 --http.port "$http" \
    --http.api eth,net,web3,txpool,raft,coco --ws --ws.addr 127.0.0.1 --ws.port "$ws" \
    --ws.api eth,net,web3,txpool,raft,coco --dashboard "${pprof[@]}" ${EXTRA_ARGS:-} >"$DIR/node$i.log" 2>&1 &
  pids+=($!)
  echo "node$i: http://127.0.0.1:$http  ws://127.0.0.1:$ws  raft 127.0.0.1:$((RAFT_BASE + i))  log $DIR/node$i.log"
  echo "       dashboard http://127.0.0.1:$http/dashboard/"
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
