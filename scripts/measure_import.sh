#!/usr/bin/env bash
# Times `lightsync import` of a small W1-shaped store (fresh database each run) with the given
# binary: wall time, peak RSS and requests. Usage:
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     scripts/measure_import.sh path/to/lightsync [runs] [sales] [extra simulate flags...]
# SIM_BIN names another lightsync binary to serve the simulator (to measure an older build
# against the same store); PAGE_CAP is the simulator's page cap (default 1000); LIGHTSYNC_ENTITIES
# and LIGHTSYNC_PAGE_SIZE pass through.
set -euo pipefail
bin=$1; runs=${2:-3}; sales=${3:-10000}; shift $(( $# < 3 ? $# : 3 ))
sim_bin=${SIM_BIN:-$bin}
# Busy CPU ticks of the whole machine (user, nice, system, irq, softirq): steadier than wall
# time on a shared machine.
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
base=${TEST_DATABASE_URL:?set TEST_DATABASE_URL}
port=$((20000 + RANDOM % 20000))
products=$((sales * 2 / 5)); customers=$((sales * 2 / 5))
"$sim_bin" simulate --port "$port" --seed 1 --outlets 3 --products "$products" \
  --customers "$customers" --sales "$sales" --no-rate-limit --page-cap "${PAGE_CAP:-1000}" "$@" \
  >/dev/null 2>&1 &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
api="http://127.0.0.1:$port/api/2.0"
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$api/outlets" || true)" != 000 ] && break; sleep 0.1
done
for run in $(seq "$runs"); do
  db="measure_$$_$run"
  psql -q "$base" -c "CREATE DATABASE $db" >/dev/null
  dir=$(mktemp -d)
  url="${base%/*}/$db"
  DATABASE_URL=$url LIGHTSPEED_BASE_URL="$api" LIGHTSPEED_TOKEN=simulator \
    LIGHTSYNC_CHECKPOINT_DIR="$dir/cp" RUST_LOG=warn \
    "$bin" migrate >/dev/null 2>&1
  busy_before=$(machine_busy_ticks)
  DATABASE_URL=$url LIGHTSPEED_BASE_URL="$api" LIGHTSPEED_TOKEN=simulator \
    LIGHTSYNC_CHECKPOINT_DIR="$dir/cp" RUST_LOG=warn \
    /usr/bin/time -f "run $run: %e s wall, %M KB peak RSS, %U s user + %S s sys CPU" "$bin" import >/dev/null
  echo "run $run: machine CPU (lightsync, simulator, PostgreSQL) $(( ($(machine_busy_ticks) - busy_before) / $(getconf CLK_TCK) )) s"
  psql -qtA "$url" -c "SELECT 'rows ' || sum(rows_in_table) || ', requests ' || (SELECT sum(requests) FROM sync_log) FROM sync_state"
  psql -q "$base" -c "DROP DATABASE $db" >/dev/null
  rm -rf "$dir"
done
