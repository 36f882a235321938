#!/usr/bin/env bash
# The local Kafka-protocol broker: nisshi (formerly tansu), an Apache-Kafka-compatible broker
# written in Rust, installed from crates.io into ~/.cargo/bin once and reused.
#
#   broker.sh install   install the pinned version if it is missing
#   broker.sh start     install if needed, start on 127.0.0.1:$BROKER_PORT, wait until it listens
#   broker.sh stop      stop it (SIGTERM, then SIGKILL after a deadline)
#   broker.sh status    exit 0 if it runs
#
# Data persists in $TASKSTREAM_STATE/broker/nisshi.db (SQLite), logs in $TASKSTREAM_STATE/log.
set -euo pipefail

NISSHI_VERSION=0.8.1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STATE=${TASKSTREAM_STATE:-$ROOT/.local}
PORT=${BROKER_PORT:-9092}
BIN=${NISSHI_BIN:-$HOME/.cargo/bin/nisshi}
PIDFILE=$STATE/broker/nisshi.pid

installed() {
  [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$NISSHI_VERSION"
}

install() {
  if installed; then return 0; fi
  local started=$SECONDS
  echo "Installing the local Kafka-protocol broker, nisshi $NISSHI_VERSION, into ~/.cargo/bin."
  echo "This happens once per machine and compiles about 460 crates: about 20 minutes on 2 cores"
  echo "(cargo prints each crate as it goes; docs/local-broker.md says why it cannot be smaller)."
  # Its locked dependencies declare Rust 1.96 but build on 1.95.
  cargo install nisshi --version "$NISSHI_VERSION" --locked --ignore-rust-version
  echo "nisshi $NISSHI_VERSION installed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
}

listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# A live process (not a zombie waiting to be reaped, as one is for a moment after SIGKILL).
running() {
  local state
  [ -f "$PIDFILE" ] || return 1
  state=$(awk '{print $3}' "/proc/$(cat "$PIDFILE")/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

start() {
  install
  if running; then echo "broker already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
  if listening; then echo "something already listens on 127.0.0.1:$PORT; using it as the broker"; return 0; fi
  mkdir -p "$STATE/broker" "$STATE/log"
  # Bind and advertise 127.0.0.1 (not localhost, which may resolve to ::1 first). The storage URL
  # is relative to the working directory: absolute sqlite:/// paths are mangled by this version.
  # No initial rebalance delay: a group's first member starts at once (Kafka's default is 3 s).
  (cd "$STATE/broker"; nohup "$BIN" broker \
      --listener-url "tcp://127.0.0.1:$PORT" \
      --advertised-listener-url "tcp://127.0.0.1:$PORT" \
      --storage-engine "sqlite://nisshi.db" \
      --group-initial-rebalance-delay 0s \
      </dev/null >>"$STATE/log/broker.log" 2>&1 &
    echo $! >"$PIDFILE")
  local deadline=$((SECONDS + 30))
  until listening; do
    if ! running; then echo "broker exited; see $STATE/log/broker.log" >&2; tail -20 "$STATE/log/broker.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "broker did not listen on $PORT within 30 s" >&2; exit 1; fi
    sleep 0.1
  done
  echo "broker running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"
}

stop() {
  if ! running; then rm -f "$PIDFILE"; echo "broker not running"; return 0; fi
  local pid; pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$pid" 2>/dev/null || true; break; fi
    sleep 0.1
  done
  rm -f "$PIDFILE"
  echo "broker stopped"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
