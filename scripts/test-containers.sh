#!/usr/bin/env bash
# Run the Go tests against PostgreSQL in a container started by
# testcontainers-go, on rootful Podman (no Docker engine needed).
# The body of `make test-containers`.
#
#   scripts/test-containers.sh                 # every package whose tests use dbtest
#   TEST_CONTAINERS_PKGS=./internal/... scripts/test-containers.sh
#   TEST_CONTAINERS_FLAGS='-race -v' scripts/test-containers.sh
#
# Steps: when a Docker engine (not Podman) answers, use it with the official
# postgres:15 image; otherwise build the local image if missing
# (scripts/pg-image.sh) and start a Docker-compatible podman service if no
# API answers (scripts/podman-service.sh). Run `go test -count=1`, print
# which containers the test binaries used (go test hides the output of passing
# packages) and fail if none was. On exit -- also when tests fail or on Ctrl-C
# -- remove every container labelled with this run's id, stop the service if
# this script started it, and check that nothing of this run is left.
#
# Contract with the test code (internal/dbtest):
#   CALLSVC_TEST_DB=container       use a testcontainers PostgreSQL
#   CALLSVC_TEST_PG_IMAGE=<tag>     image to run (local, never pulled)
#   CALLSVC_TEST_RUN_ID=<id>        put label org.callsvc.run=<id> on containers
#                                   (and org.callsvc.test=true), so this script
#                                   can remove what a crashed test left behind
#   TESTCONTAINERS_RYUK_DISABLED=true   no reaper image here: tests terminate
#                                   their containers; this script is the net
#   CALLSVC_TEST_CONTAINER_NETWORK=slirp4netns  (on Podman only; a Docker
#                                   engine rejects it)
#   CALLSVC_TEST_REPORT=<file>      dbtest appends "container X at 127.0.0.1:P"
#   TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1, and containers must use
#   NetworkMode "slirp4netns" with 5432 published on 127.0.0.1: every
#   connection stays on loopback, never on podman's 10.88.x bridge (Podman
#   4.3's Docker API ignores containers.conf netns and defaults to bridge).
#   Wait with ForLog(ready, 2x) + ForListeningPort(5432).SkipInternalCheck():
#   the internal check execs in the container and leaves conmon processes
#   behind for 5 minutes.
#   TEST_DATABASE_URL is unset so no local server is used instead.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SCRIPTS=$PWD/scripts

log() { printf 'test-containers: %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

T0=$(now)
export CALLSVC_TEST_RUN_ID="${CALLSVC_TEST_RUN_ID:-tc-$(date +%Y%m%d%H%M%S)-$$}"
RUN_LABEL="org.callsvc.run=$CALLSVC_TEST_RUN_ID"

# docker_engine: print the unix socket of an answering Docker API that is not
# Podman (DOCKER_HOST, else the standard socket); fail if there is none.
docker_engine() {
  local cand
  for cand in "${DOCKER_HOST:-}" unix:///var/run/docker.sock; do
    [[ $cand == unix://* ]] || continue
    cand=${cand#unix://}
    [[ -S $cand ]] || continue
    local v
    v=$(curl -fsS --max-time 2 --unix-socket "$cand" http://d/version 2>/dev/null) || continue
    [[ $v == *'"Podman Engine"'* ]] && continue
    printf '%s\n' "$cand"
    return 0
  done
  return 1
}

# --- image ------------------------------------------------------------------
t=$(now)
if command -v curl >/dev/null && sock=$(docker_engine); then
  # A real Docker: it pulls the official image; nothing to build.
  export DOCKER_HOST="unix://$sock"
  export CALLSVC_TEST_PG_IMAGE="${CALLSVC_TEST_PG_IMAGE:-postgres:15}"
  log "Docker engine at $DOCKER_HOST; image $CALLSVC_TEST_PG_IMAGE"
else
  export CALLSVC_TEST_PG_IMAGE="${CALLSVC_TEST_PG_IMAGE:-localhost/callsvc-postgres:15}"
  export CALLSVC_TEST_CONTAINER_NETWORK=slirp4netns
  "$SCRIPTS/pg-image.sh" "$CALLSVC_TEST_PG_IMAGE"
fi
log "image ready ($(elapsed "$t"))"
REPORT=$(mktemp /tmp/callsvc-test-containers.XXXXXX)
export CALLSVC_TEST_REPORT=$REPORT

# --- cleanup, armed before anything is started ------------------------------
CALLSVC_PODMAN_STARTED=0
GOTEST_PID=""
BEFORE=""   # testcontainers containers that existed before this run

# engine CMD...: the container CLI that talks to the engine behind DOCKER_HOST.
engine() {
  if [[ ${DOCKER_HOST:-} == "unix://$("$SCRIPTS/podman-service.sh" socket)" ]] || ! command -v docker >/dev/null; then
    podman "$@"
  else
    docker "$@"
  fi
}

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local rc=$? id
  local -a ids=()
  trap - EXIT INT TERM
  set +e
  # Interrupted: stop go test and its test binaries first, so that none
  # creates a container after the removal below.
  if [[ -n $GOTEST_PID ]] && kill -0 "$GOTEST_PID" 2>/dev/null; then
    log "stopping go test (process group $GOTEST_PID)"
    kill -TERM -- "-$GOTEST_PID" 2>/dev/null
    for _ in {1..50}; do kill -0 "$GOTEST_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL -- "-$GOTEST_PID" 2>/dev/null
  fi
  if [[ -n ${DOCKER_HOST:-} ]]; then
    mapfile -t ids < <(engine ps -aq --filter "label=$RUN_LABEL" 2>/dev/null)
    # Also catch containers of this run that lack our label, but only on a
    # service that this run started (nobody else is using it).
    if [[ $CALLSVC_PODMAN_STARTED == 1 ]]; then
      while read -r id; do
        [[ -n $id ]] && ! grep -qx "$id" <<<"$BEFORE" && ids+=("$id")
      done < <(engine ps -aq --filter label=org.testcontainers=true 2>/dev/null)
    fi
    mapfile -t ids < <(printf '%s\n' "${ids[@]}" | sed '/^$/d' | sort -u)
    if ((${#ids[@]})); then
      log "removing containers left by this run: ${ids[*]}"
      engine rm -f -v "${ids[@]}" >/dev/null 2>&1 || log "warning: could not remove some of: ${ids[*]}"
    fi
  fi
  # Check, through the engine, that nothing of this run is left.
  if [[ -n ${DOCKER_HOST:-} ]] && left=$(engine ps -aq --filter "label=$RUN_LABEL" 2>/dev/null); then
    if [[ -n $left ]]; then
      log "ERROR: containers of this run still exist: $left"
      ((rc)) || rc=1
    else
      log "no container of this run left"
    fi
  fi
  if [[ $CALLSVC_PODMAN_STARTED == 1 ]]; then
    "$SCRIPTS/podman-service.sh" stop || true
    if [[ -n ${CALLSVC_PODMAN_PID:-} ]] && kill -0 "$CALLSVC_PODMAN_PID" 2>/dev/null; then
      log "ERROR: podman service PID $CALLSVC_PODMAN_PID still running"
      ((rc)) || rc=1
    fi
  fi
  rm -f "$REPORT"
  log "done with exit code $rc ($(elapsed "$T0") in all)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- engine -----------------------------------------------------------------
t=$(now)
svc_env=$("$SCRIPTS/podman-service.sh" start)
eval "$svc_env"
log "container API at $DOCKER_HOST (started by us: $CALLSVC_PODMAN_STARTED) ($(elapsed "$t"))"
BEFORE=$(engine ps -aq --filter label=org.testcontainers=true 2>/dev/null || true)

# --- tests ------------------------------------------------------------------
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export CALLSVC_TEST_DB=container
unset TEST_DATABASE_URL

# Default packages: those whose tests depend on internal/dbtest, directly or not
# (the others run in `make test` and gain nothing from a container).
if [[ -z ${TEST_CONTAINERS_PKGS:-} ]]; then
  TEST_CONTAINERS_PKGS=$(go list -test -f '{{if .ForTest}}{{.ForTest}}{{range .Deps}} {{.}}{{end}}{{end}}' ./... |
    awk -v dep="$(go list -m)/internal/dbtest" '{ for (i = 2; i <= NF; i++) if ($i == dep) { print $1; break } }' |
    sort -u | tr '\n' ' ')
  TEST_CONTAINERS_PKGS=${TEST_CONTAINERS_PKGS:-./...}
fi
log "packages: $TEST_CONTAINERS_PKGS"

t=$(now)
rc=0
# No -race by default: `make test` covers races, and it halves this step's time
# (CI must stay within minutes); TEST_CONTAINERS_FLAGS=-race adds it back.
# In its own process group (setsid), so that the trap can stop all of it.
# shellcheck disable=SC2086 # TEST_CONTAINERS_FLAGS/PKGS are lists
setsid go test -count=1 ${TEST_CONTAINERS_FLAGS:-} $TEST_CONTAINERS_PKGS &
GOTEST_PID=$!
wait "$GOTEST_PID" || rc=$?
GOTEST_PID=""
log "go test finished with exit code $rc ($(elapsed "$t"))"
# The container lines of every test binary (hidden by go test when it passes).
cat "$REPORT" >&2
if ((rc == 0)) && ! grep -q 'PostgreSQL container' "$REPORT"; then
  log "ERROR: no test binary used a container (do the packages call dbtest.Main?)"
  rc=1
fi
exit "$rc"
