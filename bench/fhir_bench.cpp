// SPDX-License-Identifier: Apache-2.0
// FHIR intake throughput on the corpus JSON Bundles (<corpus>/fhir/*.json whose resourceType is
// Bundle), in MB/s of JSON:
//   - BM_ParseOnly:        parseJson alone (the same-run baseline),
//   - BM_ParseAndClassify: what POST [base]/$process-message or [base]/Bundle does before the
//                          commit: parse, check the endpoint's rules, event id (content digest
//                          when a Bundle has no id), metadata,
//   - BM_ParseAndExtract:  parse, then read patient, encounter and results the way a mapping does
//                          (FHIRPath compiled once; references resolved inside the Bundle),
//   - BM_ParseAndExtractDirect: the same fields read straight from the tree (no FHIRPath),
//   - BM_ToCompactTree:    what intake adds after the parse: the compact tree the mapper loads
//                          (gateway/fhir/CompactTree.h), MB/s of the JSON it stands for,
//   - BM_LoadCompactOnly / BM_LoadCompactAndExtract: the mapper's side, loading the stored
//                          compact tree instead of parsing the JSON again (compare with
//                          BM_ParseOnly / BM_ParseAndExtract of the same run).
// Target: >= 300 MB/s for parse + extract.
//
// Usage: fhir_bench [corpus_dir] [--benchmark_min_time=1 ...]; the corpus comes from the first
// non-flag argument, else $GW_CORPUS_DIR, else ../shared/corpus beside the source checkout.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/inbound/fhir/FhirEvent.h"
#include "gateway/fhir/CompactTree.h"
#include "gateway/fhir/FhirPath.h"
#include "gateway/fhir/Resource.h"

namespace {

std::vector<std::string>& bundles() {
  static std::vector<std::string> files;
  return files;
}

// The compact tree of each bundle, as intake stores it (opened).
std::vector<std::string>& compactTrees() {
  static std::vector<std::string> trees;
  return trees;
}

std::size_t totalBytes() {
  std::size_t total = 0;
  for (const std::string& f : bundles()) {
    total += f.size();
  }
  return total;
}

bool loadCorpus(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "fhir", ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    gw::Result<gw::fhir::Resource> parsed = gw::fhir::parseJson(bytes.str());
    if (parsed.ok() && parsed->isBundle()) {
      bundles().push_back(bytes.str());
      compactTrees().push_back(gw::fhir::toCompactTree(*parsed));
    }
  }
  return !bundles().empty();
}

// Patient, encounter and results, as the discharge / result mappings read them: paths relative
// to one entry resource, grouped by its type, so the Bundle's entries are walked once.
struct TypedPaths {
  const char* type;
  std::vector<const char*> paths;
};
const std::vector<TypedPaths> kExtract = {
    {"Patient",
     {"Patient.identifier.value", "Patient.name.family", "Patient.name.given.first()",
      "Patient.birthDate", "Patient.telecom.where(system = 'email').value"}},
    {"Encounter",
     {"Encounter.id", "Encounter.status", "Encounter.class.code", "Encounter.period.end",
      "Encounter.subject.resolve().id"}},
    {"DiagnosticReport",
     {"DiagnosticReport.status", "DiagnosticReport.code.coding.code",
      "DiagnosticReport.result.resolve().value.ofType(Quantity).value"}},
    {"Observation",
     {"Observation.where(status = 'final').code.coding.code",
      "Observation.value.ofType(Quantity).unit", "Observation.interpretation.coding.code"}},
};

struct CompiledType {
  std::string type;
  std::vector<gw::fhir::FhirPath> paths;
};

std::vector<CompiledType> compiledPaths() {
  std::vector<CompiledType> out;
  for (const TypedPaths& typed : kExtract) {
    CompiledType compiled{typed.type, {}};
    for (const char* text : typed.paths) {
      gw::Result<gw::fhir::FhirPath> path = gw::fhir::FhirPath::compile(text);
      if (!path.ok()) {
        std::fprintf(stderr, "cannot compile %s: %s\n", text, path.status().toString().c_str());
        std::exit(1);
      }
      compiled.paths.push_back(std::move(path).value());
    }
    out.push_back(std::move(compiled));
  }
  return out;
}

void setCounters(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * totalBytes()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * bundles().size()));
}

void BM_ParseOnly(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& bytes : bundles()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      benchmark::DoNotOptimize(resource);
    }
  }
  setCounters(state);
}
BENCHMARK(BM_ParseOnly)->Unit(benchmark::kMillisecond);

void BM_ParseAndClassify(benchmark::State& state) {
  std::size_t refused = 0;
  for (auto _ : state) {
    for (const std::string& bytes : bundles()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      if (!resource.ok()) {
        continue;
      }
      const gw::fhirin::Route route = resource->bundleType() == "message"
                                          ? gw::fhirin::Route::ProcessMessage
                                          : gw::fhirin::Route::Bundle;
      gw::fhirin::FhirEventInfo info;
      refused += gw::fhirin::classify(*resource, route, "", info) ? 1 : 0;
      benchmark::DoNotOptimize(info);
    }
  }
  setCounters(state);
  state.counters["refused_bundles"] =
      static_cast<double>(refused) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ParseAndClassify)->Unit(benchmark::kMillisecond);

// Patient, encounter and results of one bundle through the compiled FHIRPaths; values found.
std::size_t extractPaths(const gw::fhir::Resource& resource,
                         const std::vector<CompiledType>& compiled) {
  std::size_t values = 0;
  const gw::fhir::EvalContext context{&resource};
  for (const gw::fhir::Node* entry : resource.entries()) {
    const gw::fhir::Node* r = gw::fhir::Resource::entryResource(*entry);
    if (r == nullptr) {
      continue;
    }
    for (const CompiledType& typed : compiled) {
      if (r->resourceType() != typed.type) {
        continue;
      }
      for (const gw::fhir::FhirPath& path : typed.paths) {
        gw::Result<gw::fhir::Collection> result = path.evaluate(*r, context);
        values += result.ok() ? result->size() : 0;
        benchmark::DoNotOptimize(result);
      }
    }
  }
  return values;
}

void BM_ParseAndExtract(benchmark::State& state) {
  const std::vector<CompiledType> compiled = compiledPaths();
  std::size_t values = 0;
  for (auto _ : state) {
    for (const std::string& bytes : bundles()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      if (resource.ok()) {
        values += extractPaths(*resource, compiled);
      }
    }
  }
  setCounters(state);
  state.counters["values_per_pass"] =
      static_cast<double>(values) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ParseAndExtract)->Unit(benchmark::kMillisecond);

// The same fields read straight from the tree (Node::child / childValue, Resource::resolve):
// what intake code can extract without a FHIRPath evaluator.
std::size_t extractDirect(const gw::fhir::Resource& bundle, const gw::fhir::Node& r) {
  std::size_t values = 0;
  auto count = [&values](std::string_view v) { values += v.empty() ? 0 : 1; };
  auto each = [](const gw::fhir::Node& parent, std::string_view name, auto&& f) {
    for (const gw::fhir::Node& c : parent.children()) {
      if (c.name() == name) {
        f(c);
      }
    }
  };
  const std::string_view type = r.resourceType();
  if (type == "Patient") {
    each(r, "identifier", [&](const gw::fhir::Node& n) { count(n.childValue("value")); });
    each(r, "name", [&](const gw::fhir::Node& n) {
      count(n.childValue("family"));
      count(n.childValue("given"));
    });
    count(r.childValue("birthDate"));
    each(r, "telecom", [&](const gw::fhir::Node& n) {
      if (n.childValue("system") == "email") {
        count(n.childValue("value"));
      }
    });
  } else if (type == "Encounter") {
    count(r.childValue("id"));
    count(r.childValue("status"));
    if (const gw::fhir::Node* c = r.child("class")) {
      count(c->childValue("code"));
    }
    if (const gw::fhir::Node* p = r.child("period")) {
      count(p->childValue("end"));
    }
    if (const gw::fhir::Node* subject = r.child("subject")) {
      if (const gw::fhir::Node* patient =
              bundle.resolve(subject->childValue("reference"), subject)) {
        count(patient->childValue("id"));
      }
    }
  } else if (type == "DiagnosticReport" || type == "Observation") {
    count(r.childValue("status"));
    if (const gw::fhir::Node* code = r.child("code")) {
      each(*code, "coding", [&](const gw::fhir::Node& n) { count(n.childValue("code")); });
    }
    if (const gw::fhir::Node* q = r.child("valueQuantity")) {
      count(q->childValue("value"));
      count(q->childValue("unit"));
    }
    each(r, "result", [&](const gw::fhir::Node& ref) {
      if (const gw::fhir::Node* obs = bundle.resolve(ref.childValue("reference"), &ref)) {
        if (const gw::fhir::Node* q = obs->child("valueQuantity")) {
          count(q->childValue("value"));
        }
      }
    });
  }
  return values;
}

void BM_ParseAndExtractDirect(benchmark::State& state) {
  std::size_t values = 0;
  for (auto _ : state) {
    for (const std::string& bytes : bundles()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::parseJson(bytes);
      if (!resource.ok()) {
        continue;
      }
      for (const gw::fhir::Node* entry : resource->entries()) {
        if (const gw::fhir::Node* r = gw::fhir::Resource::entryResource(*entry)) {
          values += extractDirect(*resource, *r);
        }
      }
    }
  }
  setCounters(state);
  state.counters["values_per_pass"] =
      static_cast<double>(values) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ParseAndExtractDirect)->Unit(benchmark::kMillisecond);

void BM_ToCompactTree(benchmark::State& state) {
  std::vector<gw::fhir::Resource> parsed;
  for (const std::string& bytes : bundles()) {
    parsed.push_back(std::move(gw::fhir::parseJson(bytes)).value());
  }
  std::size_t form_bytes = 0;
  for (auto _ : state) {
    form_bytes = 0;
    for (const gw::fhir::Resource& resource : parsed) {
      const std::string form = gw::fhir::toCompactTree(resource);
      form_bytes += form.size();
      benchmark::DoNotOptimize(form);
    }
  }
  setCounters(state);
  state.counters["form_bytes_per_json_byte"] =
      static_cast<double>(form_bytes) / static_cast<double>(totalBytes());
}
BENCHMARK(BM_ToCompactTree)->Unit(benchmark::kMillisecond);

void BM_LoadCompactOnly(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& form : compactTrees()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::fromCompactTree(form);
      benchmark::DoNotOptimize(resource);
    }
  }
  setCounters(state);  // MB/s of the JSON the forms stand for, comparable with BM_ParseOnly
}
BENCHMARK(BM_LoadCompactOnly)->Unit(benchmark::kMillisecond);

void BM_LoadCompactAndExtract(benchmark::State& state) {
  const std::vector<CompiledType> compiled = compiledPaths();
  std::size_t values = 0;
  for (auto _ : state) {
    for (const std::string& form : compactTrees()) {
      gw::Result<gw::fhir::Resource> resource = gw::fhir::fromCompactTree(form);
      if (resource.ok()) {
        values += extractPaths(*resource, compiled);
      }
    }
  }
  setCounters(state);
  state.counters["values_per_pass"] =
      static_cast<double>(values) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_LoadCompactAndExtract)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-' && argv[i][1] == '-') {
      args.push_back(argv[i]);
    } else if (dir.empty()) {
      dir = argv[i];
    }
  }
  if (dir.empty()) {
    const char* env = std::getenv("GW_CORPUS_DIR");
    dir =
        env != nullptr ? std::filesystem::path(env) : std::filesystem::path(GW_DEFAULT_CORPUS_DIR);
  }
  if (!loadCorpus(dir)) {
    std::fprintf(stderr, "fhir_bench: no JSON Bundles under %s/fhir\n", dir.string().c_str());
    return 1;
  }
  std::fprintf(stderr, "fhir_bench: %zu JSON Bundles, %.1f MiB\n", bundles().size(),
               static_cast<double>(totalBytes()) / (1024.0 * 1024.0));
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
