#!/usr/bin/env bash
# The local cluster: PgBouncer (transaction pooling) on 127.0.0.1:6432 in front
# of DATABASE_URL's PostgreSQL, CLUSTER_REPLICAS `callsvc serve` (default 3) on
# 127.0.0.1:8091.. through it, HAProxy on 127.0.0.1:8088 balancing them on
# /readyz. The body of `make cluster-up`, `make cluster-down` and
# `make test-cluster`; the logic is Go (cmd/callcluster, internal/cluster).
#
#   scripts/cluster.sh up       install pgbouncer and haproxy if missing (Debian,
#                               root), build, migrate DATABASE_URL once (directly;
#                               created when missing), start everything
#   scripts/cluster.sh down     stop everything `up` started, by PID; check that
#                               nothing listens on its ports any more
#   scripts/cluster.sh status   HAProxy's view of each replica
#   scripts/cluster.sh test     the cross-server tests (internal/cluster) on a
#                               cluster of their own: free ports, a scratch
#                               database; CLUSTER_TEST_FLAGS adds go test flags
#
# Env: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/callsvc?sslmode=disable),
#      CLUSTER_DIR (configuration, logs and state; default .cluster), CLUSTER_REPLICAS,
#      CLUSTER_HTTP_PORT, CLUSTER_PGBOUNCER_PORT, CLUSTER_REPLICA_PORT (first replica),
#      CLUSTER_PGBOUNCER_POOL (PostgreSQL connections, default 20),
#      CLUSTER_REPLICA_POOL (each replica's pool, default 32), LOG_LEVEL.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: FAILED: %s\n' "$*" >&2; exit 1; }

# install_missing: Debian's pgbouncer and haproxy, when their programs are missing.
install_missing() {
  local missing=()
  command -v pgbouncer >/dev/null || missing+=(pgbouncer)
  command -v haproxy >/dev/null || missing+=(haproxy)
  ((${#missing[@]})) || return 0
  [[ $(id -u) -eq 0 ]] || die "needs root to apt-get install ${missing[*]} (or install them yourself)"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
  # The packages' own services are not wanted: policy-rc.d keeps them from starting.
  local policy=/usr/sbin/policy-rc.d had_policy=0
  [[ -e $policy ]] && had_policy=1
  ((had_policy)) || { printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; }
  local ok=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || ok=0
  ((had_policy)) || rm -f "$policy"
  ((ok)) || die "apt-get install ${missing[*]} failed (run it by hand to see why)"
}

build() {
  mkdir -p bin
  go build -o bin/callsvc ./cmd/callsvc
  go build -o bin/callcluster ./cmd/callcluster
}

case "${1:-}" in
  up)
    install_missing
    scripts/pg-up.sh
    build
    bin/callcluster up
    ;;
  down)
    [[ -x bin/callcluster ]] || go build -o bin/callcluster ./cmd/callcluster
    bin/callcluster down
    ;;
  status)
    [[ -x bin/callcluster ]] || go build -o bin/callcluster ./cmd/callcluster
    bin/callcluster status
    ;;
  test)
    install_missing
    scripts/pg-up.sh
    build
    # shellcheck disable=SC2086
    CALLSVC_TEST_CLUSTER=1 CALLSVC_BIN="$PWD/bin/callsvc" \
      go test -count=1 -timeout 20m ${CLUSTER_TEST_FLAGS:--v} ./internal/cluster/
    ;;
  *)
    die "usage: scripts/cluster.sh up|down|status|test"
    ;;
esac
