#!/usr/bin/env bash
# make enclave: builds cocogeth for an SGX enclave with ego's toolchain and
# signs it with enclave.json (key enclave-private.pem, created by `ego sign`
# on first use; keep it: it is the signer id of every release).
#
# Needs ego's CLI (`ego-go`, `ego`), which comes as a snap or .deb package
# on an SGX machine; CI never needs it. Where it is missing this script says
# so and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v ego-go >/dev/null 2>&1 || missing+=(ego-go)
command -v ego >/dev/null 2>&1 || missing+=(ego)
if [ ${#missing[@]} -gt 0 ]; then
	cat >&2 <<MSG
make enclave: ego's toolchain is not installed here (missing: ${missing[*]}).
Install it on a machine with SGX (Ubuntu: 'sudo snap install ego-dev --classic'
or the ego .deb), then run 'make enclave' again. Everything else (make build,
make test, make devnet) runs without it.
MSG
	exit 1
fi
mkdir -p build/bin
CGO_ENABLED=1 ego-go build -trimpath -o build/bin/cocogeth-enclave ./cmd/cocogeth
ego sign enclave.json
echo
echo "Signed build/bin/cocogeth-enclave. Its code identity, for a governance proposal:"
echo "  unique id (MRENCLAVE): $(ego uniqueid build/bin/cocogeth-enclave)"
echo "  signer id (MRSIGNER):  $(ego signerid build/bin/cocogeth-enclave)"
echo "Run it with: ego run build/bin/cocogeth-enclave --datadir /data/node ...   (/data is /var/lib/cocogeth on the host)"
