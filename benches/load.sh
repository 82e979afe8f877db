#!/usr/bin/env bash
# Load test of `desk serve` on SQLite with the demo workspace (DESIGN §10 budgets):
#   p50/p99 and throughput of four endpoints at a fixed rate (wrk, paced by benches/wrk.lua),
#   memory of N idle SSE streams and the delivery delay of events to all of them
#   (benches/sse.rs, a tokio client with one raw socket per stream).
# Needs: wrk (apt-get install -y wrk), python3, curl. DESK_BENCH_SSE_ROUNDS (30) events are timed. Knobs: DESK_BENCH_SIZE (100000),
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

view=$(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/views?counts=false" |
  python3 -c 'import json,sys; print(next(v["id"] for v in json.load(sys.stdin)["items"] if v["name"]=="Unassigned"))')

for mode in list get messages post; do
  wrk -t2 -c$CONNS -d"$DURATION" --timeout 5s -s benches/wrk.lua "$BASE" -- "$mode" "$TOKEN" "$RATE" "$CONNS" "$SIZE" "$view" |
    grep '^RESULT' | sed "s/mode=nil/mode=$mode/"
done
echo "rss_after_http_kib=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"

DESK_BENCH_SSE_URL="$BASE" DESK_BENCH_TOKEN="$TOKEN" DESK_BENCH_PID="$pid" DESK_BENCH_TICKET=1 \
  DESK_BENCH_SSE="$SSE" cargo bench --bench sse
