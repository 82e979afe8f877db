#!/usr/bin/env bash
# Server CPU per event fanned out to 1,000 SSE streams, which the machine's load barely moves
# (unlike delivery times): runs benches/sse.rs against one `desk serve` with 5 and with 55
# events and reports the CPU ticks (1/100 s) the server used in each run; (55-run - 5-run) / 50
# is the cost of one event (PATCH, commit, fan-out, 1,000 writes), stream set-up cancelled out.
# Usage: benches/sse_cpu.sh [DESK_BINARY] [PORT]   (default: the release build, port 17391)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin desk >&2
bench=$(cargo bench --bench sse --no-run 2>&1 | grep -o 'target/release/deps/sse-[0-9a-f]*' | head -1)
bin=${1:-target/release/desk}
port=${2:-17391}
work=$(mktemp -d)
# A finished run's streams are noticed as closed only at the server's next write to them, so
# the next run's 1,000 streams open while those still count: hence the high stream limit.
"$bin" serve --db "sqlite://$work/d.db" --bind "127.0.0.1:$port" --demo-size 1000 --rate-limit 0 \
  --max-streams-per-token 5000 --bootstrap-token cputok 2>"$work/log" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until grep -q "listening on" "$work/log"; do kill -0 $pid || { cat "$work/log" >&2; exit 1; }; sleep 0.2; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for rounds in 5 55 5 55; do
  a=$(cpu)
  DESK_BENCH_SSE_URL="http://127.0.0.1:$port" DESK_BENCH_TOKEN=cputok DESK_BENCH_PID=$pid DESK_BENCH_TICKET=1 \
    DESK_BENCH_SSE_ROUNDS=$rounds "$bench" >"$work/out" 2>&1
  b=$(cpu)
  echo "rounds=$rounds cpu_ticks=$((b - a)) $(grep send_to_frame "$work/out")"
  sleep 1
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
