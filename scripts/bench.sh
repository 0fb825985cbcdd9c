#!/usr/bin/env bash
# Load benchmark: starts a fresh single dev node on free loopback ports, runs
# cocobench against it and prints the results. Called by `make bench` (after
# `make build`).
#
# Runs (RUNS, in this order by default):
#   transfer  max-rate EIP-1559 transfers        (TXS txs, SENDERS senders)
#   erc20     max-rate ERC20 transfer() calls    (ERC20_TXS txs)
#   steady    transfers at STEADY_RATE tx/s, for latency (STEADY_TXS txs)
#
# Options (environment variables, defaults in brackets):
#   TXS [50000]  SENDERS [500]  BATCH [100]  CONNS [8]  ERC20_TXS [$TXS]
#   STEADY_RATE [1000]  STEADY_TXS [20000]  STEADY_BATCH [10]
#   RUNS ["transfer erc20 steady"]
#   TIMEOUT [60s]        cocobench --timeout (give up after this long without inclusions)
#   DURATION []          cocobench --duration cap per run (empty = none)
#   PROFILE [0]          1: take a CPU profile of the node during each max-rate run
#                        (needs the node's --pprof flags; skipped if it has none)
#   PROFILE_SECONDS [5]
#   OUT_DIR [build/bench/<date>]  results: <run>.json, <run>.txt, <run>.log, node.log
#   NODE_BIN [build/bin/cocogeth]  BENCH_BIN [build/bin/cocobench]
#   NODE_KIND [cocogeth]  "geth" starts NODE_BIN as `geth --dev --dev.period 0`
#                         and funds from geth's dev key, for a baseline;
#                         "refnode" starts NODE_BIN as go-ethereum's own dev node
#                         (test/js/refnode: eth service, legacy pool, simulated
#                         beacon), the baseline of `make bench`
#   NODE_ARGS []  extra node flags     BENCH_ARGS []  extra cocobench flags
#   KEY []        funder private key (default: the node's dev key)
#   STARTUP_TIMEOUT [60]  seconds to wait for the node's RPC
#   KEEP_DATADIR [0]      1: keep the node's data directory
#   SETTLE [15]           seconds of idle between runs (background indexing, compaction)
#   NODES [1]             3 (or more): a Raft cluster started with scripts/devnet.sh,
#                         load spread across all nodes round-robin
#   SAMPLE_EVERY [0]      seconds: also record, in OUT_DIR/samples.tsv, the head,
#                         the data directory's bytes and the largest node RSS
#                         that often while the runs go (0 = no); see scripts/soak.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

NODE_BIN=${NODE_BIN:-build/bin/cocogeth}
BENCH_BIN=${BENCH_BIN:-build/bin/cocobench}
NODE_KIND=${NODE_KIND:-cocogeth}
TXS=${TXS:-50000}
SENDERS=${SENDERS:-500}
BATCH=${BATCH:-100}
CONNS=${CONNS:-8}
ERC20_TXS=${ERC20_TXS:-$TXS}
STEADY_RATE=${STEADY_RATE:-1000}
STEADY_TXS=${STEADY_TXS:-20000}
STEADY_BATCH=${STEADY_BATCH:-10}
RUNS=${RUNS:-transfer erc20 steady}
TIMEOUT=${TIMEOUT:-60s}
DURATION=${DURATION:-}
PROFILE=${PROFILE:-0}
PROFILE_SECONDS=${PROFILE_SECONDS:-5}
OUT_DIR=${OUT_DIR:-build/bench/$(date +%Y%m%d-%H%M%S)}
NODE_ARGS=${NODE_ARGS:-}
BENCH_ARGS=${BENCH_ARGS:-}
KEY=${KEY:-}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-60}
KEEP_DATADIR=${KEEP_DATADIR:-0}
NODES=${NODES:-1}
SETTLE=${SETTLE:-15}
SAMPLE_EVERY=${SAMPLE_EVERY:-0}

for bin in "$NODE_BIN" "$BENCH_BIN"; do
	if [[ ! -x $bin ]]; then
		echo "bench: $bin not found; run 'make build' first" >&2
		exit 1
	fi
done
mkdir -p "$OUT_DIR"

# free_port prints a loopback TCP port nobody listens on (and that this
# script has not handed out yet).
USED_PORTS=" "
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 40000))
		[[ $USED_PORTS == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			USED_PORTS+="$p "
			echo "$p"
			return 0
		fi
	done
	echo "bench: no free port found" >&2
	return 1
}

rpc() { # rpc URL METHOD -> JSON response on stdout
	curl -sf --max-time 5 -H 'Content-Type: application/json' \
		--data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":[]}" "$1"
}

DATADIR=$(mktemp -d "${TMPDIR:-/tmp}/cocobench-node.XXXXXX")
NODE_PID=""
SAMPLER_PID=""
cleanup() {
	local rc=$?
	if [[ -n $SAMPLER_PID ]]; then
		kill "$SAMPLER_PID" 2>/dev/null || true
		wait "$SAMPLER_PID" 2>/dev/null || true
	fi
	if [[ -n $NODE_PID ]] && kill -0 "$NODE_PID" 2>/dev/null; then
		kill -TERM "$NODE_PID" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do
			kill -0 "$NODE_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$NODE_PID" 2>/dev/null; then
			echo "bench: node did not stop in 15s; killing it" >&2
			kill -KILL "$NODE_PID" 2>/dev/null || true
		fi
		wait "$NODE_PID" 2>/dev/null || true
	fi
	if [[ $KEEP_DATADIR == 1 ]]; then
		echo "bench: node data kept in $DATADIR" >&2
	else
		rm -rf "$DATADIR"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

HTTP_PORT=$(free_port)
WS_PORT=$(free_port)
HTTP_URL="http://127.0.0.1:$HTTP_PORT"
WS_URL="ws://127.0.0.1:$WS_PORT"
RPC_URLS=("$HTTP_URL")

node_args=(--datadir "$DATADIR"
	--http --http.addr 127.0.0.1 --http.port "$HTTP_PORT"
	--ws --ws.addr 127.0.0.1 --ws.port "$WS_PORT")
case $NODE_KIND in
cocogeth)
	# shellcheck disable=SC2054 # the commas belong to --http.api's value
	node_args=(--dev "${node_args[@]}")
	;;
refnode)
	# The pool as large as cocogeth's (--txpool.* defaults), or geth's
	# legacy pool drops most of the load.
	node_args=(--dev --datadir "$DATADIR" --http.port "$HTTP_PORT" --ws.port "$WS_PORT"
		--txpool.globalslots 500000 --txpool.accountslots 16384 --txpool.globalqueue 100000 --txpool.accountqueue 1024)
	;;
geth)
	# shellcheck disable=SC2054 # the commas belong to --http.api's value
	node_args=(--dev --dev.period 0 "${node_args[@]}"
		--http.api eth,net,web3,txpool --ws.api eth,net,web3
		--nodiscover --maxpeers 0)
	# geth --dev funds this well-known key when its keystore is empty.
	KEY=${KEY:-0xb71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291}
	;;
*)
	echo "bench: unknown NODE_KIND $NODE_KIND (want cocogeth, refnode or geth)" >&2
	exit 1
	;;
esac
NODE_HELP=$("$NODE_BIN" --help 2>&1 || true)
if [[ $NODE_HELP == *"--ipcdisable"* ]]; then
	node_args+=(--ipcdisable)
fi

PPROF_URL=""
if [[ $PROFILE == 1 ]]; then
	if [[ $NODE_HELP == *"--pprof.port"* ]]; then
		PPROF_PORT=$(free_port)
		node_args+=(--pprof --pprof.addr 127.0.0.1 --pprof.port "$PPROF_PORT")
		PPROF_URL="http://127.0.0.1:$PPROF_PORT"
	else
		echo "bench: PROFILE=1 but $NODE_BIN has no --pprof.port flag; no profile will be taken" >&2
	fi
fi
# shellcheck disable=SC2206 # NODE_ARGS is split on purpose
node_args+=($NODE_ARGS)

if ((NODES > 1)); then
	# A cluster: devnet.sh lays out ports from a base (http base+10i, ws +1,
	# raft RAFT_BASE+i); pick bases whose ports are free.
	pick_base() {
		local b i ok
		for ((i = 0; i < 100; i++)); do
			b=$((20000 + RANDOM % 35000))
			ok=1
			for ((j = 0; j < 100 + NODES + 1; j++)); do
				if (exec 3<>"/dev/tcp/127.0.0.1/$((b + j))") 2>/dev/null; then ok=0; break; fi
			done
			((ok)) && { echo "$b"; return 0; }
		done
		return 1
	}
	BASE=$(pick_base) # http/ws at BASE+10i(+1), raft at BASE+100+i
	RAFT_BASE=$((BASE + 100))
	RPC_URLS=()
	for ((i = 0; i < NODES; i++)); do RPC_URLS+=("http://127.0.0.1:$((BASE + 10 * i))"); done
	HTTP_URL=${RPC_URLS[0]}
	WS_URL="ws://127.0.0.1:$((BASE + 1))"
	echo "bench: starting a $NODES-node cluster (scripts/devnet.sh) at $HTTP_URL..."
	BIN=$NODE_BIN N=$NODES DIR=$DATADIR BASE_PORT=$BASE RAFT_BASE=$RAFT_BASE RESET=1 EXTRA_ARGS="$NODE_ARGS" \
		"$ROOT/scripts/devnet.sh" >"$OUT_DIR/node.log" 2>&1 &
	NODE_PID=$!
else
	echo "bench: starting $NODE_BIN ${node_args[*]}"
	"$NODE_BIN" "${node_args[@]}" >"$OUT_DIR/node.log" 2>&1 &
	NODE_PID=$!
fi

deadline=$((SECONDS + STARTUP_TIMEOUT))
chain_id() { # prints the nodes' chain id (hex) once every node answers, or nothing
	local out id=""
	# Every node: the others open their RPC only once they have fetched
	# the ledger secrets from the first.
	for u in "${RPC_URLS[@]}"; do
		out=$(rpc "$u" eth_chainId 2>/dev/null || true)
		[[ $out =~ \"result\":\"(0x[0-9a-fA-F]+)\" ]] || return 0
		id=${BASH_REMATCH[1]}
	done
	echo "$id"
}
until [[ -n $(chain_id) ]]; do
	if ! kill -0 "$NODE_PID" 2>/dev/null; then
		echo "bench: the node exited during startup; last log lines:" >&2
		tail -n 30 "$OUT_DIR/node.log" >&2
		NODE_PID=""
		exit 1
	fi
	if ((SECONDS >= deadline)); then
		echo "bench: no answer to eth_chainId on $HTTP_URL after ${STARTUP_TIMEOUT}s; last log lines:" >&2
		tail -n 30 "$OUT_DIR/node.log" >&2
		exit 1
	fi
	sleep 0.2
done
echo "bench: node up at $HTTP_URL (ws $WS_URL), chain id $(chain_id)"

# The node processes whose CPU per committed transaction cocobench reports.
CPU_ARGS=()
NODE_PIDS=()
if ((NODES > 1)); then
	# Name the leader once one is elected (a few seconds at most).
	leader=0
	for ((try = 0; try < 50 && leader == 0; try++)); do
		for ((i = 1; i <= NODES; i++)); do
			role=$(rpc "${RPC_URLS[$((i - 1))]}" raft_role 2>/dev/null || true)
			[[ $role == *'"leader"'* ]] && leader=$i
		done
		((leader > 0)) || sleep 0.2
	done
	for ((i = 1; i <= NODES; i++)); do
		pid=$(pgrep -f -- "--datadir $DATADIR/node$i --http" | head -n 1 || true)
		[[ -n $pid ]] || continue
		name="node$i"
		((i == leader)) && name="node$i (leader)"
		CPU_ARGS+=(--node-pid "$pid" --node-name "$name")
		NODE_PIDS+=("$pid")
	done
else
	CPU_ARGS=(--node-pid "$NODE_PID" --node-name "$NODE_KIND")
	NODE_PIDS=("$NODE_PID")
fi

# sample records, every SAMPLE_EVERY seconds: seconds since start, head
# block, bytes under the data directory, largest node RSS (KiB).
sample() {
	local t0=$SECONDS out head disk rss r p
	printf 'seconds\thead\tdisk_bytes\tmax_rss_kib\n' >"$OUT_DIR/samples.tsv"
	while sleep "$SAMPLE_EVERY"; do
		out=$(rpc "$HTTP_URL" eth_blockNumber 2>/dev/null || true)
		head=0
		[[ $out =~ \"result\":\"(0x[0-9a-fA-F]+)\" ]] && head=$((BASH_REMATCH[1]))
		disk=$(du -sb "$DATADIR" 2>/dev/null | cut -f1)
		rss=0
		for p in "${NODE_PIDS[@]}"; do
			r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
			((${r:-0} > rss)) && rss=$r
		done
		printf '%d\t%d\t%s\t%s\n' $((SECONDS - t0)) "$head" "${disk:-0}" "$rss" >>"$OUT_DIR/samples.tsv"
	done
}
if ((SAMPLE_EVERY > 0)); then
	sample &
	SAMPLER_PID=$!
fi

common_args=(--ws "$WS_URL" --senders "$SENDERS" --conns "$CONNS" --timeout "$TIMEOUT")
for u in "${RPC_URLS[@]}"; do common_args+=(--rpc "$u"); done
[[ -n $KEY ]] && common_args+=(--key "$KEY")
[[ -n $DURATION ]] && common_args+=(--duration "$DURATION")
# shellcheck disable=SC2206 # BENCH_ARGS is split on purpose
common_args+=($BENCH_ARGS "${CPU_ARGS[@]}")

FAILED=()
DONE=()
run_bench() { # run_bench NAME ARGS...
	local name=$1
	shift
	local args=("${common_args[@]}" --label "$name" --json "$OUT_DIR/$name.json" "$@")
	echo
	echo "bench: === $name: cocobench ${args[*]}"
	# The summary (stdout) goes to NAME.txt, the logs (stderr) to NAME.log;
	# both are shown too.
	if "$BENCH_BIN" "${args[@]}" 2> >(tee "$OUT_DIR/$name.log" >&2) | tee "$OUT_DIR/$name.txt"; then
		DONE+=("$name")
	else
		echo "bench: run $name failed (see $OUT_DIR/$name.log)" >&2
		FAILED+=("$name")
	fi
	if ! kill -0 "$NODE_PID" 2>/dev/null; then
		echo "bench: the node died; last log lines:" >&2
		tail -n 30 "$OUT_DIR/node.log" >&2
		NODE_PID=""
		exit 1
	fi
}

PROF=()
profile_for() { # profile_for NAME: sets PROF to the cocobench profiling flags
	PROF=()
	if [[ -n $PPROF_URL ]]; then
		PROF=(--node.pprof "$PPROF_URL" --node.cpuprofile "$OUT_DIR/$1.cpu.pprof"
			--node.cpuprofile.seconds "$PROFILE_SECONDS")
	fi
}

first_run=1
for run in $RUNS; do
	# Let the nodes finish the previous run's background work (log
	# indexing, compaction) so each run measures its own load.
	if ((first_run == 0 && SETTLE > 0)); then
		echo "bench: settling ${SETTLE}s before $run"
		sleep "$SETTLE"
	fi
	first_run=0
	case $run in
	transfer)
		profile_for transfer
		run_bench transfer --mode transfer --txs "$TXS" --rate 0 --batch "$BATCH" "${PROF[@]}"
		;;
	erc20)
		profile_for erc20
		run_bench erc20 --mode erc20 --txs "$ERC20_TXS" --rate 0 --batch "$BATCH" "${PROF[@]}"
		;;
	steady)
		run_bench steady --mode transfer --txs "$STEADY_TXS" --rate "$STEADY_RATE" --batch "$STEADY_BATCH"
		;;
	*)
		echo "bench: unknown run $run (want transfer, erc20 or steady)" >&2
		FAILED+=("$run")
		;;
	esac
done

echo
echo "bench: results in $OUT_DIR"
if command -v jq >/dev/null && ((${#DONE[@]} > 0)); then
	printf '%-10s %10s %10s %9s %9s %9s %9s %8s %8s %9s %9s %9s\n' \
		run committed/s submitted/s p50_ms p90_ms p99_ms max_ms rejected missing txs/block cpu_us/tx recov/tx
	for name in "${DONE[@]}"; do
		jq -r --arg n "$name" '[$n, (.committed_tps|floor), (.submitted_tps|floor),
			(.latency.p50_ms|floor), (.latency.p90_ms|floor), (.latency.p99_ms|floor), (.latency.max_ms|floor),
			.rejected, .missing, (.mean_txs_per_block*10|floor/10),
			((.node_cpu // []) | map(.cpu_us_per_tx) | add // 0 | floor),
			((.node_cpu // []) | map(.recoveries_per_tx) | add // 0 | .*100|floor/100)] | @tsv' "$OUT_DIR/$name.json" |
			awk -F'\t' '{printf "%-10s %12s %11s %9s %9s %9s %9s %8s %8s %9s %9s %9s\n", $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12}'
	done
	echo "(cpu: all node processes together; per node in NAME.txt, one recovery measured in the run)"
fi
for f in "$OUT_DIR"/*.cpu.pprof; do
	if [[ -s $f ]]; then
		echo "bench: node CPU profile $f (go tool pprof -top $NODE_BIN $f)"
	fi
done
if ((${#FAILED[@]} > 0)); then
	echo "bench: failed runs: ${FAILED[*]}" >&2
	exit 1
fi
