#!/usr/bin/env bash
# Ratios of one `make bench`: DIR holds 1vn/, 3vn/ and refnode/ (each a
# scripts/bench.sh OUT_DIR). Prints, per load, the node CPU per committed
# transaction in µs and in signature recoveries (measured in the same run),
# cocogeth against go-ethereum's own dev node on the same load, three VNs
# against one, and each VN's share of a cluster's CPU.
set -euo pipefail
DIR=${1:?usage: bench-compare.sh DIR}
command -v jq >/dev/null || { echo "bench-compare: needs jq" >&2; exit 1; }

val() { # val FILE JQ: prints the value or "-"
	[[ -s $1 ]] && jq -r "$2 // \"-\"" "$1" || echo "-"
}
ratio() { # ratio A B (2 decimals), "-" if either is missing
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'
}

echo
echo "== make bench: ratios measured in the same run ($DIR)"
printf '%-9s %10s %10s %10s %9s %10s %10s %9s %9s\n' load "1vn tx/s" "3vn tx/s" "3vn/1vn" "cpu/tx" "recov/tx" "ref cpu/tx" "ref recov" "vs ref"
for run in transfer erc20; do
	one="$DIR/1vn/$run.json" three="$DIR/3vn/$run.json" ref="$DIR/refnode/$run.json"
	t1=$(val "$one" '.committed_tps|floor')
	t3=$(val "$three" '.committed_tps|floor')
	c1=$(val "$one" '.node_cpu[0].cpu_us_per_tx|floor')
	r1=$(val "$one" '.node_cpu[0].recoveries_per_tx*100|floor/100')
	cr=$(val "$ref" '.node_cpu[0].cpu_us_per_tx|floor')
	rr=$(val "$ref" '.node_cpu[0].recoveries_per_tx*100|floor/100')
	printf '%-9s %10s %10s %10s %9s %10s %10s %9s %9s\n' "$run" "$t1" "$t3" "$(ratio "$t3" "$t1")" "$c1" "$r1" "$cr" "$rr" "$(ratio "$c1" "$cr")"
done
for run in transfer erc20; do
	three="$DIR/3vn/$run.json"
	[[ -s $three ]] || continue
	echo
	echo "3 VNs, $run: CPU per committed transaction by node"
	jq -r '.recovery_us as $r | .node_cpu[] | "  \(.name): \(.cpu_us_per_tx|floor) µs/tx = \(.recoveries_per_tx*100|floor/100) recoveries (one: \($r*10|floor/10) µs)"' "$three"
done
