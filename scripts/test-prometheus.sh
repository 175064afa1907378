#!/usr/bin/env bash
# A real Prometheus scrape of callsvc (make test-prometheus; CI runs it). Debian's
# prometheus (installed when missing) scrapes `callsvc serve` every second, both on
# 127.0.0.1, while the server decides outcomes on a scratch database (cmd/scratchdb)
# with tracing on, its spans sent to cmd/otlpsink. Then, through Prometheus' HTTP API:
#
#   - up{job="callsvc"} is 1;
#   - callsvc_outcomes_total{result="created"} equals the outcomes made (the 201s
#     the script got, and the rows in call_outcome), per outcome type too; the
#     refusals are counted by their code; the lock-wait histogram counted every
#     decided outcome;
#   - exemplars with trace ids were stored (OpenMetrics negotiated on /metrics);
#
# and `promtool check metrics` finds nothing to say about /metrics, and the sink
# received spans. Everything the script starts is stopped by its PID when it ends,
# also on failure or Ctrl-C; the scratch database is dropped.
#
# Env: SCHEMA_DATABASE_URL  the PostgreSQL server for the scratch database
#      OUTCOMES             outcomes to make (default 12)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OUTCOMES=${OUTCOMES:-12}
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "test-prometheus: $*" >&2; }

if [[ ${1:-} != inner ]]; then
  if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    say "installing Debian's prometheus"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  fi
  for tool in curl jq psql python3; do
    command -v "$tool" >/dev/null || { say "needs $tool"; exit 1; }
  done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  make --no-print-directory build >/dev/null
  go build -o "$work/scratchdb" ./cmd/scratchdb
  go build -o "$work/otlpsink" ./cmd/otlpsink
  TEST_PROMETHEUS_WORK=$work "$work/scratchdb" -- "$0" inner
  exit 0
fi

# Inside the scratch database.
work=$TEST_PROMETHEUS_WORK
db=$SCRATCH_DATABASE_URL
pids=()
# stop_all stops what was started, last first: Prometheus, then the server
# (which flushes its last spans to the sink), then the sink.
stop_all() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
}
fail() {
  say "FAILED: $*"
  for log in callsvc.log prometheus.log otlpsink.log; do
    [[ -s $work/$log ]] && { echo "--- $log (last 20 lines)" >&2; tail -n 20 "$work/$log" >&2; }
  done
  exit 1
}
trap stop_all EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_for WHAT CMD...: run CMD every 0.2 s until it succeeds, for at most 30 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 150); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "$what"
}

# The OTLP sink, the server (tracing every request), Prometheus.
"$work/otlpsink" -addr 127.0.0.1:0 >"$work/otlpsink.log" 2>&1 &
pids+=($!)
wait_for "otlpsink did not start" grep -q 'listening on' "$work/otlpsink.log"
sink=$(sed -n 's/^otlpsink: listening on //p' "$work/otlpsink.log")

port=$(free_port)
api=http://127.0.0.1:$port
DATABASE_URL=$db OTEL_EXPORTER_OTLP_ENDPOINT=http://$sink OTEL_TRACES_SAMPLER=always_on \
  OTEL_BSP_SCHEDULE_DELAY=200 bin/callsvc serve --addr "127.0.0.1:$port" 2>"$work/callsvc.log" &
pids+=($!)
wait_for "callsvc did not become ready" curl -fsS "$api/readyz"

pport=$(free_port)
prom=http://127.0.0.1:$pport
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: callsvc
    static_configs:
      - targets: ['127.0.0.1:$port']
YAML
promtool check config "$work/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" --enable-feature=exemplar-storage \
  --log.level=warn 2>"$work/prometheus.log" &
pids+=($!)
wait_for "prometheus did not become ready" curl -fsS "$prom/-/ready"

# Traffic: outcomes of every type on calls in progress, each decided once; a
# second try on some (409 outcome_exists) and one outcome advisory mode forbids
# (422): the refusals are counted by code, not as outcomes made.
key=$(DATABASE_URL=$db bin/callsvc org create --name Scrape | jq -r .apiKey)
H="Authorization: Bearer $key"
post() { curl -sS -o "$work/body" -w '%{http_code}' -X POST "$api$1" -H "$H" -H 'Content-Type: application/json' -d "$2"; }
body_id() { jq -r .id "$work/body"; }
[[ $(post /v1/prospects '{"name": "Big", "clientCount": 900}') == 201 ]] || fail "create prospect: $(cat "$work/body")"
big=$(body_id)
[[ $(post /v1/prospects '{"name": "Small"}') == 201 ]] || fail "create prospect: $(cat "$work/body")"
small=$(body_id)

types=(Meeting_Booked Follow_up_Scheduled Not_Interested Disqualified)
declare -A made=()
created=0 exists=0
for i in $(seq "$OUTCOMES"); do
  [[ $(post /v1/calls "{\"prospectId\": \"$big\", \"status\": \"in_progress\"}") == 201 ]] || fail "create call: $(cat "$work/body")"
  call=$(body_id)
  type=${types[$((i % 4))]}
  reason=
  [[ $type == Disqualified ]] && reason=', "disqualificationReason": "no budget"'
  [[ $(post "/v1/calls/$call/outcome" "{\"outcomeType\": \"$type\"$reason}") == 201 ]] || fail "outcome: $(cat "$work/body")"
  created=$((created + 1))
  made[$type]=$((${made[$type]:-0} + 1))
  if ((i % 3 == 0)); then
    [[ $(post "/v1/calls/$call/outcome" '{"outcomeType": "Meeting_Booked"}') == 409 ]] || fail "second outcome: $(cat "$work/body")"
    exists=$((exists + 1))
  fi
done
[[ $(post /v1/calls "{\"prospectId\": \"$small\", \"status\": \"in_progress\"}") == 201 ]] || fail "create call: $(cat "$work/body")"
[[ $(post "/v1/calls/$(body_id)/outcome" '{"outcomeType": "Meeting_Booked"}') == 422 ]] || fail "advisory outcome: $(cat "$work/body")"
advisory=1
decided=$((created + exists + advisory))
rows=$(psql "$db" -X -tAc 'SELECT count(*) FROM call_outcome')
((rows == created)) || fail "call_outcome has $rows rows, $created outcomes were made"

# Prometheus' view, once a scrape after the traffic has landed.
query() {
  curl -fsS --get "$prom/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'
}
decided_seen() { [[ $(query 'sum(callsvc_outcomes_total)') == "$decided" ]]; }
wait_for "Prometheus never saw $decided decided outcomes (last: $(query 'sum(callsvc_outcomes_total)'))" decided_seen

expect() { # expect PROMQL WANT
  local got
  got=$(query "$1")
  [[ $got == "$2" ]] || fail "$1 is $got, want $2"
}
expect 'up{job="callsvc"}' 1
expect 'sum(callsvc_outcomes_total{result="created"})' "$created"
for type in "${types[@]}"; do
  expect "sum(callsvc_outcomes_total{result=\"created\",outcome_type=\"$type\"})" "${made[$type]}"
done
expect 'sum(callsvc_outcomes_total{result="outcome_exists"})' "$exists"
expect 'sum(callsvc_outcomes_total{result="outcome_not_allowed_in_advisory_mode"})' "$advisory"
expect 'callsvc_outcome_lock_wait_seconds_count' "$decided"
expect 'sum(http_requests_total{method="POST",route="/v1/calls/:callId/outcome",code="201"})' "$created"
expect 'callsvc_db_pool_max_conns' 32

now=$(date +%s)
exemplars=$(curl -fsS --get "$prom/api/v1/query_exemplars" --data-urlencode 'query=http_request_duration_seconds_bucket' \
  --data-urlencode "start=$((now - 600))" --data-urlencode "end=$((now + 60))" |
  jq '[.data[].exemplars[] | select(.labels.trace_id | test("^[0-9a-f]{32}$"))] | length')
((exemplars > 0)) || fail "Prometheus stored no exemplar with a trace_id"

lint=$(curl -fsS "$api/metrics" | promtool check metrics 2>&1) || fail "promtool check metrics: $lint"
[[ -z $lint ]] || fail "promtool check metrics: $lint"

spans_seen() { [[ $(curl -fsS "http://$sink/stats" | jq .spans) -gt 0 ]]; }
wait_for "the OTLP sink received no spans" spans_seen
spans=$(curl -fsS "http://$sink/stats" | jq .spans)

say "Prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') scraped callsvc: up 1;" \
  "outcomes created $created (= 201s = call_outcome rows), outcome_exists $exists, advisory refusal $advisory;" \
  "lock waits $decided; $exemplars exemplars with trace ids; promtool check metrics clean; $spans spans sent to the OTLP sink"
