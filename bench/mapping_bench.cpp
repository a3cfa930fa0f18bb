// SPDX-License-Identifier: Apache-2.0
// Mapping engine throughput on pre-parsed events with the shipped mappings/: match + extract +
// policies (in-memory PolicyState) + render, one core. Events: the discharge, result and
// appointment samples (HL7 v2) and a FHIR DiagnosticReport Bundle from the golden cases.
// In the same run, for reference: parsing the same HL7 events (the step before mapping), parsing
// the FHIR event's JSON and loading its stored compact tree instead (what the mapper does since
// issue 4: gateway/fhir/CompactTree.h), and a
// naive engine that compiles its Mustache templates for every event (as a script-per-event
// integration would), rendering the same discharge message.
//
// Usage: mapping_bench [--benchmark_min_time=1 ...]
#include <benchmark/benchmark.h>

#include <fstream>
#include <kainjow/mustache.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/fhir/CompactTree.h"
#include "gateway/fhir/Resource.h"
#include "gateway/hl7/Message.h"
#include "gateway/mapping/MappingEngine.h"

namespace {

using namespace gw;
using namespace gw::mapping;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FixedClock final : public Clock {
 public:
  SystemTime now() const override { return *parseEventTime("2026-11-24T15:00:00Z", "UTC"); }
  SteadyTime steadyNow() const override { return SteadyTime(); }
};

struct Fixture {
  std::shared_ptr<const MappingSet> set;
  std::vector<std::string> hl7_bytes;
  std::vector<hl7::Message> hl7;
  std::string fhir_bytes;
  std::string fhir_compact;
  std::optional<fhir::Resource> fhir;
  std::vector<std::unique_ptr<EventView>> views;

  Fixture() {
    const std::string root = GW_SOURCE_DIR;
    ConfigErrors errors;
    set = MappingSet::load(root + "/mappings", MappingSettings{}, errors);
    if (set == nullptr) {
      std::fprintf(stderr, "%s", errors.toString().c_str());
      std::abort();
    }
    for (const char* f :
         {"adt_a03_discharge.hl7", "oru_r01_result.hl7", "siu_s12_appointment.hl7"}) {
      hl7_bytes.push_back(readFile(root + "/samples/hl7/" + f));
    }
    for (const std::string& b : hl7_bytes) {
      hl7.push_back(*hl7::Message::parse(b));
    }
    fhir_bytes =
        readFile(root + "/tests/data/mappings/lab-results-fhir/diagnostic_report_final.json");
    fhir.emplace(std::move(fhir::parseJson(fhir_bytes)).value());
    fhir_compact = fhir::toCompactTree(*fhir);
    for (const hl7::Message& m : hl7) {
      views.push_back(std::make_unique<Hl7EventView>(m));
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void mapEvents(benchmark::State& state, const std::vector<const EventView*>& views) {
  Fixture& f = fixture();
  FixedClock clock;
  MappingEngine engine(clock);
  InMemoryPolicyState policy;
  MapContext ctx;
  ctx.pseudonym_key = "bench pseudonym key";
  ctx.state = &policy;
  std::size_t messages = 0;
  for (auto _ : state) {
    for (const EventView* view : views) {
      Result<MappingResult> r = engine.map(*f.set, *view, ctx);
      if (!r.ok() || r->messages.size() != 1) {
        state.SkipWithError("event did not produce exactly one message");
        return;
      }
      messages += r->messages.size();
      benchmark::DoNotOptimize(r->messages.front().content.html.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * views.size()));
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * views.size()), benchmark::Counter::kIsRate);
}

void BM_MapHl7(benchmark::State& state) {
  std::vector<const EventView*> views;
  for (const auto& v : fixture().views) {
    views.push_back(v.get());
  }
  mapEvents(state, views);
}
BENCHMARK(BM_MapHl7);

void BM_MapFhir(benchmark::State& state) {
  FhirEventView view(*fixture().fhir);
  mapEvents(state, {&view});
}
BENCHMARK(BM_MapFhir);

// Reference: parsing the same HL7 events (the step before mapping), per event.
void BM_ReferenceParseHl7(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    for (const std::string& b : f.hl7_bytes) {
      Result<hl7::Message> m = hl7::Message::parse(b);
      benchmark::DoNotOptimize(m.ok());
    }
  }
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * f.hl7_bytes.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReferenceParseHl7);

// Reference: what the mapper did for a FHIR event before issue 4 (parse the stored JSON) ...
void BM_ReferenceParseFhir(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    Result<fhir::Resource> r = fhir::parseJson(f.fhir_bytes);
    benchmark::DoNotOptimize(r.ok());
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReferenceParseFhir);

// ... and what it does now (load the compact tree intake stored).
void BM_ReferenceLoadFhirCompact(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    Result<fhir::Resource> r = fhir::fromCompactTree(f.fhir_compact);
    benchmark::DoNotOptimize(r.ok());
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReferenceLoadFhirCompact);

// Baseline: a naive engine that reads fields and compiles the three discharge templates for
// every event, then renders them (no policies, no keys).
void BM_BaselineCompileTemplatesPerEvent(benchmark::State& state) {
  Fixture& f = fixture();
  const std::string dir = std::string(GW_SOURCE_DIR) + "/mappings/templates/discharge-aftercare/";
  const std::string subject = readFile(dir + "en.subject.mustache");
  const std::string text = readFile(dir + "en.txt.mustache");
  const std::string html = readFile(dir + "en.html.mustache");
  const hl7::Message& m = f.hl7.front();
  for (auto _ : state) {
    kainjow::mustache::data patient{kainjow::mustache::data::type::object};
    patient.set("given", m.get("PID-5.2"));
    kainjow::mustache::data visit{kainjow::mustache::data::type::object};
    visit.set("discharged_at", m.get("PV1-45"));
    kainjow::mustache::data facility{kainjow::mustache::data::type::object};
    facility.set("name", "Demo Hospital");
    kainjow::mustache::data data{kainjow::mustache::data::type::object};
    data.set("patient", patient);
    data.set("visit", visit);
    data.set("facility", facility);
    std::string out;
    for (const std::string* t : {&subject, &text, &html}) {
      kainjow::mustache::mustache tmpl(*t);
      out += tmpl.render(data);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_BaselineCompileTemplatesPerEvent);

}  // namespace

BENCHMARK_MAIN();
