#!/usr/bin/env bash
# Build the local PostgreSQL image that testcontainers-go runs under Podman.
#
# No image registry is reachable from this machine, so the image is made from
# Debian's packages: debootstrap a minimal bookworm root with postgresql-15,
# add an entrypoint that behaves like the official postgres image's
# (POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, /docker-entrypoint-initdb.d,
# a temporary server during init so "database system is ready to accept
# connections" is logged twice), and `podman import` it.
#
# Idempotent: does nothing when the tag already exists in podman's store.
#
# Usage: scripts/pg-image.sh [TAG]
#   TAG defaults to $CALLSVC_TEST_PG_IMAGE, else localhost/callsvc-postgres:15.
# Env:   DEBIAN_MIRROR  mirror for debootstrap (default: the one apt uses)
#        PG_IMAGE_SUITE Debian suite (default: bookworm)
#        FORCE=1        rebuild even if the tag exists
#
# Needs: root (apt-get install, debootstrap and rootful podman), Debian's
# packages podman runc slirp4netns debootstrap curl, and
# /etc/containers/containers.conf with runc + cgroupfs + slirp4netns + ulimits
# (scripts/podman-setup.sh installs and writes them when missing).
set -euo pipefail

TAG="${1:-${CALLSVC_TEST_PG_IMAGE:-localhost/callsvc-postgres:15}}"
SUITE="${PG_IMAGE_SUITE:-bookworm}"
PG_MAJOR=15

log() { printf 'pg-image: %s\n' "$*" >&2; }
die() { printf 'pg-image: FAILED: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

T0=$(now)

# --- 1. host packages and containers.conf ----------------------------------
"$(dirname "${BASH_SOURCE[0]}")/podman-setup.sh" debootstrap curl

# --- 2. image ---------------------------------------------------------------
if [[ ${FORCE:-0} != 1 ]] && podman image exists "$TAG"; then
  log "image $TAG already present, nothing to do"
  exit 0
fi
[[ $(id -u) -eq 0 ]] || die "needs root for debootstrap and rootful podman"

if [[ -z ${DEBIAN_MIRROR:-} ]]; then
  DEBIAN_MIRROR=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [[ -n $DEBIAN_MIRROR ]] || DEBIAN_MIRROR=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' \
    /etc/apt/sources.list 2>/dev/null || true)
  DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi

WORK=$(mktemp -d /var/tmp/callsvc-pg-image.XXXXXX)
cleanup() { rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT
ROOT=$WORK/rootfs

t=$(now)
log "debootstrap $SUITE (minbase + postgresql-$PG_MAJOR) from $DEBIAN_MIRROR"
if ! debootstrap --variant=minbase --include="postgresql-$PG_MAJOR" "$SUITE" "$ROOT" "$DEBIAN_MIRROR" \
  >"$WORK/debootstrap.log" 2>&1; then
  tail -n 5 "$WORK/debootstrap.log" >&2 || true
  die "debootstrap failed (last lines above)"
fi
log "debootstrap done in $(elapsed "$t")"

# Trim what a server image does not need.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/*
mkdir -p "$ROOT/docker-entrypoint-initdb.d" "$ROOT/var/lib/postgresql/data"

cat >"$ROOT/usr/local/bin/docker-entrypoint.sh" <<'ENTRYEOF'
#!/bin/bash
# Entrypoint compatible with the official postgres image's, for the variables
# and behaviour testcontainers-go's postgres module relies on.
set -Eeo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$PATH"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"

# "-c fsync=off" style arguments: run them as postgres options.
if [ "${1:0:1}" = '-' ]; then set -- postgres "$@"; fi

if [ "$1" != postgres ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 03775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$AUTH" != trust ]; then
    echo 'error: POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)' >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
  # shellcheck disable=SC2086
  # --no-sync / fsync=off below: a throw-away test database, start-up speed
  # matters more than crash safety of the init phase.
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
    --auth-host="$AUTH" --encoding=UTF8 --locale=C.UTF-8 --no-sync ${POSTGRES_INITDB_ARGS:-}
  rm -f "$pwfile"
  printf '\nhost all all all %s\n' "$AUTH" >>"$PGDATA/pg_hba.conf"

  # Temporary server on the socket only, as the official image does.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c fsync=off -p 5432" -w start
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password)
  if [ "$POSTGRES_DB" != postgres ]; then
    exists=$("${psql[@]}" --dbname postgres -tA --set db="$POSTGRES_DB" \
      <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")
    if [ -z "$exists" ]; then
      "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
    fi
  fi
  psql+=(--dbname "$POSTGRES_DB")
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh) if [ -x "$f" ]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
      *.sql) echo "running $f"; "${psql[@]}" -f "$f" ;;
      *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" ;;
      *) echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo 'PostgreSQL init process complete; ready for start up.'
fi

shift
exec postgres -c listen_addresses='*' "$@"
ENTRYEOF
chmod 0755 "$ROOT/usr/local/bin/docker-entrypoint.sh"

t=$(now)
log "importing as $TAG"
tar -C "$ROOT" --numeric-owner -cf - . | podman import \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  --change 'CMD ["postgres"]' \
  --change 'EXPOSE 5432' \
  --change 'STOPSIGNAL SIGINT' \
  --change 'LABEL org.callsvc.test-image=postgres' \
  --quiet - "$TAG" >/dev/null || die "podman import failed"
log "imported in $(elapsed "$t")"
podman image exists "$TAG" || die "image $TAG missing after import"
cleanup
trap - EXIT
log "built $TAG in $(elapsed "$T0") total"
