#!/usr/bin/env bash
# Load benchmark of the REST API: GET /api/v1/incidents and POST /api/v1/alerts/alertmanager
# with wrk, on SQLite and on PostgreSQL, side by side in one run.
#
#   scripts/setup.sh            # installs wrk (Debian package) when missing
#   scripts/bench-api.sh        # both backends
#   BENCH_BACKENDS=sqlite scripts/bench-api.sh
#
# For each backend: a fresh `aoi serve` (temporary data dir, 127.0.0.1 on a free port, in-process
# agent workers off), login as the bootstrap admin for a JWT, an operator API key for ingest,
# BENCH_INCIDENTS incidents seeded through the Alertmanager webhook, then wrk at
# BENCH_CONNECTIONS connections for BENCH_DURATION on each endpoint (after a short warm-up).
# PostgreSQL: a database aoi_bench_<pid> is created on BENCH_PG (trust auth) and dropped on exit.
# Prints one table row per backend x endpoint: requests/s, p50, p99, non-2xx and socket errors.
set -euo pipefail

DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
INCIDENTS=${BENCH_INCIDENTS:-1000}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
# How many distinct fingerprints the ingest load draws from (it first joins the seeded ones,
# then opens new incidents for the rest), and the share of alerts sent as resolved.
FINGERPRINTS=${BENCH_FINGERPRINTS:-5000}
RESOLVED_PERCENT=${BENCH_RESOLVED_PERCENT:-10}
ADMIN_PASSWORD=bench-admin-password-$$

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

for tool in wrk curl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "bench-api: $tool is missing; run scripts/setup.sh" >&2
    exit 1
  fi
done

WORK=$(mktemp -d -t aoi-bench-api.XXXXXX)
SERVER_PID=
PG_DB=
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$PG_DB" ]]; then
    psql "$PG/postgres" -q -c "drop database if exists $PG_DB with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "bench-api: building the release binary" >&2
cargo build --release -p aoi-server --quiet
AOI=$ROOT/target/release/aoi

# --- wrk scripts -----------------------------------------------------------------------------
# Both print one machine-readable line from done(); latencies are in microseconds.
cat >"$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

cat >"$WORK/get.lua" <<'LUA'
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
LUA
cat "$WORK/report.lua" >>"$WORK/get.lua"

# One alert per request (an Alertmanager group of one), fingerprints drawn uniformly from
# bench-00001..bench-<FINGERPRINTS>: firing joins the active incident with that fingerprint or
# opens one; resolved resolves it (or matches nothing).
cat >"$WORK/ingest.lua" <<'LUA'
local key = os.getenv("BENCH_KEY")
local fingerprints = tonumber(os.getenv("BENCH_FINGERPRINTS"))
local resolved_percent = tonumber(os.getenv("BENCH_RESOLVED_PERCENT"))
local counter = 0
local headers = {
  ["Authorization"] = "Bearer " .. key,
  ["Content-Type"] = "application/json",
}
local template = [[{"version":"4","groupKey":"{}:{alertname=\"BenchAlert\"}","status":"%s",]] ..
  [["receiver":"aoi","groupLabels":{"alertname":"BenchAlert"},]] ..
  [["commonLabels":{"alertname":"BenchAlert","service":"svc-%d","severity":"warning"},]] ..
  [["commonAnnotations":{},"externalURL":"http://alertmanager:9093",]] ..
  [["alerts":[{"status":"%s","labels":{"alertname":"BenchAlert","service":"svc-%d",]] ..
  [["namespace":"bench","severity":"warning","instance":"pod-%d"},]] ..
  [["annotations":{"summary":"bench alert %s"},"startsAt":"2026-11-26T09:00:00Z",]] ..
  [["generatorURL":"http://prometheus:9090/graph","fingerprint":"%s"}]}]]

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 100 + (seed or 0))
end

function request()
  local n = math.random(1, fingerprints)
  local fp = string.format("bench-%05d", n)
  local status = "firing"
  if math.random(1, 100) <= resolved_percent then
    status = "resolved"
  end
  local svc = n % 20
  local body = string.format(template, status, svc, status, svc, n, fp, fp)
  return wrk.format("POST", "/api/v1/alerts/alertmanager", headers, body)
end
LUA
cat "$WORK/report.lua" >>"$WORK/ingest.lua"

# --- helpers ---------------------------------------------------------------------------------
json_field() { # json_field NAME < json
  sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

start_server() { # start_server DIR [DATABASE_URL]
  local dir=$1 url=${2:-}
  mkdir -p "$dir"
  (
    export AOI_ADMIN_PASSWORD="$ADMIN_PASSWORD"
    export AOI__WORKERS__AGENT=0 AOI__WORKERS__EVOLVER=0
    export RUST_LOG=${BENCH_RUST_LOG:-warn}
    unset DATABASE_URL REDIS_URL
    if [[ -n "$url" ]]; then export DATABASE_URL="$url"; fi
    exec "$AOI" serve --data-dir "$dir/data" --listen 127.0.0.1:0
  ) >"$dir/stdout.log" 2>"$dir/stderr.log" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 600); do
    BASE=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$dir/stdout.log")
    if [[ -n "$BASE" ]]; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "bench-api: the server did not start; its log:" >&2
  cat "$dir/stdout.log" "$dir/stderr.log" >&2
  exit 1
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

seed() { # logs in, creates the ingest key, seeds INCIDENTS incidents; sets TOKEN and KEY
  TOKEN=$(curl -sf -X POST "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"tenant\":\"default\",\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" |
    json_field access_token)
  KEY=$(curl -sf -X POST "$BASE/api/v1/api-keys" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"bench-ingest","role":"operator"}' |
    json_field key)
  if [[ -z "$TOKEN" || -z "$KEY" ]]; then
    echo "bench-api: login or API key creation failed" >&2
    exit 1
  fi
  local batch=100 start n alerts
  for ((start = 1; start <= INCIDENTS; start += batch)); do
    alerts=
    for ((n = start; n < start + batch && n <= INCIDENTS; n++)); do
      alerts+="${alerts:+,}{\"status\":\"firing\",\"labels\":{\"alertname\":\"BenchAlert\",\"service\":\"svc-$((n % 20))\",\"namespace\":\"bench\",\"severity\":\"warning\",\"instance\":\"pod-$n\"},\"annotations\":{\"summary\":\"seeded $n\"},\"startsAt\":\"2026-11-26T08:00:00Z\",\"fingerprint\":\"$(printf 'bench-%05d' "$n")\"}"
    done
    curl -sf -o /dev/null -X POST "$BASE/api/v1/alerts/alertmanager" \
      -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"aoi\",\"alerts\":[$alerts]}"
  done
}

ROWS=()
load() { # load BACKEND LABEL SCRIPT PATH
  local backend=$1 label=$2 script=$3 path=$4 out line
  BENCH_TOKEN=$TOKEN BENCH_KEY=$KEY BENCH_FINGERPRINTS=$FINGERPRINTS \
    BENCH_RESOLVED_PERCENT=$RESOLVED_PERCENT \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$WORK/$script" "$BASE$path" >/dev/null
  out=$(BENCH_TOKEN=$TOKEN BENCH_KEY=$KEY BENCH_FINGERPRINTS=$FINGERPRINTS \
    BENCH_RESOLVED_PERCENT=$RESOLVED_PERCENT \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/$script" "$BASE$path")
  echo "$out" >&2
  line=$(grep '^RESULT ' <<<"$out")
  local requests duration p50 p99 non2xx socket
  requests=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$line")
  duration=$(sed -n 's/.* duration_us=\([0-9]*\).*/\1/p' <<<"$line")
  p50=$(sed -n 's/.* p50_us=\([0-9]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99_us=\([0-9]*\).*/\1/p' <<<"$line")
  non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
  socket=$(sed -n 's/.* socket_errors=\([0-9]*\).*/\1/p' <<<"$line")
  ROWS+=("$(awk -v b="$backend" -v l="$label" -v r="$requests" -v d="$duration" -v p50="$p50" \
    -v p99="$p99" -v e="$non2xx" -v s="$socket" 'BEGIN {
      printf "| %s | %s | %d | %.0f | %.2f ms | %.2f ms | %d | %d |", b, l, r, r / (d / 1e6),
        p50 / 1000, p99 / 1000, e, s }')")
}

bench_backend() { # bench_backend NAME [DATABASE_URL]
  local name=$1 url=${2:-}
  echo "bench-api: $name: starting the server" >&2
  start_server "$WORK/$name" "$url"
  echo "bench-api: $name: listening on $BASE; seeding $INCIDENTS incidents" >&2
  seed
  echo "bench-api: $name: GET /api/v1/incidents" >&2
  load "$name" "GET /api/v1/incidents" get.lua /api/v1/incidents
  echo "bench-api: $name: POST /api/v1/alerts/alertmanager" >&2
  load "$name" "POST /api/v1/alerts/alertmanager" ingest.lua /api/v1/alerts/alertmanager
  stop_server
}

echo "bench-api: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) bench_backend sqlite ;;
    postgres)
      if ! command -v psql >/dev/null 2>&1; then
        echo "bench-api: psql is missing; skipping PostgreSQL" >&2
        continue
      fi
      PG_DB=aoi_bench_$$
      psql "$PG/postgres" -q -c "create database $PG_DB" >/dev/null
      bench_backend postgres "$PG/$PG_DB"
      psql "$PG/postgres" -q -c "drop database if exists $PG_DB with (force)" >/dev/null
      PG_DB=
      ;;
    *) echo "bench-api: unknown backend $backend (sqlite, postgres)" >&2; exit 2 ;;
  esac
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $INCIDENTS seeded incidents; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| backend | endpoint | requests | requests/s | p50 | p99 | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
