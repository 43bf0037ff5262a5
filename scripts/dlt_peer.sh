#!/usr/bin/env bash
# Runs the dlt peer of BENCHMARKS.md against a lightsync simulator with workload W1, in a fresh
# database, and prints dlt's wall time and peak RSS. Not part of CI: it installs dlt from PyPI
# into target/dlt-venv. Needs TEST_DATABASE_URL (a server where it may create databases) and a
# release build (`cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TEST_DATABASE_URL:?set TEST_DATABASE_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres}"
SALES="${SALES:-50000}"  # PAGE_CAP (default 1000) sets the simulator's page cap
venv=target/dlt-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "dlt[postgres]==1.31.*" || "$venv/bin/pip" install -q "dlt[postgres]"
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn target/release/lightsync simulate --port "$port" --no-rate-limit --seed 1 \
    --outlets 3 --products 20000 --customers 20000 --sales "$SALES" --page-cap "${PAGE_CAP:-1000}" >/dev/null &
sim=$!
trap 'kill $sim 2>/dev/null || true' EXIT
sleep 1
db="dlt_peer_$RANDOM"
admin="$TEST_DATABASE_URL"
psql "$admin" -qc "CREATE DATABASE $db"
target="${admin%/*}/$db"
# dlt insists on a password even where the server trusts local connections.
case "$target" in
    postgres://*:*@*|postgresql://*:*@*) ;;
    *) target=$(echo "$target" | sed -E 's#^(postgres(ql)?://[^@/:]+)@#\1:unused@#') ;;
esac
rm -rf /tmp/dlt-pipelines
DLT_BASE_URL="http://127.0.0.1:$port/api/2.0" DLT_POSTGRES="$target" \
    /usr/bin/time -v "$venv/bin/python" scripts/dlt_peer.py 2>target/dlt-peer.log | tail -1 | sed 's/^/dlt seconds: /'
psql "${admin%/*}/$db" -Atc "SELECT 'dlt rows: ' || (SELECT count(*) FROM dlt_peer.sales) || ' sales, ' || (SELECT count(*) FROM dlt_peer.sales__line_items) || ' line items'"
grep -E "Maximum resident" target/dlt-peer.log | sed 's/^\s*/dlt /'
# Bytes on disk of every table dlt wrote (final tables in dlt_peer, its staging copies apart).
psql "${admin%/*}/$db" -Atc "VACUUM ANALYZE" -c "SELECT 'dlt table: ' || table_schema || ' ' || table_name || ' ' || pg_total_relation_size(format('%I.%I', table_schema, table_name)) FROM information_schema.tables WHERE table_schema LIKE 'dlt_peer%' AND table_type = 'BASE TABLE'" \
    -c "SELECT 'dlt indexes: ' || COALESCE(sum(pg_indexes_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'dlt_peer' AND c.relkind = 'r'"
psql "$admin" -qc "DROP DATABASE $db WITH (FORCE)"
