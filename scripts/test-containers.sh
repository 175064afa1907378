#!/usr/bin/env bash
# Run the Go tests against PostgreSQL in a container started by
# testcontainers-go, on rootful Podman (no Docker engine needed).
# The body of `make test-containers`.
#
#   scripts/test-containers.sh                 # all packages
#   TEST_CONTAINERS_PKGS=./internal/... scripts/test-containers.sh
#
# Steps: build the local image if missing (scripts/pg-image.sh), start a
# Docker-compatible podman service if no Docker API answers
# (scripts/podman-service.sh), run `go test -race -count=1`, and on exit --
# also when tests fail or on Ctrl-C -- remove every container labelled with
# this run's id and stop the service if this script started it.
#
# Contract with the test code (internal/dbtest):
#   CALLSVC_TEST_DB=container       use a testcontainers PostgreSQL
#   CALLSVC_TEST_PG_IMAGE=<tag>     image to run (local, never pulled)
#   CALLSVC_TEST_RUN_ID=<id>        put label org.callsvc.run=<id> on containers
#                                   (and org.callsvc.test=true), so this script
#                                   can remove what a crashed test left behind
#   TESTCONTAINERS_RYUK_DISABLED=true   no reaper image here: tests terminate
#                                   their containers; this script is the net
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

export CALLSVC_TEST_PG_IMAGE="${CALLSVC_TEST_PG_IMAGE:-localhost/callsvc-postgres:15}"
export CALLSVC_TEST_RUN_ID="${CALLSVC_TEST_RUN_ID:-tc-$(date +%Y%m%d%H%M%S)-$$}"
RUN_LABEL="org.callsvc.run=$CALLSVC_TEST_RUN_ID"

# --- image ------------------------------------------------------------------
t=$(now)
"$SCRIPTS/pg-image.sh" "$CALLSVC_TEST_PG_IMAGE"
log "image ready ($(elapsed "$t"))"

# --- cleanup, armed before anything is started ------------------------------
CALLSVC_PODMAN_STARTED=0
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
  if [[ $CALLSVC_PODMAN_STARTED == 1 ]]; then
    "$SCRIPTS/podman-service.sh" stop || true
  fi
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

t=$(now)
rc=0
# shellcheck disable=SC2086 # TEST_CONTAINERS_PKGS is a list of patterns
go test -race -count=1 ${TEST_CONTAINERS_PKGS:-./...} || rc=$?
log "go test finished with exit code $rc ($(elapsed "$t"))"
exit "$rc"
