// SPDX-License-Identifier: Apache-2.0
// FHIR reader throughput over every FHIR file in <corpus>/fhir: JSON and XML parsing, parse plus
// the extraction a mapping does (FHIRPath compiled once), and evaluation alone on parsed trees.
//
// Usage: fhir_parse_bench [corpus_dir] [--benchmark_min_time=1 ...]
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

#include "gateway/fhir/FhirPath.h"
#include "gateway/fhir/Resource.h"

namespace {

struct Corpus {
  std::vector<std::string> json;
  std::vector<std::string> xml;
};

Corpus& corpus() {
  static Corpus files;
  return files;
}

std::size_t totalBytes(const std::vector<std::string>& files) {
  std::size_t total = 0;
  for (const std::string& f : files) {
    total += f.size();
  }
  return total;
}

bool loadCorpus(const std::filesystem::path& dir) {
  const std::filesystem::path fhir = dir / "fhir";
  std::error_code ec;
  if (!std::filesystem::is_directory(fhir, ec)) {
    return false;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(fhir, ec)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());  // a stable order between runs
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (file.extension() == ".json") {
      corpus().json.push_back(bytes.str());
    } else if (file.extension() == ".xml") {
      corpus().xml.push_back(bytes.str());
    }
  }
  return !corpus().json.empty();
}

// What a mapping reads from a message or collection Bundle (DESIGN.md section 6).
const char* const kExtractPaths[] = {
    "Bundle.entry.resource.ofType(Patient).name.family",
    "Bundle.entry.resource.ofType(Patient).name.where(use = 'official').given.first()",
    "Bundle.entry.resource.ofType(Patient).telecom.where(system = 'email').value",
    "Bundle.entry.resource.ofType(MessageHeader).event",
    "Bundle.entry.resource.ofType(MessageHeader).focus.resolve().id",
    "Bundle.entry.resource.ofType(Encounter).where(status = 'finished').subject.resolve().id",
    "Bundle.entry.resource.ofType(DiagnosticReport).result.resolve().value.ofType(Quantity).value",
    "Bundle.entry.resource.ofType(Observation).where(status = 'final').code.coding.code",
};

std::vector<gw::fhir::FhirPath> compiledPaths() {
  std::vector<gw::fhir::FhirPath> paths;
  for (const char* text : kExtractPaths) {
    gw::Result<gw::fhir::FhirPath> path = gw::fhir::FhirPath::compile(text);
    if (!path.ok()) {
      std::fprintf(stderr, "cannot compile %s: %s\n", text, path.status().toString().c_str());
      std::exit(1);
    }
    paths.push_back(std::move(path).value());
  }
  return paths;
}

void extract(const std::vector<gw::fhir::FhirPath>& paths, const gw::fhir::Resource& resource) {
  for (const gw::fhir::FhirPath& path : paths) {
    gw::Result<gw::fhir::Collection> result = path.evaluate(resource);
    benchmark::DoNotOptimize(result);
  }
}

void BM_ParseJson(benchmark::State& state) {
  std::size_t failed = 0;
  for (auto _ : state) {
    for (const std::string& bytes : corpus().json) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      failed += resource.ok() ? 0 : 1;
      benchmark::DoNotOptimize(resource);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes(corpus().json)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().json.size()));
  state.counters["refused_files"] =
      static_cast<double>(failed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ParseJson)->Unit(benchmark::kMillisecond);

void BM_ParseXml(benchmark::State& state) {
  std::size_t failed = 0;
  for (auto _ : state) {
    for (const std::string& bytes : corpus().xml) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseXml(bytes);
      failed += resource.ok() ? 0 : 1;
      benchmark::DoNotOptimize(resource);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes(corpus().xml)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().xml.size()));
  state.counters["refused_files"] =
      static_cast<double>(failed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ParseXml)->Unit(benchmark::kMillisecond);

// Parse, then evaluate every extraction path: the intake + mapping read path.
void BM_ParseJsonAndExtract(benchmark::State& state) {
  const std::vector<gw::fhir::FhirPath> paths = compiledPaths();
  for (auto _ : state) {
    for (const std::string& bytes : corpus().json) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      if (resource.ok()) {
        extract(paths, *resource);
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes(corpus().json)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().json.size()));
}
BENCHMARK(BM_ParseJsonAndExtract)->Unit(benchmark::kMillisecond);

void BM_ParseXmlAndExtract(benchmark::State& state) {
  const std::vector<gw::fhir::FhirPath> paths = compiledPaths();
  for (auto _ : state) {
    for (const std::string& bytes : corpus().xml) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseXml(bytes);
      if (resource.ok()) {
        extract(paths, *resource);
      }
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes(corpus().xml)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * corpus().xml.size()));
}
BENCHMARK(BM_ParseXmlAndExtract)->Unit(benchmark::kMillisecond);

// Evaluation alone on trees parsed beforehand (bytes = the JSON those trees came from).
void BM_ExtractOnly(benchmark::State& state) {
  const std::vector<gw::fhir::FhirPath> paths = compiledPaths();
  std::vector<gw::fhir::Resource> resources;
  for (const std::string& bytes : corpus().json) {
    gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
    if (resource.ok()) {
      resources.push_back(std::move(resource).value());
    }
  }
  for (auto _ : state) {
    for (const gw::fhir::Resource& resource : resources) {
      extract(paths, resource);
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes(corpus().json)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * resources.size() *
                                                    std::size(kExtractPaths)));
}
BENCHMARK(BM_ExtractOnly)->Unit(benchmark::kMillisecond);

void BM_CompileFhirPath(benchmark::State& state) {
  for (auto _ : state) {
    for (const char* text : kExtractPaths) {
      gw::Result<gw::fhir::FhirPath> path = gw::fhir::FhirPath::compile(text);
      benchmark::DoNotOptimize(path);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * std::size(kExtractPaths)));
}
BENCHMARK(BM_CompileFhirPath);

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] != '-' && dir.empty()) {
      dir = argv[i];
    } else {
      args.push_back(argv[i]);
    }
  }
  if (dir.empty()) {
    const char* env = std::getenv("GW_CORPUS_DIR");
    dir = env != nullptr ? env : GW_DEFAULT_CORPUS_DIR;
  }
  if (!loadCorpus(dir)) {
    std::fprintf(stderr, "no FHIR corpus under %s/fhir\n", dir.string().c_str());
    return 1;
  }
  std::fprintf(stderr, "corpus: %zu JSON files (%zu bytes), %zu XML files (%zu bytes)\n",
               corpus().json.size(), totalBytes(corpus().json), corpus().xml.size(),
               totalBytes(corpus().xml));
  int bench_argc = static_cast<int>(args.size());
  benchmark::Initialize(&bench_argc, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
