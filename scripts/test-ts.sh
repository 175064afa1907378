#!/usr/bin/env bash
# make test-ts: the TypeScript client's tests (clients/typescript: npm ci, then npm
# test, which type-checks strictly and runs node --test) against the real server:
# bin/callsvc serving a scratch database migrated by the project's migrations
# (cmd/scratchdb) on a free 127.0.0.1 port, with an organization made by
# `callsvc org create` and webhooks allowed to reach loopback (the tests' receiver).
# The server is stopped and the database dropped whatever happens, failures and
# Ctrl-C included. Part of CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${1:-} != --inside-scratchdb ]]; then
  make --no-print-directory build
  (cd clients/typescript && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.installed-package-lock.json)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  go build -o "$work/scratchdb" ./cmd/scratchdb
  "$work/scratchdb" -- "$0" --inside-scratchdb
  exit
fi

# Here SCRATCH_DATABASE_URL is a fresh, migrated database, dropped by scratchdb after.
export DATABASE_URL=$SCRATCH_DATABASE_URL
log=$(mktemp)
server=
stop() {
  if [[ -n $server ]]; then
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -f "$log"
}
trap stop EXIT
trap 'exit 130' INT TERM

# Webhooks may reach the tests' receiver on 127.0.0.1, and a refused attempt is
# retried at once (test/webhook-delivery.test.ts).
CALLSVC_WEBHOOK_ALLOW_PRIVATE=true CALLSVC_WEBHOOK_RETRY_MIN=50ms \
  bin/callsvc serve --addr 127.0.0.1:0 2>"$log" &
server=$!
addr=
for _ in $(seq 300); do
  addr=$(sed -n 's/.*"msg":"listening","addr":"\([^"]*\)".*/\1/p' "$log")
  [[ -n $addr ]] && break
  kill -0 "$server" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $addr ]]; then
  echo "test-ts: the server did not start:" >&2
  cat "$log" >&2
  exit 1
fi
key=$(bin/callsvc org create --name "TypeScript client tests" | sed -n 's/.*"apiKey":"\([^"]*\)".*/\1/p')
[[ -n $key ]] || { echo "test-ts: org create gave no API key" >&2; exit 1; }

echo "test-ts: npm test against bin/callsvc on $addr ($(bin/callsvc version | head -1))"
rc=0
(cd clients/typescript && CALLSVC_URL="http://$addr" CALLSVC_API_KEY="$key" npm test) || rc=$?
if [[ $rc != 0 ]]; then
  echo "test-ts: npm test failed (exit $rc); the server's last log lines:" >&2
  tail -n 20 "$log" >&2
fi
exit $rc
