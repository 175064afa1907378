#!/usr/bin/env bash
# The third-party contract check, the body of `make contract` (and part of CI):
# the end-to-end tests of cmd/callsvc with every request sent through Stoplight
# Prism's validation proxy (`prism proxy`, without --errors, so the server
# answers bad requests itself), failing on any answer Prism finds in violation
# of api/openapi.yaml. kin-openapi validates requests inside the server, so it
# cannot be the judge of the server's answers; Prism is another implementation.
#
#   scripts/contract.sh                     # every test of cmd/callsvc
#   CONTRACT_RUN=TestBadInput CONTRACT_FLAGS=-v scripts/contract.sh
#
# Contract with the test code (cmd/callsvc/prism_test.go):
#   CALLSVC_PRISM_URL     Prism's address; the tests send every request there
#                         (HEAD excepted: it is not in the spec)
#   CALLSVC_PRISM_HOP     where Prism forwards to: the test binary listens there
#                         and sends each test's own request, byte for byte, to
#                         the test's server (Prism re-encodes JSON bodies)
#   CALLSVC_PRISM_REPORT  the test binary appends "METHOD ROUTE STATUS VERDICT"
#                         per exchange; this script sums it up
# On exit, also after a failure or Ctrl-C, Prism's process group is stopped.
# Needs: go, npx (Node 20), python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PRISM_VERSION=5.14.2 # the last release that runs on Node 20

log() { printf 'contract: %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d)
prism_pid=
cleanup() {
  if [[ -n $prism_pid ]]; then
    kill -- "-$prism_pid" 2>/dev/null || true # its process group: npx, sh, node
    wait "$prism_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

prism_port=$(free_port)
hop_port=$(free_port)
log "starting Prism $PRISM_VERSION on 127.0.0.1:$prism_port, forwarding to 127.0.0.1:$hop_port"
setsid npx --yes "@stoplight/prism-cli@$PRISM_VERSION" proxy api/openapi.yaml "http://127.0.0.1:$hop_port" \
  --host 127.0.0.1 --port "$prism_port" >"$work/prism.log" 2>&1 &
prism_pid=$!
for _ in $(seq 600); do
  grep -q 'Prism is listening' "$work/prism.log" && break
  kill -0 "$prism_pid" 2>/dev/null || { cat "$work/prism.log" >&2; log "Prism exited"; exit 1; }
  sleep 0.5
done
grep -q 'Prism is listening' "$work/prism.log" || { tail -20 "$work/prism.log" >&2; log "Prism did not start in 5 minutes"; exit 1; }

report=$work/report
touch "$report"
status=0
CALLSVC_PRISM_URL="http://127.0.0.1:$prism_port" CALLSVC_PRISM_HOP="127.0.0.1:$hop_port" CALLSVC_PRISM_REPORT="$report" \
  go test -count=1 ${CONTRACT_FLAGS:-} -run "${CONTRACT_RUN:-.}" ./cmd/callsvc || status=$?

exchanges=$(wc -l <"$report")
violations=$(grep -c ' VIOLATION ' "$report" || true)
log "$exchanges answers checked by Prism over these methods, routes and statuses (count):"
awk '{ print $1, $2, $3 }' "$report" | sort | uniq -c | sort -k2,3 -k4n | sed 's/^/  /' >&2
if ((violations > 0)); then
  log "$violations answers violate api/openapi.yaml:"
  grep ' VIOLATION ' "$report" | sort | uniq -c | sed 's/^/  /' >&2
  status=1
fi
((exchanges > 0)) || { log "no answer went through Prism"; status=1; }
log "$violations response violations"
exit "$status"
