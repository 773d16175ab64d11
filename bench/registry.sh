#!/usr/bin/env bash
# Registry benchmark: CSV import into SQLite (and PostgreSQL), then list/filter/bbox/radius
# endpoints under a real HTTP load generator (wrk) on both backends.
#
#   bench/registry.sh [DWELLINGS] [RESIDENTS]        (default 1000000 2000000)
#
# Needs wrk (apt-get install wrk). PostgreSQL is measured when BENCH_DATABASE_URL is set to a
# server URL whose database may be dropped and recreated (default: skip), e.g.
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_bench
set -euo pipefail
cd "$(dirname "$0")/.."
DWELLINGS=${1:-1000000}
RESIDENTS=${2:-2000000}
WORK=${BENCH_DIR:-/tmp/linli-bench}
PORT=${BENCH_PORT:-18090}
DURATION=${BENCH_SECONDS:-10}

cargo build --release -q -p linli --bin linli
cargo build --release -q -p linli-demo --example registry_csv
BIN=target/release/linli
rm -rf "$WORK" && mkdir -p "$WORK"
target/release/examples/registry_csv "$WORK/csv" "$DWELLINGS" "$RESIDENTS"

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

import_all() { # $@: storage flags
    local total_start; total_start=$(now)
    for kind in regions dwellings residents; do
        local start; start=$(now)
        "$BIN" import "$kind" "$WORK/csv/$kind.csv" "$@" > /dev/null
        echo "| import $kind | $(seconds "$start" "$(now)") s |"
    done
    echo "| import total | $(seconds "$total_start" "$(now)") s |"
}

load_endpoints() { # $@: storage flags
    "$BIN" user create --username bench-leader --password bench-password --role leader --region cp "$@" > /dev/null
    local token; token=$("$BIN" user token --username bench-leader "$@")
    "$BIN" serve --listen "127.0.0.1:$PORT" "$@" > "$WORK/serve.log" 2>&1 &
    local server=$!
    for _ in $(seq 1 100); do curl -sf "127.0.0.1:$PORT/readyz" > /dev/null && break; sleep 0.2; done
    # A cursor near the end of the dwellings, to show that deep pages cost what the first does.
    local deep; deep=$(curl -s -H "authorization: Bearer $token" "127.0.0.1:$PORT/api/v1/regions?within=s5c9&level=dwelling&limit=1" | grep -o '"next_cursor":"[^"]*"' | cut -d'"' -f4)
    local endpoints=(
        "list dwellings|/api/v1/regions?level=dwelling&limit=50"
        "list dwellings, deep page|/api/v1/regions?level=dwelling&limit=50&cursor=$deep"
        "filter: dwellings within a community|/api/v1/regions?level=dwelling&within=s3c5&limit=50"
        "filter: children of a unit|/api/v1/regions?parent=s4c7b3u1&limit=50"
        "bbox: dwellings in 300 m x 300 m|/api/v1/regions?level=dwelling&bbox=116.3732,40.0637,116.3768,40.0663&limit=50"
        "bbox: buildings in a street|/api/v1/regions?level=building&bbox=116.36,40.055,116.39,40.075&limit=50"
        "bbox: everything in 300 m x 300 m|/api/v1/regions?bbox=116.3732,40.0637,116.3768,40.0663&limit=50"
        "radius: dwellings within 200 m|/api/v1/regions?level=dwelling&near=116.375,40.065&radius=200&limit=50"
        "search: name or code substring|/api/v1/regions?q=s4c7b3u&limit=50"
        "search: a community by name (社区3-4)|/api/v1/regions?q=%E7%A4%BE%E5%8C%BA3-4&limit=50"
        "search: a dwelling's code|/api/v1/regions?q=s3c5b77u2d1&limit=50"
        "search: two characters (社区, a scan)|/api/v1/regions?q=%E7%A4%BE%E5%8C%BA&limit=50"
        "get one dwelling|/api/v1/regions/s2c2b2u1d5"
        "residents within a building (masked)|/api/v1/residents?within=s1c1b1&limit=50"
        "residents within a community (masked)|/api/v1/residents?within=s5c9&limit=50"
        "residents by care tag in a street|/api/v1/residents?within=s2&care_tag=elderly_alone&limit=50"
    )
    for entry in "${endpoints[@]}"; do
        local name=${entry%%|*} path=${entry#*|}
        local body code count
        body=$(curl -s -w '\n%{http_code}' -H "authorization: Bearer $token" "127.0.0.1:$PORT$path")
        code=$(tail -n1 <<< "$body")
        count=$(head -n -1 <<< "$body" | grep -o '"code":\|"id":[0-9]' | wc -l)
        local out; out=$(wrk -t1 -c4 -d"${DURATION}s" --latency -H "authorization: Bearer $token" "http://127.0.0.1:$PORT$path")
        local p50 p99 rps
        p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
        p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
        rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
        echo "| $name | $code | $count | $p50 | $p99 | $rps |"
    done
    kill "$server"; wait "$server" 2> /dev/null || true
}

echo "## SQLite: $DWELLINGS dwellings, $RESIDENTS residents"
echo "| step | wall time |"
echo "|---|---|"
import_all --data-dir "$WORK/sqlite"
echo "database file: $(du -sh "$WORK/sqlite" | cut -f1)"
echo
echo "| endpoint (wrk -t1 -c4 -d${DURATION}s) | status | records | p50 | p99 | requests/s |"
echo "|---|---|---|---|---|---|"
load_endpoints --data-dir "$WORK/sqlite"

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    admin_url="${BENCH_DATABASE_URL%/*}/postgres"
    db="${BENCH_DATABASE_URL##*/}"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
    echo
    echo "## PostgreSQL: $DWELLINGS dwellings, $RESIDENTS residents"
    echo "| step | wall time |"
    echo "|---|---|"
    import_all --database-url "$BENCH_DATABASE_URL"
    psql "$BENCH_DATABASE_URL" -qc "VACUUM ANALYZE" > /dev/null
    echo
    echo "| endpoint (wrk -t1 -c4 -d${DURATION}s) | status | records | p50 | p99 | requests/s |"
    echo "|---|---|---|---|---|---|"
    load_endpoints --database-url "$BENCH_DATABASE_URL"
fi
