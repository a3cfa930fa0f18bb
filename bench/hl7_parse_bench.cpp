// SPDX-License-Identifier: Apache-2.0
// HL7 v2 parser throughput over every file in <corpus>/hl7v2: parse, then read what intake and
// routing read (MSH-9, MSH-10, PID-3, PID-5, every OBX-5).
//
// Usage: hl7_parse_bench [corpus_dir] [--benchmark_min_time=1 ...]
// The corpus directory comes from the first non-flag argument, else $GW_CORPUS_DIR, else
// ../shared/corpus beside the source checkout.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/hl7/Message.h"

namespace {

std::vector<std::string>& corpusMessages() {
  static std::vector<std::string> messages;
  return messages;
}

std::size_t corpusBytes() {
  std::size_t total = 0;
  for (const std::string& m : corpusMessages()) {
    total += m.size();
  }
  return total;
}

bool loadCorpus(const std::filesystem::path& dir) {
  const std::filesystem::path hl7v2 = dir / "hl7v2";
  std::error_code ec;
  if (!std::filesystem::is_directory(hl7v2, ec)) {
    return false;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(hl7v2, ec)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());  // a stable order between runs
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    corpusMessages().push_back(bytes.str());
  }
  return !corpusMessages().empty();
}

// The intake/routing access pattern, without allocations on the common (no escape) path.
void BM_ParseAndAccess(benchmark::State& state) {
  std::string scratch;
  std::size_t parsed = 0;
  for (auto _ : state) {
    for (const std::string& bytes : corpusMessages()) {
      gw::Result<gw::hl7::Message> message = gw::hl7::Message::parse(bytes);
      if (!message.ok()) {
        benchmark::DoNotOptimize(message);
        continue;
      }
      ++parsed;
      const gw::hl7::Message& m = *message;
      std::string_view type = m.messageTypeField();
      std::string_view control_id = m.controlId();
      benchmark::DoNotOptimize(type);
      benchmark::DoNotOptimize(control_id);
      std::string_view pid3 = m.getView("PID-3", scratch);
      benchmark::DoNotOptimize(pid3);
      std::string_view pid5 = m.getView("PID-5", scratch);
      benchmark::DoNotOptimize(pid5);
      m.forEach("OBX[*]-5", [](std::string_view value) { benchmark::DoNotOptimize(value); });
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
  state.counters["messages"] =
      benchmark::Counter(static_cast<double>(parsed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseAndAccess);

// The same through the allocating convenience API (get / getAll), for comparison.
void BM_ParseAndAccessCopying(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& bytes : corpusMessages()) {
      gw::Result<gw::hl7::Message> message = gw::hl7::Message::parse(bytes);
      if (!message.ok()) {
        benchmark::DoNotOptimize(message);
        continue;
      }
      const gw::hl7::Message& m = *message;
      benchmark::DoNotOptimize(m.messageType());
      benchmark::DoNotOptimize(m.get("MSH-10"));
      benchmark::DoNotOptimize(m.get("PID-3"));
      benchmark::DoNotOptimize(m.get("PID-5"));
      benchmark::DoNotOptimize(m.getAll("OBX[*]-5"));
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
}
BENCHMARK(BM_ParseAndAccessCopying);

// Segment indexing and MSH validation alone.
void BM_ParseOnly(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& bytes : corpusMessages()) {
      gw::Result<gw::hl7::Message> message = gw::hl7::Message::parse(bytes);
      benchmark::DoNotOptimize(message);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
}
BENCHMARK(BM_ParseOnly);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::filesystem::path dir = GW_DEFAULT_CORPUS_DIR;
  if (const char* env = std::getenv("GW_CORPUS_DIR")) {
    dir = env;
  }
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-') {
      dir = argv[i];
    }
  }
  if (!loadCorpus(dir)) {
    std::fprintf(stderr, "hl7_parse_bench: no HL7 v2 files under %s/hl7v2\n", dir.string().c_str());
    return 1;
  }
  std::fprintf(stderr, "hl7_parse_bench: %zu messages, %zu bytes from %s/hl7v2\n",
               corpusMessages().size(), corpusBytes(), dir.string().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
