#!/usr/bin/env bash
# Runs the four services as local processes against the local broker (`make run` / `make stop`).
#
#   services.sh start   start every service not running yet, wait until each answers /healthz
#   services.sh stop    SIGTERM each, wait for its graceful shutdown, SIGKILL after a deadline
#   services.sh status  one line per service
#
# Each service reads crates/<service>/config/{base,local}.yaml; on top of that this script sets
# its port, the broker's address and its SQLite file, so that a second stack (the smoke test's)
# can run beside `make run` with other ports and another state directory:
#   TASKSTREAM_STATE      state directory: pid files, logs, SQLite files, notification's mail
#                         (.eml files under mail/) (default .local)
#   TASKSTREAM_PORT_BASE  task-api's port; notification, recurring-task, audit follow (8080);
#                         recurring-task is told task-api's (APP__TASK_API__BASE_URL)
#   BROKER_PORT           the local broker's port (9092)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TASKSTREAM_STATE:-$ROOT/.local}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/debug
BASE=${TASKSTREAM_PORT_BASE:-8080}
SERVICES=(task-api notification recurring-task audit)
declare -A PORTS=([task-api]=$BASE [notification]=$((BASE + 1)) [recurring-task]=$((BASE + 2)) [audit]=$((BASE + 3)))

pidfile() { echo "$STATE/run/$1.pid"; }
# Running means: the pid file names a live process (not a zombie waiting to be reaped, as one
# is for a moment after SIGKILL) that is this service's binary (not a reused pid).
running() {
  local file pid state exe
  file=$(pidfile "$1")
  [ -f "$file" ] || return 1
  pid=$(cat "$file")
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ] || return 1
  # A binary relinked since the process started (`make token` builds task-api alone, with
  # other features than the workspace build) reads as "<path> (deleted)": still this service.
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "${exe% (deleted)}" = "$(readlink -f "$TARGET/$1")" ]
}
healthy() { curl -fsS -o /dev/null "http://127.0.0.1:${PORTS[$1]}/healthz" 2>/dev/null; }

start() {
  mkdir -p "$STATE/run" "$STATE/log"
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then echo "$svc already running"; continue; fi
    # recurring-task calls task-api, wherever this stack put it.
    calls=()
    [ "$svc" = recurring-task ] && calls=(APP__TASK_API__BASE_URL="http://127.0.0.1:${PORTS[task-api]}")
    (cd "$ROOT"; env APP_CONFIG_DIR="crates/$svc/config" APP_ENVIRONMENT=local \
        APP__HTTP__PORT="${PORTS[$svc]}" APP__KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:${BROKER_PORT:-9092}" \
        APP__DATABASE__URL="sqlite://$STATE/$svc.db" APP__NOTIFICATION__EMAIL__FILE_DIR="$STATE/mail" \
        "${calls[@]}" \
        nohup "$TARGET/$svc" </dev/null >>"$STATE/log/$svc.log" 2>&1 &
      echo $! >"$(pidfile "$svc")")
  done
  local deadline=$((SECONDS + 60))
  for svc in "${SERVICES[@]}"; do
    until healthy "$svc"; do
      if ! running "$svc"; then echo "$svc exited; last log lines:" >&2; tail -20 "$STATE/log/$svc.log" >&2; exit 1; fi
      if [ $SECONDS -ge $deadline ]; then echo "$svc did not answer /healthz within 60 s" >&2; exit 1; fi
      sleep 0.1
    done
    echo "$svc  http://127.0.0.1:${PORTS[$svc]}  (pid $(cat "$(pidfile "$svc")"), log $STATE/log/$svc.log)"
  done
}

stop() {
  for svc in "${SERVICES[@]}"; do
    running "$svc" && kill -TERM "$(cat "$(pidfile "$svc")")"
  done
  # Consumers finish in-flight messages and commit within consumer.shutdown_grace_ms (20 s).
  local deadline=$((SECONDS + 30))
  for svc in "${SERVICES[@]}"; do
    while running "$svc"; do
      if [ $SECONDS -ge $deadline ]; then
        echo "$svc did not stop within 30 s; killing it" >&2
        kill -KILL "$(cat "$(pidfile "$svc")")" 2>/dev/null || true
        break
      fi
      sleep 0.1
    done
    rm -f "$(pidfile "$svc")"
  done
  echo "services stopped"
}

status() {
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then echo "$svc running (pid $(cat "$(pidfile "$svc")"), port ${PORTS[$svc]})"; else echo "$svc stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
