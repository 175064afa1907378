#!/usr/bin/env bash
# Rootful Podman without Docker, as this project's CI machines need it: install
# Debian's podman runc slirp4netns (and any packages named as arguments) when
# missing, and write /etc/containers/containers.conf when there is none.
# Used by scripts/pg-image.sh (the PostgreSQL test image) and scripts/image.sh
# (callsvc's image).
#
# Usage: scripts/podman-setup.sh [EXTRA_PACKAGE...]
# Needs root for whatever it has to install or write.
set -euo pipefail

PACKAGES=(podman runc slirp4netns "$@")
CONF=/etc/containers/containers.conf

log() { printf 'podman-setup: %s\n' "$*" >&2; }
die() { printf 'podman-setup: FAILED: %s\n' "$*" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || die "needs root to apt-get install: ${missing[*]}"
  t=$(date +%s)
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null 2>&1 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || die "apt-get install ${missing[*]} failed (run it by hand to see why)"
  log "packages installed in $(($(date +%s) - t))s"
fi

# Without these: setrlimit "Operation not permitted" (ulimits), crun refusing
# the hybrid cgroup layout (runc + cgroupfs), and containers on the 10.88.x
# bridge instead of slirp4netns (we only ever talk to 127.0.0.1).
if [[ ! -e $CONF ]]; then
  [[ $(id -u) -eq 0 ]] || die "needs root to write $CONF"
  mkdir -p "$(dirname "$CONF")"
  cat >"$CONF" <<'CONFEOF'
# Written by callsvc scripts/podman-setup.sh for rootful Podman without Docker.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]
netns = "slirp4netns"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONFEOF
  log "wrote $CONF"
else
  for want in default_ulimits netns runtime cgroup_manager; do
    grep -Eq "^[[:space:]]*${want}[[:space:]]*=" "$CONF" \
      || log "warning: $CONF exists but sets no '$want' (see this script for the values that work here)"
  done
fi

command -v podman >/dev/null || die "podman not found after install"
