#!/usr/bin/env bash
# make demo: a confidential supply chain (confidential/examples) on a fresh
# --dev node. Starts the node on free ports, runs the demo, stops the node.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin/cocogeth}
dir=$(mktemp -d)
freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
port=$(freeport)
wsport=$(freeport)
"$BIN" --dev --datadir "$dir" --http.port "$port" --ws.port "$wsport" >"$dir/node.log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null; wait $node_pid 2>/dev/null; rm -rf "$dir"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
	if curl -sf -H 'Content-Type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$url" >/dev/null; then
		break
	fi
	sleep 0.2
done
(cd confidential/examples && npm ci --no-audit --no-fund --loglevel=error)
node confidential/examples/demo.mjs "$url"
