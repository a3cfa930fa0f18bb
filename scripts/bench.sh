#!/usr/bin/env bash
# Builds the benchmarks (Release) into build-bench/ and runs them. The MLLP benchmark's baseline
# (Node simple-hl7) is installed from the npm registry into bench/baseline/node_modules.
# Arguments go to every benchmark, e.g. scripts/bench.sh --benchmark_min_time=3
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! command -v node >/dev/null; then
  apt-get install -y -qq --no-install-recommends nodejs npm
fi
(cd bench/baseline && npm ci --no-audit --no-fund --silent)
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DGW_BUILD_TESTS=OFF -DGW_BUILD_BENCHMARKS=ON >/dev/null
cmake --build build-bench --target hl7_parse_bench mllp_bench delivery_bench mapping_bench fhir_bench \
  audit_bench e2e_bench -j"$(nproc)"
build-bench/bin/hl7_parse_bench "$@"
if [ -d ../shared/corpus ]; then
  node bench/baseline/parse_baseline.js ../shared/corpus   # baseline for hl7_parse_bench
fi
build-bench/bin/mllp_bench "$@"
build-bench/bin/delivery_bench "$@"   # baseline: Python smtplib (bench/baseline/smtplib_send.py)
build-bench/bin/mapping_bench "$@"   # baseline: templates compiled per event
build-bench/bin/fhir_bench "$@"      # baseline: parse only
build-bench/bin/audit_bench "$@"
# The whole path, MLLP in to mail out; baseline: MLLP intake alone. The million-message memory and
# retention run is separate (see "Sizing and retention" in README.md):
#   GW_E2E_RETENTION_MESSAGES=1000000 build-bench/bin/e2e_bench --benchmark_filter=retention
build-bench/bin/e2e_bench "$@"
