#!/usr/bin/env bash
# README command 2: installs the Debian packages, builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-test/ and runs every test (unit, integration, crash).
# Tests that need ../shared/corpus skip with a message when it is not beside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir=${GW_TEST_BUILD_DIR:-build-test}
# -O1 -g1 (line tables only) is what the sanitizer documentation recommends and compiles in about
# half the CPU time of -O2 -g (measured per translation unit): it keeps the suite well under CI's
# 30-minute budget on 2 cores. Sanitizer reports still name file:line.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGW_SANITIZER=address,undefined \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DGW_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build_dir"
exec ctest --output-on-failure --timeout 900 -j"$(nproc)"
