#!/usr/bin/env bash
# Sensing benchmark (issue 4): telemetry over MQTT into Linli, measured against the broker's own
# ceiling in the same run.
#
#   bench/ingest.sh [MESSAGES]                      (default 300000)
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_ingest_bench bench/ingest.sh
#
# Starts its own Mosquitto on a spare port (no per-client queue limit, so a slow consumer is
# measured rather than hidden by dropped messages), loads the demo world (180 smart bins), serves
# it with --mqtt, and drives it with the mqtt_load generator in a separate process:
#   1. the broker's ceiling: a plain subscriber consuming the same stream;
#   2. sustained ingest: for each rate in RATES (messages/s), 5 s of telemetry published at that
#      pace, timed until Linli has accepted (validated, stored, rules run, acknowledged) every one:
#      a rate is sustained when the last message is accepted within a second of the last publish;
#   3. latency: 5,000 messages/s for 20 s, one in 500 reporting a full bin; for every firing,
#      publish → event (the event's commit time in the outbox against its reading time, `ts` =
#      publish), and publish → order opened (each order's creation against its first event).
# Needs mosquitto, sqlite3 (and psql for PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
MESSAGES=${1:-300000}
PORT=${BENCH_MQTT_PORT:-18830}
HTTP=${BENCH_PORT:-18092}
WORK=${BENCH_DIR:-/tmp/linli-ingest-bench}
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release -q -p linli --bin linli
cargo build --release -q -p linli-bus --example mqtt_load
cargo build --release -q -p linli-demo --example orders_history
BIN=target/release/linli
LOAD=target/release/examples/mqtt_load
URL="mqtt://127.0.0.1:$PORT"

cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
CONF
mosquitto -c "$WORK/mosquitto.conf" > "$WORK/mosquitto.log" 2>&1 &
broker=$!
server=""
trap 'kill $broker $server 2> /dev/null || true' EXIT
sleep 0.5

echo "## broker ceiling (Mosquitto, QoS 1, one publisher, one plain subscriber)"
$LOAD ceiling "$URL" "$MESSAGES"

accepted() { curl -s "127.0.0.1:$HTTP/metrics" | awk '/linli_sensing_messages_total\{outcome="accepted"\}/ { print $2 }'; }

run_backend() { # label, storage flags…
    local label=$1; shift
    "$BIN" serve --mqtt "$URL" --listen "127.0.0.1:$HTTP" "$@" > "$WORK/serve-$label.log" 2>&1 &
    server=$!
    for _ in $(seq 1 100); do curl -sf "127.0.0.1:$HTTP/readyz" > /dev/null && break; sleep 0.2; done
    sleep 1
    echo
    echo "## $label: sustained ingest (5 s at each rate)"
    for rate in ${RATES:-10000 20000 30000 50000}; do
        local count=$(( rate * 5 )) start end before
        before=$(accepted); before=${before:-0}
        start=$(date +%s.%N)
        $LOAD publish "$URL" "$count" "$rate" "$WORK/bins.txt" > /dev/null
        for _ in $(seq 1 300); do
            local now; now=$(accepted)
            [ $(( ${now:-0} - before )) -ge "$count" ] && break
            sleep 0.1
        done
        end=$(date +%s.%N)
        awk -v r="$rate" -v n="$count" -v s="$start" -v e="$end" -v got="$(( $(accepted) - before ))" \
            'BEGIN { printf "rate %d/s: accepted %d of %d in %.2f s (%.0f messages/s)\n", r, got, n, e - s, got / (e - s) }'
    done
    echo
    echo "## $label: publish → event and publish → order latency at 5,000 messages/s"
    local mark; mark=$(( $(date +%s%3N) ))
    $LOAD publish "$URL" 100000 5000 "$WORK/bins.txt" 500
    sleep 2
    for what in event order; do
        "$LATENCY" "$what" "$mark" > "$WORK/latency-$what-$label.txt"
        sort -n "$WORK/latency-$what-$label.txt" | awk -v what="$what" '{ a[NR] = $1 } END { if (NR == 0) { print "no " what "s"; exit } printf "%ss: %d; publish → %s p50 %d ms, p99 %d ms, max %d ms\n", what, NR, what, a[int(NR * 0.5) + (NR * 0.5 > int(NR * 0.5))], a[int(NR * 0.99) + (NR * 0.99 > int(NR * 0.99))], a[NR] }'
    done
    kill "$server"; wait "$server" 2> /dev/null || true
    server=""
}

# SQLite: the demo world.
"$BIN" demo --no-serve --scale 1000 --data-dir "$WORK/sqlite" > /dev/null
sqlite3 "$WORK/sqlite/linli.db" "SELECT code FROM devices WHERE kind = 'smart_bin'" > "$WORK/bins.txt"
LATENCY="$WORK/latency-sqlite.sh"
cat > "$LATENCY" <<SH
#!/usr/bin/env bash
case \$1 in
event) sqlite3 "$WORK/sqlite/linli.db" "SELECT x.at - e.occurred_at FROM outbox x JOIN events e ON e.id = json_extract(x.payload, '\\$.event.id') WHERE x.topic = 'event.created' AND e.source = 'iot' AND x.at >= \$2" ;;
order) sqlite3 "$WORK/sqlite/linli.db" "SELECT o.created_at - MIN(e.occurred_at) FROM orders o JOIN events e ON e.incident_id = o.incident_id WHERE o.source = 'iot' AND o.created_at >= \$2 GROUP BY o.id" ;;
esac
SH
chmod +x "$LATENCY"
run_backend sqlite --data-dir "$WORK/sqlite"

if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    admin_url="${BENCH_DATABASE_URL%/*}/postgres"
    db="${BENCH_DATABASE_URL##*/}"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" > /dev/null
    target/release/examples/orders_history "$BENCH_DATABASE_URL" 0 > /dev/null 2>&1
    LATENCY="$WORK/latency-postgres.sh"
    cat > "$LATENCY" <<SH
#!/usr/bin/env bash
case \$1 in
event) psql "$BENCH_DATABASE_URL" -Atc "SELECT x.at - e.occurred_at FROM outbox x JOIN events e ON e.id = (x.payload::jsonb -> 'event' ->> 'id')::bigint WHERE x.topic = 'event.created' AND e.source = 'iot' AND x.at >= \$2" ;;
order) psql "$BENCH_DATABASE_URL" -Atc "SELECT o.created_at - MIN(e.occurred_at) FROM orders o JOIN events e ON e.incident_id = o.incident_id WHERE o.source = 'iot' AND o.created_at >= \$2 GROUP BY o.id" ;;
esac
SH
    chmod +x "$LATENCY"
    run_backend postgres --database-url "$BENCH_DATABASE_URL" --data-dir "$WORK/pg-media"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" > /dev/null
fi
