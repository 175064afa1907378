#!/usr/bin/env bash
# Runs the README's "First call" as a new user would: the binary `make run` builds,
# serving with --migrate on a fresh database, then the README's own commands,
# copied out of README.md (only the port is changed to a free one). Fails unless the
# outcome answers 201, and a second try 409 outcome_exists. Part of CI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "first-call: needs $tool (apt-get install $tool)" >&2; exit 1; }
done

admin=${SCHEMA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
db=callsvc_firstcall_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
export DATABASE_URL="${admin%%/postgres\?*}/$db?sslmode=disable"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
server=

cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  psql "$admin" -X -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

make --no-print-directory build >/dev/null
bin/callsvc serve --addr "127.0.0.1:$port" --migrate 2>"$work/server.log" &
server=$!
for _ in $(seq 100); do
  curl -fsS "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

# The README's block, as written, pointed at our port.
sed -n '/^## First call/,/^## /p' README.md | sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' |
  sed "s/localhost:8080/127.0.0.1:$port/g" >"$work/first-call.sh"
printf '\n# and again: the outcome is decided once\ncurl -s -X POST 127.0.0.1:%s/v1/calls/$CALL/outcome -H "$H" -H "Content-Type: application/json" -d %s\n' \
  "$port" "'{\"outcomeType\": \"Meeting_Booked\"}'" >>"$work/first-call.sh"
out=$(bash -euo pipefail "$work/first-call.sh")

if ! grep -q '^HTTP/1.1 201' <<<"$out" || ! grep -q '"code":"outcome_exists"' <<<"$out"; then
  echo "first-call: the README's example did not give 201 then 409 outcome_exists:" >&2
  echo "$out" >&2
  sed 's/^/  server: /' "$work/server.log" >&2
  exit 1
fi
echo "first-call: the README's First call works: outcome 201, then 409 outcome_exists"
