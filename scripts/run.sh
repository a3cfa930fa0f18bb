#!/usr/bin/env bash
# README command 1: installs the Debian packages, builds the gateway (Release) into build/ and
# runs it on the embedded defaults of config/gateway.json (SQLite under var/, MLLP on
# 127.0.0.1:2575, FHIR on http://127.0.0.1:8443/fhir, a key file generated on first run). Extra
# arguments go to `gateway run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DGW_BUILD_TESTS=OFF -DGW_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build --target gateway -j"$(nproc)"
build/bin/gateway check-config --config config/gateway.json
exec build/bin/gateway run --config config/gateway.json "$@"
