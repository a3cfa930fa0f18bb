#!/usr/bin/env bash
# README command 1, the one-command demo: installs the Debian packages, builds the gateway
# (Release) into build/, runs it on the embedded defaults of config/gateway.json (SQLite under
# var/, MLLP on 127.0.0.1:2575, FHIR on http://127.0.0.1:8443/fhir, the secure inbox on
# http://127.0.0.1:8444/inbox/, notification mails as .eml files in var/mail/pickup, key files
# generated on first run), then feeds it a synthetic EHR (`gateway simulate-ehr`: fake patients,
# example.invalid addresses) and the discharge sample whose patient's inbox the README opens.
# The gateway keeps running until Ctrl-C. Extra arguments go to `gateway run`.
#
# Environment: GW_DEMO_COUNT (messages simulated, default 60; 0 = no simulator), GW_DEMO_RATE
# (per second, default 20), GW_SKIP_BUILD=1 with GW_GATEWAY=<binary> (use a build you have).
set -euo pipefail
cd "$(dirname "$0")/.."
GATEWAY=${GW_GATEWAY:-build/bin/gateway}
CONFIG=config/gateway.json
COUNT=${GW_DEMO_COUNT:-60}
RATE=${GW_DEMO_RATE:-20}
MLLP_PORT=2575

if [[ -z "${GW_SKIP_BUILD:-}" ]]; then
  bash scripts/setup.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGW_BUILD_TESTS=OFF -DGW_BUILD_BENCHMARKS=OFF >/dev/null
  cmake --build build --target gateway -j"$(nproc)"
fi
"$GATEWAY" check-config --config "$CONFIG"

"$GATEWAY" run --config "$CONFIG" "$@" &
gateway_pid=$!
stop_gateway() {
  trap - INT TERM
  kill -TERM "$gateway_pid" 2>/dev/null || true
  wait "$gateway_pid" || true
  exit 0
}
trap stop_gateway INT TERM

# Wait for the MLLP listener (the gateway prints its listeners when it is ready).
for _ in $(seq 1 300); do
  if ! kill -0 "$gateway_pid" 2>/dev/null; then
    wait "$gateway_pid" || exit $?
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$MLLP_PORT") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

if [[ "$COUNT" != 0 ]]; then
  echo "demo: sending $COUNT synthetic EHR messages (ADT, results, appointments) at $RATE/s"
  "$GATEWAY" simulate-ehr --host 127.0.0.1 --port "$MLLP_PORT" --count "$COUNT" --rate "$RATE" \
    || echo "demo: the simulator stopped early (see above)"
fi
echo "demo: sending samples/hl7/adt_a03_discharge.hl7 (synthetic patient Alexa Testpatient)"
"$GATEWAY" mllp-send --port "$MLLP_PORT" samples/hl7/adt_a03_discharge.hl7 >/dev/null \
  || echo "demo: the sample was not accepted"
sleep 2  # mapping and delivery take milliseconds; quiet hours may hold messages (README)

# Counts only: states of stored events and patient messages, no PHI.
count_states() {  # column of the state in the TSV on stdin
  cut -f"$1" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//'
}
events=$("$GATEWAY" messages list --config "$CONFIG" --format tsv --limit 0 | count_states 6)
outbox=$("$GATEWAY" messages outbox --config "$CONFIG" --format tsv --limit 0 | count_states 7)
mails=$(find var/mail/pickup -name '*.eml' 2>/dev/null | wc -l)
echo "demo: EHR events by state: ${events:-none}"
echo "demo: patient messages by state: ${outbox:-none}"
echo "demo: $mails notification mails in var/mail/pickup"
echo "demo: open an inbox: scripts/demo-inbox.py --to alexa   (README: \"One-command demo\")"
echo "demo: the gateway keeps running; Ctrl-C stops it"
wait "$gateway_pid"
