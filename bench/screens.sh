#!/usr/bin/env bash
# Screens benchmark (issue 5): the cockpit's first load and its behaviour under 1,000 live events
# a minute, in Debian's chromium driven by playwright-core, against the default demo (50,000
# residents, a month of city-wide history) served by the release binary.
#
#   bench/screens.sh [EVENTS_PER_MINUTE] [MINUTES]      (default 1000 1)
#
# Needs Node.js, `npm ci` in ui/ and chromium (/usr/bin/chromium or BENCH_CHROMIUM).
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${1:-1000}
MINUTES=${2:-1}
HTTP=${BENCH_PORT:-18093}
WORK=${BENCH_DIR:-/tmp/linli-screens-bench}
CHROMIUM=${BENCH_CHROMIUM:-/usr/bin/chromium}
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release -q -p linli --bin linli
target/release/linli demo --listen "127.0.0.1:$HTTP" --data-dir "$WORK" >"$WORK/demo.log" 2>&1 &
DEMO=$!
trap 'kill $DEMO 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    grep -q "linli listening" "$WORK/demo.log" && break
    sleep 1
done
grep "demo world built" "$WORK/demo.log"
node bench/screens.mjs --base "http://127.0.0.1:$HTTP" --chromium "$CHROMIUM" --rate "$RATE" --minutes "$MINUTES"
