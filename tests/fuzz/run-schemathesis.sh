#!/usr/bin/env bash
# API fuzzing (`make fuzz`): schemathesis generates requests from the task API's own OpenAPI
# document (GET /openapi.json) and fails on any 5xx, any response the document does not
# describe (status, content type, headers, body schema), and any request outside the document
# (a negative case) that the API accepts instead of refusing with a 4xx. The document's schemas
# state what the API accepts, so most generated valid cases reach the handlers.
#
# Starts target/debug/task-api (built by `make build`) on a free port, against a fresh SQLite
# file and the local broker (`make broker`), on topics of its own (fuzz-task-events,
# fuzz-reminders) so that no consumer of the real topics sees the generated tasks. Bounded:
# FUZZ_MAX_EXAMPLES per operation and phase (default 30), FUZZ_TIMEOUT seconds overall
# (default 300). FUZZ_SEED makes a run reproducible; the seed of every run is printed.
# For exploring: FUZZ_CHECKS (e.g. `all`), FUZZ_DATABASE_URL (e.g. a PostgreSQL database),
# FUZZ_REPORT (an absolute directory to keep the NDJSON report of every request in).
# After the run, a table gives per operation the cases, their 2xx/4xx/5xx answers and 2xx
# share, and for the cases generated as valid their number, 2xx share and 4xx statuses
# (tests/fuzz/summary.py): how many reached the handlers, and what stopped the others.
# tests/fuzz/hooks.py drops a well-formed X-On-Behalf-Of (the fuzzer holds a user token, for
# which any value of it answers 403 before a handler runs) and sends the task's current ETag
# for the document's example If-Match, so that generated changes reach the handlers.
# GET /v1/events is left out: it streams until the client leaves, so every request would
# only end by timing out.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
VENV=.local/venv
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-30}
TIMEOUT=${FUZZ_TIMEOUT:-300}
BINARY=${CARGO_TARGET_DIR:-target}/debug/task-api
CHECKS=${FUZZ_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection}

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "fuzz: installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
[ -x "$BINARY" ] || { echo "fuzz: $BINARY is missing; run make build" >&2; exit 1; }

work=$(mktemp -d)
server=""
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    local deadline=$((SECONDS + 30))
    while kill -0 "$server" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    kill -KILL "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  server=""
}
trap 'stop_server; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export APP_CONFIG_DIR=crates/task-api/config APP_ENVIRONMENT=local
export APP__HTTP__PORT=$port APP__DATABASE__URL="${FUZZ_DATABASE_URL:-sqlite://$work/fuzz.db}"
for topic in TASK_EVENTS REMINDERS; do
  # A topic's settings are replaced as a whole: name, partitions and retention (one hour).
  name=fuzz-$(echo "$topic" | tr 'A-Z_' 'a-z-')
  export "APP__TOPICS__${topic}__NAME=$name" "APP__TOPICS__${topic}__PARTITIONS=1" \
    "APP__TOPICS__${topic}__RETENTION_MS=3600000"
done
"$BINARY" </dev/null >"$work/task-api.log" 2>&1 &
server=$!

base="http://127.0.0.1:$port"
deadline=$((SECONDS + 60))
until curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; do
  if ! kill -0 "$server" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
    echo "fuzz: task-api did not become ready within 60 s:" >&2
    curl -sS "$base/readyz" >&2 || true
    grep -v '^ ' "$work/task-api.log" | tail -30 >&2
    exit 1
  fi
  sleep 0.2
done
token=$("$BINARY" token --sub fuzzer)

echo "fuzz: schemathesis $SCHEMATHESIS_VERSION against $base/openapi.json (at most $MAX_EXAMPLES examples per operation and phase, ${TIMEOUT}s)"
status=0
# From the scratch directory: schemathesis keeps a cache in ./.schemathesis.
report=${FUZZ_REPORT:-$work/report}
mkdir -p "$report"
(cd "$work" && SCHEMATHESIS_HOOKS="$ROOT/tests/fuzz/hooks.py" FUZZ_BASE_URL="$base" FUZZ_TOKEN="$token" exec timeout --kill-after=10 "$TIMEOUT" "$ROOT/$VENV/bin/schemathesis" run "$base/openapi.json" \
  --url "$base" \
  --header "Authorization: Bearer $token" \
  --checks "$CHECKS" \
  --exclude-path /v1/events \
  --max-examples "$MAX_EXAMPLES" \
  --workers 1 \
  --request-timeout 10 \
  --generation-database none \
  ${FUZZ_SEED:+--seed "$FUZZ_SEED"} \
  --report ndjson --report-dir "$report" \
  --no-color) || status=$?

# The newest report is this run's (FUZZ_REPORT may hold older ones).
ndjson=$(ls -t "$report"/*.ndjson 2>/dev/null | head -1 || true)
if [ -n "$ndjson" ]; then
  echo
  "$VENV/bin/python" tests/fuzz/summary.py "$ndjson" || echo "fuzz: could not summarise $ndjson" >&2
fi
if [ $status = 124 ] || [ $status = 137 ]; then
  echo "fuzz: schemathesis did not finish within ${TIMEOUT}s" >&2
fi
if grep -q '"level":"ERROR"' "$work/task-api.log"; then
  echo "fuzz: task-api logged errors:" >&2
  grep '"level":"ERROR"' "$work/task-api.log" | tail -10 >&2
  status=1
fi
stop_server
[ $status = 0 ] && echo "fuzz: no server error, no response outside the OpenAPI document, no request outside it accepted"
exit $status
