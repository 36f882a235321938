#!/usr/bin/env bash
# Runs the four services as local processes against the local broker (`make run` / `make stop`).
#
#   services.sh start   start every service not running yet, wait until each answers /healthz
#   services.sh stop    SIGTERM each, wait for its graceful shutdown, SIGKILL after a deadline
#   services.sh status  one line per service
#
# Each service reads crates/<service>/config/{base,local}.yaml; logs go to $TASKSTREAM_STATE/log.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TASKSTREAM_STATE:-$ROOT/.local}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/debug
SERVICES=(task-api notification recurring-task audit)
declare -A PORTS=([task-api]=8080 [notification]=8081 [recurring-task]=8082 [audit]=8083)

pidfile() { echo "$STATE/run/$1.pid"; }
running() { [ -f "$(pidfile "$1")" ] && kill -0 "$(cat "$(pidfile "$1")")" 2>/dev/null; }
healthy() { curl -fsS -o /dev/null "http://127.0.0.1:${PORTS[$1]}/healthz" 2>/dev/null; }

start() {
  mkdir -p "$STATE/run" "$STATE/log"
  for svc in "${SERVICES[@]}"; do
    if running "$svc"; then echo "$svc already running"; continue; fi
    (cd "$ROOT"; APP_CONFIG_DIR="crates/$svc/config" APP_ENVIRONMENT=local \
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
