#!/usr/bin/env bash
# Work-order history benchmark (issue 3): PostgreSQL holding ORDERS historical orders (default
# 5,000,000: about 85 days of Beijing-wide 12345 volume), then the three rates for a district
# over a month and the dispatchers' queues under a real HTTP load generator (wrk).
#
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_orders_bench bench/orders.sh [ORDERS] [DAYS]
#
# The database named by BENCH_DATABASE_URL is dropped and recreated unless BENCH_REUSE=1 (then
# the orders loaded by an earlier run are measured again). Needs wrk (apt-get install wrk) and psql.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BENCH_DATABASE_URL:?set BENCH_DATABASE_URL to a PostgreSQL database that may be dropped}"
ORDERS=${1:-5000000}
DAYS=${2:-85}
PORT=${BENCH_PORT:-18091}
DURATION=${BENCH_SECONDS:-10}
WORK=${BENCH_DIR:-/tmp/linli-orders-bench}
mkdir -p "$WORK"

cargo build --release -q -p linli --bin linli
cargo build --release -q -p linli-demo --example orders_history
BIN=target/release/linli
DB=(--database-url "$BENCH_DATABASE_URL")

if [ "${BENCH_REUSE:-0}" != 1 ]; then
    admin_url="${BENCH_DATABASE_URL%/*}/postgres"
    db="${BENCH_DATABASE_URL##*/}"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
    start=$(date +%s)
    target/release/examples/orders_history "$BENCH_DATABASE_URL" "$ORDERS" "$DAYS"
    echo "loaded $ORDERS orders in $(( $(date +%s) - start )) s"
    # What autovacuum would do in time: statistics, and the visibility map index-only scans need.
    psql "$BENCH_DATABASE_URL" -qc "VACUUM ANALYZE orders" > /dev/null
fi
psql "$BENCH_DATABASE_URL" -Atc "SELECT 'orders: ' || count(*) FROM orders" -c "SELECT 'table and indexes: ' || pg_size_pretty(pg_total_relation_size('orders'))"

user() { # username role bind-flag code
    "$BIN" user create --username "$1" --password bench-password --role "$2" "$3" "$4" "${DB[@]}" > /dev/null 2>&1 || true
    "$BIN" user token --username "$1" "${DB[@]}"
}
leader=$(user bench-leader leader --region 110000)
street=$(user bench-street street_dispatcher --region 110114001)
district=$(user bench-district district_dispatcher --region 110114)
community=$(user bench-community community_worker --region 110114001001)
water=$(user bench-water department_handler --org dept.water)

"$BIN" serve --listen "127.0.0.1:$PORT" "${DB[@]}" > "$WORK/serve.log" 2>&1 &
server=$!
trap 'kill $server 2> /dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "127.0.0.1:$PORT/readyz" > /dev/null && break; sleep 0.2; done

month_from=$(date -u -d '-31 days' +%F)
month_to=$(date -u -d '-1 days' +%F)
endpoints=(
    "rates: 昌平区, one month|$leader|1|/api/v1/rates?region=110114&from=$month_from&to=$month_to"
    "rates: 昌平区, one month|$leader|4|/api/v1/rates?region=110114&from=$month_from&to=$month_to"
    "rates: 海淀区 (largest but one), one month|$leader|1|/api/v1/rates?region=110108&from=$month_from&to=$month_to"
    "rates: 朝阳区 (largest), one month|$leader|1|/api/v1/rates?region=110105&from=$month_from&to=$month_to"
    "rates: all Beijing, one month|$leader|1|/api/v1/rates?from=$month_from&to=$month_to"
    "rates: one street, one month|$leader|1|/api/v1/rates?region=110114001&from=$month_from&to=$month_to"
    "rates: one department in 昌平区, one month|$leader|1|/api/v1/rates?region=110114&org=dept.water&from=$month_from&to=$month_to"
    "queue: district dispatcher, new orders|$district|4|/api/v1/orders?mine=true&status=new&limit=50"
    "queue: street dispatcher, awaiting dispatch|$street|4|/api/v1/orders?mine=true&status=dispatched,returned&limit=50"
    "queue: community, its open orders|$community|4|/api/v1/orders?mine=true&status=dispatched,accepted,in_progress&limit=50"
    "queue: community, everything it holds|$community|4|/api/v1/orders?mine=true&limit=50"
    "queue: community, overdue|$community|4|/api/v1/orders?mine=true&overdue=true&limit=50"
    "queue: water department, open orders|$water|4|/api/v1/orders?mine=true&status=dispatched,accepted,in_progress&limit=50"
    "queue: water department, one category, overdue|$water|4|/api/v1/orders?mine=true&category=util.water&overdue=true&limit=50"
    "list: district, one category since a month|$district|4|/api/v1/orders?category=util.water&from=$month_from&limit=50"
    "list: street, open overdue orders|$street|4|/api/v1/orders?within=110114001&overdue=true&status=dispatched,accepted,in_progress&limit=50"
    "list: street, every overdue order ever|$street|4|/api/v1/orders?within=110114001&overdue=true&limit=50"
)
echo
echo "| request (wrk -t1 -d${DURATION}s) | connections | status | records | p50 | p99 | requests/s |"
echo "|---|---|---|---|---|---|---|"
for entry in "${endpoints[@]}"; do
    IFS='|' read -r name token connections path <<< "$entry"
    body=$(curl -s -w '\n%{http_code}' -H "authorization: Bearer $token" "127.0.0.1:$PORT$path")
    code=$(tail -n1 <<< "$body")
    if [[ $path == /api/v1/rates* ]]; then
        count=$(head -n -1 <<< "$body" | grep -o '"orders":[0-9]*' | head -1 | cut -d: -f2 || true)
    else
        count=$(head -n -1 <<< "$body" | grep -o '"version":' | wc -l || true)
    fi
    [ "$code" = 200 ] || echo "$path: $(head -c 300 <<< "$body")" >&2
    out=$(wrk -t1 -c"$connections" -d"${DURATION}s" --latency -H "authorization: Bearer $token" "http://127.0.0.1:$PORT$path")
    p50=$(awk '$1 == "50%" { print $2 }' <<< "$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<< "$out")
    rps=$(awk '/Requests\/sec/ { print $2 }' <<< "$out")
    echo "| $name | $connections | $code | $count | $p50 | $p99 | $rps |"
done
