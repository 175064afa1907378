#!/usr/bin/env bash
# callsvc's container image, built and tried with Podman, offline.
# The body of `make image` and `make image-smoke`.
#
#   scripts/image.sh build   compile a static binary (CGO_ENABLED=0), build the
#                            Containerfile FROM scratch into IMAGE, and check it:
#                            under 30 MB, a numeric non-root user, no shell
#   scripts/image.sh smoke   build, then run the image against the local
#                            PostgreSQL on loopback (--network=host; never a
#                            bridge address): `migrate`, `org create`, `serve`,
#                            and the README's First call must get its 201
#
# Env: IMAGE (default localhost/callsvc:dev), SCHEMA_DATABASE_URL (the server the
# smoke test makes its scratch database on; default the local PostgreSQL).
# Needs root for rootful Podman; installs podman runc slirp4netns when missing
# (scripts/podman-setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE=${IMAGE:-localhost/callsvc:dev}
MAX_BYTES=$((30 * 1000 * 1000))
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

log() { printf 'image: %s\n' "$*" >&2; }
die() { printf 'image: FAILED: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

build() {
  local t
  t=$(now)
  scripts/podman-setup.sh
  [[ -r $CA_BUNDLE ]] || die "no CA bundle at $CA_BUNDLE (apt-get install ca-certificates)"
  local ctx=bin/image
  rm -rf "$ctx" && mkdir -p "$ctx"
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/callsvc" ./cmd/callsvc
  cp "$CA_BUNDLE" "$ctx/ca-certificates.crt"
  chmod 0555 "$ctx/callsvc" && chmod 0444 "$ctx/ca-certificates.crt"
  podman build --quiet --pull=never -f Containerfile -t "$IMAGE" \
    --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    "$ctx" >/dev/null || die "podman build failed"

  local size user
  size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
  user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
  ((size < MAX_BYTES)) || die "$IMAGE is $size bytes, over 30 MB"
  [[ $user =~ ^[1-9][0-9]*:[1-9][0-9]*$ ]] || die "$IMAGE runs as '$user', want a numeric non-root uid:gid"
  if podman run --rm --network=none --entrypoint /bin/sh "$IMAGE" -c true >/dev/null 2>&1; then
    die "$IMAGE has a shell"
  fi
  log "built $IMAGE: $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }'), user $user, no shell, in $(elapsed "$t")"
}

# The smoke test's scratch database and container, for cleanup on exit.
SMOKE_ADMIN= SMOKE_DB= SMOKE_NAME=
smoke_cleanup() {
  [[ -n $SMOKE_NAME ]] && podman rm -f --time 15 "$SMOKE_NAME" >/dev/null 2>&1
  [[ -n $SMOKE_DB ]] && psql "$SMOKE_ADMIN" -X -q -c "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" >/dev/null 2>&1
  return 0
}

smoke() {
  local t0 admin db url port name out key prospect call code
  t0=$(now)
  for tool in curl jq psql; do
    command -v "$tool" >/dev/null || die "needs $tool"
  done
  admin=${SCHEMA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
  db=callsvc_image_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
  url="${admin%%/postgres\?*}/$db?sslmode=disable"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  name=callsvc-smoke-$db
  SMOKE_ADMIN=$admin SMOKE_DB=$db SMOKE_NAME=$name
  trap smoke_cleanup EXIT
  # --read-only: the image needs nothing writable.
  run() { podman run --rm --read-only --network=host -e DATABASE_URL="$url" "$IMAGE" "$@"; }

  run migrate up >/dev/null || die "migrate up from the image failed"
  out=$(run org create --name Acme) || die "org create from the image failed"
  key=$(jq -r .apiKey <<<"$out")
  [[ $key == csk_* ]] || die "org create printed $out"
  podman run -d --name "$name" --read-only --network=host -e DATABASE_URL="$url" "$IMAGE" \
    serve --addr "127.0.0.1:$port" >/dev/null || die "serve from the image did not start"
  for _ in $(seq 100); do
    curl -fsS "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "127.0.0.1:$port/readyz" >/dev/null || { podman logs "$name" >&2; die "serve from the image never got ready"; }

  local H="Authorization: Bearer $key" J='Content-Type: application/json'
  prospect=$(curl -fsS -X POST "127.0.0.1:$port/v1/prospects" -H "$H" -H "$J" -d '{"name": "Acme Wealth", "clientCount": 900}' | jq -r .id)
  call=$(curl -fsS -X POST "127.0.0.1:$port/v1/calls" -H "$H" -H "$J" -d "{\"prospectId\": \"$prospect\", \"status\": \"in_progress\"}" | jq -r .id)
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "127.0.0.1:$port/v1/calls/$call/outcome" -H "$H" -H "$J" -d '{"outcomeType": "Meeting_Booked"}')
  [[ $code == 201 ]] || { podman logs "$name" >&2; die "outcome from the image's server: $code, want 201"; }

  # SIGTERM: the server stops cleanly, exit 0.
  podman stop --time 15 "$name" >/dev/null
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
  [[ $code == 0 ]] || { podman logs "$name" >&2; die "serve exited $code on SIGTERM, want 0"; }
  log "smoke test passed: migrate, org create and serve from $IMAGE on 127.0.0.1:$port, outcome 201, exit 0 on SIGTERM ($(elapsed "$t0"))"
}

case "${1:-}" in
  build) build ;;
  smoke) build && smoke ;;
  *) die "usage: scripts/image.sh build|smoke" ;;
esac
