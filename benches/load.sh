#!/usr/bin/env bash
# Load test of `desk serve` on SQLite with the demo workspace (DESIGN §10 budgets):
#   p50/p99, throughput and server CPU per request of the read, write and queue endpoints (four
#   views; "My open" both for an agent with a few tickets and for one with none) at a fixed
#   rate (wrk, paced by benches/wrk.lua),
#   memory of N idle SSE streams and the delivery delay of events to all of them
#   (benches/sse.rs, a tokio client with one raw socket per stream; DESK_BENCH_SSE_ROUNDS (30)
#   events are timed).
# Needs: wrk (apt-get install -y wrk), python3, curl. Knobs: DESK_BENCH_SIZE (100000),
# DESK_BENCH_RATE (500), DESK_BENCH_DURATION (20s), DESK_BENCH_SSE (1000), DESK_BENCH_PORT (7272).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${DESK_BENCH_SIZE:-100000}
RATE=${DESK_BENCH_RATE:-500}
DURATION=${DESK_BENCH_DURATION:-20s}
SSE=${DESK_BENCH_SSE:-1000}
PORT=${DESK_BENCH_PORT:-7272}
CONNS=10
TOKEN="bench-$(date +%s)-$$"
BASE="http://127.0.0.1:$PORT"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --bin desk >&2
cargo bench --bench sse --no-run >&2

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

ulimit -n 65536 2>/dev/null || ulimit -n 4096 || true
t0=$(date +%s.%N)
DESK_LOG=info,tower_http=warn target/release/desk serve --db "sqlite://$work/desk.db" --bind "127.0.0.1:$PORT" \
  --demo-size "$SIZE" --bootstrap-token "$TOKEN" --rate-limit 0 --max-streams-per-token $((SSE + 10)) \
  2>"$work/serve.log" &
pid=$!
until grep -q "listening on" "$work/serve.log"; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done
t1=$(date +%s.%N)
seed_ms=$(grep -o 'elapsed_ms=[0-9]*' "$work/serve.log" | head -1 | tr -dc '0-9')
echo "machine: $(nproc) cores, $(uname -sr)"
cpu_s=$(awk '{printf "%.1f", ($14 + $15) / 100}' /proc/$pid/stat)
echo "startup: ${SIZE} demo tickets seeded in ${seed_ms} ms wall, ${cpu_s} s CPU of desk (process start to listening: $(echo "$t1 - $t0" | bc) s; load average: $(cut -d' ' -f1-3 /proc/loadavg))"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# The first start records the SLA warnings already due (a pass over every running clock, a few
# seconds at 100,000 tickets): wait until the server is idle so it does not share the first run.
for _ in $(seq 120); do
  a=$(cpu_ticks); sleep 1; b=$(cpu_ticks)
  [ $((b - a)) -le 5 ] && break
done
echo "idle after start: $(awk '{printf "%.1f", ($14 + $15) / 100}' /proc/$pid/stat) s CPU of desk in total"

api() { curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }
view_id() {
  api "$BASE/api/v1/views?counts=false" |
    python3 -c 'import json,sys; print(next(v["id"] for v in json.load(sys.stdin)["items"] if v["name"]==sys.argv[1]))' "$1"
}
# "My open" is measured twice: for the bootstrap admin (the demo gives it a handful of open
# tickets) and for a new agent of one team who owns none, the case that used to scan every ticket.
team=$(api "$BASE/api/v1/teams" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
agent=$(api -X POST "$BASE/api/v1/agents" \
  -d "{\"name\": \"Bench Agent\", \"email\": \"bench-$$@desk.example\", \"role\": \"agent\", \"teams\": [$team]}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
AGENT_TOKEN=$(api -X POST "$BASE/api/v1/tokens" -d "{\"agent_id\": $agent, \"name\": \"bench\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# name|mode|token|view
runs=(
  "get|get|$TOKEN|0"
  "messages|messages|$TOKEN|0"
  "post|post|$TOKEN|0"
  "list Unassigned|list|$TOKEN|$(view_id Unassigned)"
  "list Urgent|list|$TOKEN|$(view_id Urgent)"
  "list Breaching soon|list|$TOKEN|$(view_id 'Breaching soon')"
  "list My open (admin, a handful)|list|$TOKEN|$(view_id 'My open')"
  "list My open (agent, none)|list|$AGENT_TOKEN|$(view_id 'My open')"
)
for run in "${runs[@]}"; do
  IFS='|' read -r name mode token view <<<"$run"
  before=$(cpu_ticks)
  out=$(wrk -t2 -c$CONNS -d"$DURATION" --timeout 5s -s benches/wrk.lua "$BASE" -- "$mode" "$token" "$RATE" "$CONNS" "$SIZE" "$view" |
    grep '^RESULT' | sed "s/mode=[a-z]*/mode=\"$name\"/")
  after=$(cpu_ticks)
  # CPU time of the server per request: steadier than latency when other work shares the cores.
  requests=$(echo "$out" | grep -o 'requests=[0-9]*' | tr -dc '0-9')
  echo "$out server_cpu_ms_per_req=$(echo "scale=3; ($after - $before) * 10 / ${requests:-1}" | bc) load=$(cut -d' ' -f1 /proc/loadavg)"
done
echo "rss_after_http_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"

DESK_BENCH_SSE_URL="$BASE" DESK_BENCH_TOKEN="$TOKEN" DESK_BENCH_PID="$pid" DESK_BENCH_TICKET=1 \
  DESK_BENCH_SSE="$SSE" cargo bench --bench sse
