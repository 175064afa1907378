#!/usr/bin/env bash
# Give testcontainers-go a Docker-compatible API socket backed by rootful
# Podman, on a machine that has no Docker engine.
#
# Usage:
#   scripts/podman-service.sh start    reuse a Docker API socket that answers, or
#                                      start `podman system service` on ours;
#                                      prints shell lines for eval:
#                                        export DOCKER_HOST=unix:///...
#                                        export CALLSVC_PODMAN_STARTED=1|0
#                                        export CALLSVC_PODMAN_PID=<pid>|
#   scripts/podman-service.sh stop     stop the service we started (by the PID in
#                                      our pidfile) and remove the pidfile
#   scripts/podman-service.sh status   exit 0 and print "ours <pid> <socket>" if our
#                                      service is running; exit 1 otherwise
#   scripts/podman-service.sh socket   print our socket path
#
#   eval "$(scripts/podman-service.sh start)"
#   [ "$CALLSVC_PODMAN_STARTED" = 1 ] && trap 'scripts/podman-service.sh stop' EXIT
#
# CALLSVC_PODMAN_STARTED=1 means this very call started the service, so the
# caller owns it and should stop it. `status` tells whether a service started
# by this script (now or earlier) is running.
#
# The socket name must end in podman.sock: testcontainers-go picks its Podman
# provider (default network "podman") from DOCKER_HOST containing it.
#
# Env: CALLSVC_PODMAN_DIR  directory for socket, pidfile, log
#                          (default /run/callsvc-podman)
set -euo pipefail

DIR="${CALLSVC_PODMAN_DIR:-/run/callsvc-podman}"
SOCK="$DIR/podman.sock"
PIDFILE="$DIR/podman-service.pid"
LOGFILE="$DIR/podman-service.log"

log() { printf 'podman-service: %s\n' "$*" >&2; }
die() { printf 'podman-service: FAILED: %s\n' "$*" >&2; exit 1; }

# answers PATH: the Docker API _ping on a unix socket answers OK.
answers() {
  [[ -S $1 ]] || return 1
  [[ $(curl -fsS --max-time 2 --unix-socket "$1" http://d/_ping 2>/dev/null) == OK ]]
}

# our_pid: the PID from our pidfile if that process is still our podman service.
our_pid() {
  [[ -f $PIDFILE ]] || return 1
  local pid cmd
  pid=$(<"$PIDFILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline")
  [[ $cmd == *"system service"*"$SOCK"* ]] || return 1
  printf '%s\n' "$pid"
}

emit() { # emit SOCKET STARTED PID
  printf 'export DOCKER_HOST=unix://%s\n' "$1"
  printf 'export CALLSVC_PODMAN_STARTED=%s\n' "$2"
  printf 'export CALLSVC_PODMAN_PID=%s\n' "$3"
}

cmd_start() {
  command -v curl >/dev/null || die "needs curl (apt-get install curl)"
  local pid
  # 1. our own service from an earlier start: reuse, but the caller does not own it.
  if pid=$(our_pid) && answers "$SOCK"; then
    log "reusing our podman service (PID $pid) on $SOCK"
    emit "$SOCK" 0 "$pid"
    return
  fi
  # 2. whatever DOCKER_HOST points at, or the standard Docker socket.
  local cand
  for cand in "${DOCKER_HOST:-}" unix:///var/run/docker.sock; do
    [[ $cand == unix://* ]] || continue
    cand=${cand#unix://}
    [[ $cand == "$SOCK" ]] && continue
    if answers "$cand"; then
      log "a Docker API answers on $cand; using it (images must exist in that engine)"
      emit "$cand" 0 ""
      return
    fi
  done
  # 3. start ours.
  command -v podman >/dev/null || die "podman not installed (run scripts/pg-image.sh, or apt-get install podman runc slirp4netns)"
  [[ $(id -u) -eq 0 ]] || die "needs root for rootful podman"
  mkdir -p "$DIR"
  if [[ -f $PIDFILE ]]; then
    log "removing stale pidfile $PIDFILE"
    rm -f "$PIDFILE"
  fi
  rm -f "$SOCK"
  # setsid: its own session, so a Ctrl-C in the caller's terminal doesn't kill
  # it before the caller's trap has removed the containers through it.
  setsid podman system service --time=0 "unix://$SOCK" </dev/null >"$LOGFILE" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$PIDFILE"
  local i
  for ((i = 0; i < 150; i++)); do
    answers "$SOCK" && break
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; die "podman system service exited: $(tail -n 1 "$LOGFILE" 2>/dev/null)"; }
    sleep 0.2
  done
  if ! answers "$SOCK"; then
    kill "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    die "podman system service did not answer on $SOCK within 30s (log: $LOGFILE)"
  fi
  log "started podman system service (PID $pid) on $SOCK"
  emit "$SOCK" 1 "$pid"
}

cmd_stop() {
  local pid
  if ! pid=$(our_pid); then
    if [[ -f $PIDFILE ]]; then
      log "pidfile $PIDFILE names no running podman service of ours; removing it"
      rm -f "$PIDFILE"
    else
      log "no podman service of ours to stop"
    fi
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "PID $pid ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE" "$SOCK"
  log "stopped podman system service (PID $pid)"
}

cmd_status() {
  local pid
  if pid=$(our_pid); then
    printf 'ours %s %s\n' "$pid" "$SOCK"
    return 0
  fi
  echo "none"
  return 1
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  socket) printf '%s\n' "$SOCK" ;;
  *) echo "usage: $0 start|stop|status|socket" >&2; exit 2 ;;
esac
