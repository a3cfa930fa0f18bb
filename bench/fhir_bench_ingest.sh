#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# HTTP ingest of small FHIR message Bundles (about 1.6 KB) over keep-alive connections with wrk:
# every request is parsed, checked, sealed (AES-256-GCM) and committed to SQLite before its 200.
# Same-run baseline: GET [base]/metadata on the same server (HTTP + routing, no parse, no store).
# Cases: plain HTTP on loopback with durability "process" and "power", and HTTPS (TLS, a
# certificate made here) with a Bearer JWT (RS384, key made here) checked on every request.
# Prints wrk's summary (req/s, latency percentiles incl. p99) for each case.
#
# Usage: bench/fhir_bench_ingest.sh [gateway binary] [seconds] [connections] [threads]
# Defaults: build-bench/bin/gateway, 10 s, 16 connections, 2 threads. Needs wrk (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
GATEWAY=${1:-build-bench/bin/gateway}
SECONDS_PER_CASE=${2:-10}
CONNECTIONS=${3:-16}
THREADS=${4:-2}
command -v wrk >/dev/null || { echo "fhir_bench_ingest: wrk is not installed (scripts/setup.sh)"; exit 1; }

work=$(mktemp -d /tmp/gw-fhir-bench.XXXXXX)
gateway_pid=""
cleanup() {
  if [ -n "$gateway_pid" ] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid"; wait "$gateway_pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

make_tls_material() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/server.key" -out "$work/server.pem" \
    -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/client.key" 2>/dev/null
  openssl pkey -in "$work/client.key" -pubout -out "$work/client.pub"
  chmod 600 "$work/server.key" "$work/client.key"
  local now header claims signature
  now=$(date +%s)
  header=$(printf '{"alg":"RS384","typ":"JWT"}' | b64url)
  claims=$(printf '{"iss":"bench-ehr","sub":"bench-ehr","aud":"https://gateway.example.invalid/fhir","exp":%d,"iat":%d}' \
    $((now + 3000)) "$now" | b64url)
  signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha384 -sign "$work/client.key" -binary | b64url)
  TOKEN="$header.$claims.$signature"
}

run_case() {  # durability, http|https
  local durability=$1 scheme=$2 server auth wrk_auth=()
  rm -f "$work"/gateway.db*
  if [ "$scheme" = https ]; then
    server='"tls": {"enabled": true, "certificate": "'"$work"'/server.pem", "private_key": "'"$work"'/server.key"},'
    auth='"auth": {"audience": "https://gateway.example.invalid/fhir", "clients": [{"id": "bench-ehr", "public_key_file": "'"$work"'/client.pub"}]}'
    wrk_auth=(-H "Authorization: Bearer $TOKEN")
  else
    server='"allow_plain_http": true,'
    auth='"auth": {"allow_unauthenticated": true}'
  fi
  cat > "$work/gateway.json" <<JSON
{
  "logging": {"level": "warning"},
  "keys": {"key_file": "$work/keys/gateway.keys", "generate_if_missing": true},
  "audit": {"signing_key_file": "$work/keys/audit.pem"},
  "store": {"path": "$work/gateway.db", "durability": "$durability"},
  "inbound": {"mllp": [], "fhir": {"enabled": true, "host": "127.0.0.1", "port": 0,
    "max_threads": 32, "max_queued": 256, $server $auth}}
}
JSON
  "$GATEWAY" run --config "$work/gateway.json" > "$work/out.txt" 2> "$work/err.txt" &
  gateway_pid=$!
  local port=""
  for _ in $(seq 1 100); do
    port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$work/out.txt" | sed 's/.*://' || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/err.txt"; exit 1; }
  local base="$scheme://127.0.0.1:$port/fhir"
  echo "=== baseline: GET /fhir/metadata ($scheme, durability $durability) ==="
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency "$base/metadata"
  echo "=== POST /fhir/\$process-message, message Bundle committed before 200 ($scheme, durability $durability) ==="
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_PER_CASE}s" --latency "${wrk_auth[@]}" \
    -s bench/fhir_bench_ingest.lua "$base/\$process-message" -- "$durability-$scheme"
  kill -TERM "$gateway_pid"; wait "$gateway_pid" || true
  gateway_pid=""
  echo "stored events: $(sqlite3 "$work/gateway.db" "SELECT count(*) FROM inbound_events") (one per 2xx POST; wrk counts only the replies read before its timer ran out)"
}

make_tls_material
run_case process http
run_case power http
run_case process https
