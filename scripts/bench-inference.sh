#!/usr/bin/env bash
# Load benchmark of the inference path: what the router pool and `aoi serve` add on top of a
# vLLM backend, measured against the fake one (zero latency) so only our overhead shows.
#
#   scripts/bench-inference.sh                  # the full run (a few minutes)
#   DURATION=3 STREAMS=2000 scripts/bench-inference.sh
#
# In one run, on loopback:
#   1. builds aoi, fake-vllm, aoi-loadgen and aoi-pool-front (release; CARGO_TARGET_DIR, default
#      /var/tmp/aoi-target);
#   2. starts fake-vllm (no artificial latency), aoi-pool-front on it (the pool alone: no auth,
#      quotas, redaction or audit) and `aoi serve` (temporary data dir, the fake as its only
#      [[inference.backends]] entry, an operator API key minted through the REST API);
#   3. for each rate in RATES: `aoi-loadgen rate` (open loop, latency from the intended send
#      time) against (a) fake-vllm directly, (b) aoi-pool-front, (c) aoi serve, in that order;
#   4. the highest sustained rate of (c) then (b): the rate goes up by SEARCH_FACTOR from
#      SEARCH_START until achieved < 97% of target, p99 > MAX_P99_MS or any error;
#   5. STREAMS concurrent streams through (b), then (c), against a second fake-vllm that streams
#      slowly (STREAM_WORDS words at STREAM_TPS tokens/s) so all are open at once, with the peak
#      resident memory of the process in front; once per protocol in STREAM_PROTOCOLS: `http2`
#      sends them over HTTP/2 prior knowledge, STREAMS_PER_CONN per connection (the process in
#      front then holds one upstream socket per stream and few client sockets), `http1` over one
#      connection each (two sockets per stream in front: capped to fit the open-files limit).
# Prints a markdown table (p50/p99, and what the pool and aoi serve add to the direct figures,
# per percentile) and writes every JSON result to the folder it prints (RESULTS to choose it).
#
# Settings (environment): DURATION (s, default 20), RATES ("1000 5000"), CONNECTIONS (512),
# MAX_P99_MS (100), SEARCH_START (1000), SEARCH_FACTOR (1.5), SEARCH_MAX (100000),
# SEARCH_DURATION (s, default DURATION), STREAMS (10000), STREAM_PROTOCOLS ("http2 http1"),
# STREAMS_PER_CONN (100), STREAM_WORDS (30), STREAM_TPS (0.5),
# OPEN_CONCURRENCY (64: streams connecting at once, under the servers' listen backlogs),
# PORT_BASE (18400: uses PORT_BASE+1..+6), LOADGEN_THREADS (unset: one per core), SKIP_BUILD=1.
set -euo pipefail

DURATION=${DURATION:-20}
RATES=${RATES:-1000 5000}
CONNECTIONS=${CONNECTIONS:-512}
MAX_P99_MS=${MAX_P99_MS:-100}
SEARCH_START=${SEARCH_START:-1000}
SEARCH_FACTOR=${SEARCH_FACTOR:-1.5}
SEARCH_MAX=${SEARCH_MAX:-100000}
SEARCH_DURATION=${SEARCH_DURATION:-$DURATION}
STREAMS=${STREAMS:-10000}
STREAM_PROTOCOLS=${STREAM_PROTOCOLS:-http2 http1}
STREAMS_PER_CONN=${STREAMS_PER_CONN:-100}
STREAM_WORDS=${STREAM_WORDS:-30}
STREAM_TPS=${STREAM_TPS:-0.5}
OPEN_CONCURRENCY=${OPEN_CONCURRENCY:-64}
PORT_BASE=${PORT_BASE:-18400}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/aoi-target}
ADMIN_PASSWORD=bench-admin-password-$$

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

die() {
  echo "bench-inference: $*" >&2
  exit 1
}

for tool in curl jq cargo; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done

RESULTS=${RESULTS:-$(mktemp -d -t aoi-bench-inference.XXXXXX)}
mkdir -p "$RESULTS/logs"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# Over HTTP/1.1 every stream holds a socket on each side of the process in front of the fake;
# over HTTP/2 one upstream socket per stream and one client socket per STREAMS_PER_CONN.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
STREAMS_http1=$STREAMS
STREAMS_http2=$STREAMS
if [[ "$NOFILE" != unlimited ]]; then
  if ((2 * STREAMS + 200 > NOFILE)); then
    STREAMS_http1=$(((NOFILE - 200) / 2))
    [[ " $STREAM_PROTOCOLS " == *" http1 "* ]] &&
      echo "bench-inference: open files limit $NOFILE is too low for $STREAMS HTTP/1.1 streams" \
        "(2 sockets each in the process in front); using $STREAMS_http1 for http1" >&2
  fi
  if ((STREAMS + STREAMS / STREAMS_PER_CONN + 201 > NOFILE)); then
    STREAMS_http2=$(((NOFILE - 201) * STREAMS_PER_CONN / (STREAMS_PER_CONN + 1)))
    echo "bench-inference: open files limit $NOFILE is too low for $STREAMS HTTP/2 streams;" \
      "using $STREAMS_http2" >&2
  fi
fi
for protocol in $STREAM_PROTOCOLS; do
  [[ "$protocol" == http1 || "$protocol" == http2 ]] ||
    die "STREAM_PROTOCOLS: unknown protocol \`$protocol\` (use http1 and/or http2)"
done

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  echo "bench-inference: building release binaries in $CARGO_TARGET_DIR" >&2
  cargo build --release --quiet -p aoi-server -p aoi-test-support -p aoi-loadgen
fi
BIN=$CARGO_TARGET_DIR/release
for bin in aoi fake-vllm aoi-loadgen aoi-pool-front; do
  [[ -x "$BIN/$bin" ]] || die "$BIN/$bin is missing; build it or unset SKIP_BUILD"
done
LOADGEN=("$BIN/aoi-loadgen")
if [[ -n "${LOADGEN_THREADS:-}" ]]; then LOADGEN+=(--threads "$LOADGEN_THREADS"); fi

# --- processes -------------------------------------------------------------------------------
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME PORT READY_PATH COMMAND...: starts it in the background (logs in $RESULTS/logs),
# waits until GET READY_PATH answers; sets STARTED_PID.
start() {
  local name=$1 port=$2 ready=$3
  shift 3
  port_busy "$port" && die "port $port (for $name) is busy; set PORT_BASE to a free range"
  "$@" >"$RESULTS/logs/$name.out" 2>"$RESULTS/logs/$name.err" &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  local i
  for i in $(seq 1 600); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port$ready"; then return 0; fi
    if ! kill -0 "$STARTED_PID" 2>/dev/null; then
      echo "bench-inference: $name exited before it was ready; its output:" >&2
      cat "$RESULTS/logs/$name.out" "$RESULTS/logs/$name.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  die "$name did not answer http://127.0.0.1:$port$ready within 60 s (logs in $RESULTS/logs)"
}

stop() { # stop PID
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# start_aoi NAME PORT BACKEND_PORT: aoi serve on the fake at BACKEND_PORT; sets AOI_PID, AOI_KEY.
start_aoi() {
  local name=$1 port=$2 backend=$3 dir=$RESULTS/$1
  mkdir -p "$dir"
  cat >"$dir/aoi.toml" <<TOML
[[inference.backends]]
name = "fake-vllm"
url = "http://127.0.0.1:$backend"
max_in_flight = 100000
TOML
  start "$name" "$port" /readyz env -u DATABASE_URL -u REDIS_URL AOI_ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    AOI__WORKERS__AGENT=0 AOI__WORKERS__EVOLVER=0 RUST_LOG="${BENCH_RUST_LOG:-warn}" \
    "$BIN/aoi" serve --config "$dir/aoi.toml" --data-dir "$dir/data" --listen "127.0.0.1:$port"
  AOI_PID=$STARTED_PID
  local base=http://127.0.0.1:$port token
  token=$(curl -sf -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"tenant\":\"default\",\"username\":\"admin\",\"password\":\"$ADMIN_PASSWORD\"}" |
    jq -r '.access_token // empty') || true
  [[ -n "$token" ]] || die "$name: login as the bootstrap admin failed"
  AOI_KEY=$(curl -sf -X POST "$base/api/v1/api-keys" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d '{"name":"bench-inference","role":"operator"}' |
    jq -r '.key // empty') || true
  [[ -n "$AOI_KEY" ]] || die "$name: creating an API key failed"
  local check
  check=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/chat/completions" \
    -H "Authorization: Bearer $AOI_KEY" -H 'Content-Type: application/json' -d "$BODY")
  [[ "$check" == 200 ]] || die "$name: a first chat completion answered $check, not 200"
}

FAKE_PORT=$((PORT_BASE + 1))
FRONT_PORT=$((PORT_BASE + 2))
AOI_PORT=$((PORT_BASE + 3))
SLOW_FAKE_PORT=$((PORT_BASE + 4))
SLOW_FRONT_PORT=$((PORT_BASE + 5))
SLOW_AOI_PORT=$((PORT_BASE + 6))
BODY='{"model":"fake-model","messages":[{"role":"user","content":"Is the checkout service healthy?"}],"max_tokens":32}'
echo "$BODY" >"$RESULTS/body.json"

echo "bench-inference: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); results in $RESULTS" >&2
start fake-vllm "$FAKE_PORT" /health "$BIN/fake-vllm" --port "$FAKE_PORT"
start pool-front "$FRONT_PORT" /health "$BIN/aoi-pool-front" \
  --listen "127.0.0.1:$FRONT_PORT" --backend "http://127.0.0.1:$FAKE_PORT"
FRONT_PID=$STARTED_PID
start_aoi aoi "$AOI_PORT" "$FAKE_PORT"

# --- rate runs -------------------------------------------------------------------------------
URL_direct=http://127.0.0.1:$FAKE_PORT/v1/chat/completions
URL_pool=http://127.0.0.1:$FRONT_PORT/v1/chat/completions
URL_aoi=http://127.0.0.1:$AOI_PORT/v1/chat/completions

# rate TARGET RATE DURATION FILE: one open-loop run, its JSON to FILE and a line to stderr.
rate() {
  local target=$1 rps=$2 duration=$3 file=$4 url auth=()
  url=URL_$target
  if [[ "$target" == aoi ]]; then auth=(--header "authorization: Bearer $AOI_KEY"); fi
  "${LOADGEN[@]}" rate --url "${!url}" --rate "$rps" --duration "$duration" \
    --connections "$CONNECTIONS" --body-file "$RESULTS/body.json" "${auth[@]}" >"$file" ||
    die "aoi-loadgen rate against $target at $rps/s failed"
  jq -r --arg t "$target" '"bench-inference: \($t) @ \(.target_rate)/s: achieved \(.achieved_rate)/s, p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms, errors \(.errors)"' "$file" >&2
}

for rps in $RATES; do
  for target in direct pool aoi; do
    rate "$target" "$rps" "$DURATION" "$RESULTS/rate-$target-$rps.json"
  done
done

# sustained TARGET: the highest rate that passes; writes sustained-TARGET.json.
sustained() {
  local target=$1 rps=$SEARCH_START best=0 file
  while ((rps <= SEARCH_MAX)); do
    file=$RESULTS/search-$target-$rps.json
    rate "$target" "$rps" "$SEARCH_DURATION" "$file"
    if ! jq -e --argjson p99 "$MAX_P99_MS" \
      '.errors == 0 and .achieved_rate >= 0.97 * .target_rate and .p99_ms <= $p99' \
      "$file" >/dev/null; then
      break
    fi
    best=$rps
    rps=$(awk -v r="$rps" -v f="$SEARCH_FACTOR" 'BEGIN { printf "%d", r * f + 0.5 }')
  done
  jq -n --arg target "$target" --argjson best "$best" --argjson first_failing "$rps" \
    --argjson max_p99_ms "$MAX_P99_MS" \
    '{target: $target, sustained_rate: $best, first_failing_rate: $first_failing, max_p99_ms: $max_p99_ms, rule: "errors == 0, achieved >= 97% of target, p99 <= max_p99_ms"}' \
    >"$RESULTS/sustained-$target.json"
}
sustained aoi
sustained pool

stop "$AOI_PID"
stop "$FRONT_PID"

# --- concurrent streams ----------------------------------------------------------------------
words=$(for i in $(seq 1 "$STREAM_WORDS"); do printf 'word%d ' "$i"; done)
jq -n --arg reply "${words% }" '{default: $reply}' >"$RESULTS/slow-replies.json"
start slow-fake-vllm "$SLOW_FAKE_PORT" /health "$BIN/fake-vllm" --port "$SLOW_FAKE_PORT" \
  --tokens-per-sec "$STREAM_TPS" --replies "$RESULTS/slow-replies.json"
STREAM_TIMEOUT=$(awk -v w="$STREAM_WORDS" -v t="$STREAM_TPS" 'BEGIN { printf "%d", w / t * 3 + 120 }')

# streams TARGET PROTOCOL URL PID [HEADER]: STREAMS_<protocol> streams, to streams-TARGET-PROTOCOL.json.
streams() {
  local target=$1 protocol=$2 url=$3 pid=$4 count extra=()
  count=STREAMS_$protocol
  if [[ "$protocol" == http2 ]]; then extra+=(--http2 --streams-per-conn "$STREAMS_PER_CONN"); fi
  if [[ -n "${5:-}" ]]; then extra+=(--header "$5"); fi
  echo "bench-inference: ${!count} streams through $target over $protocol" >&2
  "${LOADGEN[@]}" streams --url "$url" --count "${!count}" \
    --open-concurrency "$OPEN_CONCURRENCY" --timeout "$STREAM_TIMEOUT" --rss-pid "$pid" \
    --body-file "$RESULTS/body.json" "${extra[@]}" >"$RESULTS/streams-$target-$protocol.json" ||
    die "aoi-loadgen streams against $target over $protocol failed"
  jq -r '"bench-inference: completed \(.completed)/\(.count), errors \(.errors), open at once \(.open_peak), connections \(.connections)"' \
    "$RESULTS/streams-$target-$protocol.json" >&2
}

# A fresh process in front for each run, so its peak memory is that run's.
for protocol in $STREAM_PROTOCOLS; do
  start slow-pool-front-$protocol "$SLOW_FRONT_PORT" /health "$BIN/aoi-pool-front" \
    --listen "127.0.0.1:$SLOW_FRONT_PORT" --backend "http://127.0.0.1:$SLOW_FAKE_PORT"
  SLOW_FRONT_PID=$STARTED_PID
  streams pool "$protocol" "http://127.0.0.1:$SLOW_FRONT_PORT/v1/chat/completions" "$SLOW_FRONT_PID"
  stop "$SLOW_FRONT_PID"
done

for protocol in $STREAM_PROTOCOLS; do
  start_aoi slow-aoi-$protocol "$SLOW_AOI_PORT" "$SLOW_FAKE_PORT"
  streams aoi "$protocol" "http://127.0.0.1:$SLOW_AOI_PORT/v1/chat/completions" "$AOI_PID" \
    "authorization: Bearer $AOI_KEY"
  stop "$AOI_PID"
done

# --- report ----------------------------------------------------------------------------------
echo
echo "Inference overhead, $(nproc) cores, load average after $(cut -d' ' -f1-3 /proc/loadavg);" \
  "open-loop rate for ${DURATION} s, up to $CONNECTIONS connections; latency from the intended send time."
echo "Added = minus the direct (fake-vllm) figure at the same rate and percentile."
echo
echo "| rate/s | target | achieved/s | errors | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms |"
echo "|---|---|---|---|---|---|---|---|---|"
for rps in $RATES; do
  for target in direct pool aoi; do
    jq -r --arg t "$target" --slurpfile d "$RESULTS/rate-direct-$rps.json" '
      def r: (. * 1000 | round) / 1000;
      "| \(.target_rate) | \({direct: "fake-vllm direct", pool: "aoi-pool-front", aoi: "aoi serve"} | .[$t]) | \(.achieved_rate) | \(.errors) | \(.p50_ms) | \(.p99_ms) | \(.p999_ms) | "
      + (if $t == "direct" then "- | - |" else "\((.p50_ms - $d[0].p50_ms) | r) | \((.p99_ms - $d[0].p99_ms) | r) |" end)' \
      "$RESULTS/rate-$target-$rps.json"
  done
done
echo
echo "| target | highest sustained rate/s | first failing rate/s |"
echo "|---|---|---|"
for target in aoi pool; do
  jq -r '"| \(.target as $t | {aoi: "aoi serve", pool: "aoi-pool-front"} | .[$t]) | \(.sustained_rate) | \(.first_failing_rate) |"' \
    "$RESULTS/sustained-$target.json"
done
echo
echo "Concurrent streams ($STREAM_WORDS words at $STREAM_TPS tokens/s each):"
echo
echo "| target | protocol | streams | connections | completed | errors | most open at once | TTFB p50 ms | TTFB p99 ms | RSS before MiB | peak RSS MiB | RSS at most open MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for target in pool aoi; do
  for protocol in $STREAM_PROTOCOLS; do
    jq -r --arg name "$([[ $target == pool ]] && echo aoi-pool-front || echo 'aoi serve')" \
      --arg protocol "$([[ $protocol == http2 ]] && echo "HTTP/2 (h2c), $STREAMS_PER_CONN per connection" || echo 'HTTP/1.1')" '
      def mib: if . == null then "-" else ((. / 1024 * 10 | round) / 10 | tostring) end;
      "| \($name) | \($protocol) | \(.count) | \(.connections) | \(.completed) | \(.errors) | \(.open_peak) | \(.ttfb_p50_ms) | \(.ttfb_p99_ms) | \(.rss.start_kib | mib) | \(.rss.peak_sampled_kib | mib) | \(.rss.at_most_open_kib | mib) |"' \
      "$RESULTS/streams-$target-$protocol.json"
  done
done
echo
echo "JSON results: $RESULTS"
