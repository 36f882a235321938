#!/usr/bin/env bash
# Smoke test of the local set-up, on a stack of its own: `make run` brings up a broker and all
# four services on ports and in a state directory no other stack uses (so it neither reuses
# nor disturbs a developer's `make run`), each answers /healthz and becomes ready, a task created
# through task-api reaches the audit trail, a service SIGKILLed (its pid left to a zombie) is
# started again by `make run`, and `make stop` leaves no process behind.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Four consecutive free ports for the services.
pick_base() {
  local base port ok
  for _ in $(seq 50); do
    base=$(python3 -c 'import random; print(random.randrange(20000, 60000))')
    ok=1
    for port in $base $((base + 1)) $((base + 2)) $((base + 3)); do
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { ok=0; break; }
    done
    [ $ok = 1 ] && { echo "$base"; return; }
  done
  echo "smoke: no four free ports found" >&2; exit 1
}

state=$(mktemp -d)
export TASKSTREAM_STATE=$state TASKSTREAM_PORT_BASE=$(pick_base) BROKER_PORT=$(free_port)
SERVICES=(task-api notification recurring-task audit)
PORTS=($TASKSTREAM_PORT_BASE $((TASKSTREAM_PORT_BASE + 1)) $((TASKSTREAM_PORT_BASE + 2)) $((TASKSTREAM_PORT_BASE + 3)))
zombie_parent=""
cleanup() {
  [ -n "$zombie_parent" ] && kill "$zombie_parent" 2>/dev/null || true
  make --no-print-directory stop >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
echo "smoke: own stack in $state, services on ${PORTS[*]}, broker on $BROKER_PORT"

ready() {  # service port: waits (60 s at most) until /readyz answers 200
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "http://127.0.0.1:$2/readyz"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "smoke: $1 not ready within 60 s:"; curl -sS "http://127.0.0.1:$2/readyz" || true; echo
      return 1
    fi
    sleep 0.2
  done
}

make --no-print-directory run
pids=$(cat "$state"/run/*.pid)
failed=0
for i in "${!SERVICES[@]}"; do
  svc=${SERVICES[$i]} port=${PORTS[$i]}
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "smoke: $svc /healthz failed"; failed=1; }
  ready "$svc" "$port" || failed=1
  curl -fsS "http://127.0.0.1:$port/metrics" >/dev/null || { echo "smoke: $svc /metrics failed"; failed=1; }
done

# The system end to end on its embedded defaults: a task created through task-api appears in
# the audit trail (broker → audit consumer → SQLite → query API).
api=http://127.0.0.1:${PORTS[0]} audit=http://127.0.0.1:${PORTS[3]}
if [ $failed = 0 ]; then
  token=$(make --no-print-directory -s token SUB="smoke-$$")
  task_id=$(curl -fsS -X POST "$api/v1/tasks" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d '{"title":"smoke test"}' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || { echo "smoke: creating a task failed"; failed=1; }
  if [ $failed = 0 ]; then
    deadline=$((SECONDS + 60))
    until curl -fs -o /dev/null "$audit/v1/audit/tasks/$task_id" -H "Authorization: Bearer $token"; do
      if [ $SECONDS -ge $deadline ]; then echo "smoke: task $task_id not in the audit trail within 60 s"; failed=1; break; fi
      sleep 0.2
    done
  fi
fi

# A service killed with SIGKILL, whose pid is for a moment a zombie not yet reaped: `make run`
# must see it as stopped and start it again (it used to count the zombie as running and fail).
if [ $failed = 0 ]; then
  victim=notification victim_port=${PORTS[1]}
  kill -KILL "$(cat "$state/run/$victim.pid")"
  deadline=$((SECONDS + 30))
  while (exec 3<>"/dev/tcp/127.0.0.1/$victim_port") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "smoke: $victim still listening after SIGKILL"; failed=1; break; }
    sleep 0.1
  done
  # A zombie of our own (a parent that never reaps its child) stands in for the unreaped pid.
  python3 -c 'import os, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(120)' >"$state/zombie" &
  zombie_parent=$!
  deadline=$((SECONDS + 10))
  until [ -s "$state/zombie" ] && [ "$(awk '{print $3}' "/proc/$(cat "$state/zombie")/stat" 2>/dev/null)" = Z ]; do
    [ $SECONDS -lt $deadline ] || { echo "smoke: could not make a zombie process"; failed=1; break; }
    sleep 0.05
  done
  cp "$state/zombie" "$state/run/$victim.pid"
  if make --no-print-directory run >"$state/restart.log" 2>&1 && ready "$victim" "$victim_port"; then
    pids="$pids $(cat "$state/run/$victim.pid")"
  else
    echo "smoke: make run did not start $victim again after SIGKILL:"; cat "$state/restart.log"; failed=1
  fi
  kill "$zombie_parent" 2>/dev/null || true; zombie_parent=""
fi

make --no-print-directory stop
for pid in $pids; do
  if kill -0 "$pid" 2>/dev/null; then echo "smoke: process $pid still running after stop"; failed=1; fi
done
for port in "${PORTS[@]}" "$BROKER_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "smoke: port $port still open after stop"; failed=1; fi
done
if [ $failed = 0 ]; then
  echo "smoke: 4 services healthy and ready; a new task reached the audit trail; a SIGKILLed service restarted; all stopped cleanly"
fi
exit $failed
