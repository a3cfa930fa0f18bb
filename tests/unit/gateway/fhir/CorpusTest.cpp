// SPDX-License-Identifier: Apache-2.0
// Runs the FHIR readers over every FHIR file of the shared corpus (../shared/corpus/index.tsv),
// and compares each JSON/XML pair of the same resource (same file stem) through canonicalJson().
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gateway/fhir/FhirPath.h"
#include "gateway/fhir/Resource.h"
#include "tests/support/TestSupport.h"

namespace gw::fhir {
namespace {

// One row of index.tsv (columns: path kind ... resourceType bundleType entries ... features).
struct CorpusRow {
  std::string path;  // relative to the corpus directory; empty for the "no corpus" case
  std::string kind;  // fhir-json or fhir-xml
  std::string resource_type;
  std::string bundle_type;
  std::string entries;   // "" for resources that are not Bundles
  std::string features;  // e.g. "first=MessageHeader,bom"
  std::string source_path;  // path in the source repository
};

void PrintTo(const CorpusRow& row, std::ostream* os) {
  *os << (row.path.empty() ? "<none>" : row.path);
}

std::optional<std::filesystem::path> corpus() { return test::corpusDir(); }

// Read at static-initialisation time, so each file becomes its own test case.
std::vector<CorpusRow> readRows() {
  if (!corpus()) {
    return {CorpusRow{}};
  }
  std::vector<CorpusRow> rows;
  for (const test::CorpusIndexRow& column : test::readCorpusIndex()) {
    CorpusRow row;
    row.path = column["path"];
    row.kind = column["kind"];
    if (row.kind != "fhir-json" && row.kind != "fhir-xml") {
      continue;
    }
    row.resource_type = column["resourceType"];
    row.bundle_type = column["bundleType"];
    row.entries = column["entries"];
    row.features = column["features"];
    row.source_path = column["source_path"];
    rows.push_back(row);
  }
  return rows;
}

const std::vector<CorpusRow>& loadRows() {
  static const std::vector<CorpusRow> rows = readRows();
  return rows;
}

std::string testName(const ::testing::TestParamInfo<CorpusRow>& info) {
  return test::corpusTestName(info.param.path, info.index);
}

// "first=MessageHeader" from the features column, or "".
std::string feature(const std::string& features, const std::string& key) {
  const std::string prefix = key + "=";
  std::size_t start = 0;
  while (start <= features.size()) {
    std::size_t end = features.find(',', start);
    if (end == std::string::npos) {
      end = features.size();
    }
    const std::string item = features.substr(start, end - start);
    if (item.rfind(prefix, 0) == 0) {
      return item.substr(prefix.size());
    }
    start = end + 1;
  }
  return std::string();
}

// Files the index lists as FHIR that the readers refuse, each with its reason. The index only
// checks that the file is JSON/XML with a resourceType; the readers enforce FHIR's shapes.
struct KnownRefusal {
  const char* path;
  const char* error;
};
constexpr KnownRefusal kKnownRefusals[] = {
    // "reason": [[{...}]]: FHIR JSON has no arrays of arrays (R4 JSON 2.6.2: a repeating
    // element is one array of values). A converter test expectation for a broken STU3 input.
    {"fhir/fhir-converter__src_Microsoft.Health.Fhir.Liquid.Converter.FunctionalTests_TestData_"
     "Expected_Stu3ToR4_Provenance.json",
     "an array inside an array is not FHIR JSON at Provenance.reason[0]"},
};

const KnownRefusal* knownRefusal(const CorpusRow& row) {
  for (const KnownRefusal& known : kKnownRefusals) {
    if (row.path == known.path) {
      return &known;
    }
  }
  return nullptr;
}

// JSON/XML pairs whose sources really differ (checked by hand against the files). The first
// difference must be exactly this, and every other top-level element must be equivalent.
struct KnownPairDifference {
  const char* xml_path;
  const char* json_path;
  const char* first_difference;
  const char* differing_elements;  // the top-level elements that differ, comma separated
  const char* reason;
};
#define GW_FTC "fhir/fhir-test-cases__r4_"
#define GW_MS "fhir/ms-fhir-server__src_Microsoft.Health.Fhir.Tests.Common_TestFiles_Normative_"
constexpr KnownPairDifference kKnownPairDifferences[] = {
    {GW_FTC "examples_observation-decimal.xml", GW_FTC "examples_observation-decimal.json",
     "Observation.component[2].valueQuantity.value", "component",
     "the XML writes 1.0e0 where the JSON writes 1.0 (also 0.0000000000000000000001 vs 1E-22, "
     "1.000000000000000000e-245 vs 1.000000000000000000E-245): numbers are kept as exact text"},
    {GW_FTC "examples_observation-example.xml", GW_FTC "examples_observation-example.json",
     "Observation.extension", "extension",
     "the XML has a patient-age extension that the JSON lacks"},
    {GW_FTC "examples_observation-example.xml", GW_MS "observation-example.json",
     "Observation.extension", "extension,meta",
     "the XML has a patient-age extension that the JSON lacks; the JSON has a meta element"},
    {GW_FTC "observation-example.xml", GW_FTC "examples_observation-example.json",
     "Observation.extension", "extension",
     "the XML has a patient-age extension that the JSON lacks"},
    {GW_FTC "observation-example.xml", GW_MS "observation-example.json", "Observation.extension",
     "extension,meta",
     "the XML has a patient-age extension that the JSON lacks; the JSON has a meta element"},
    {GW_FTC "examples_patient-example.xml",
     "fhir/fhir-candle__src_fhir-candle.Tests_data_r4_patient-example.json", "Patient.meta",
     "meta", "the JSON has a meta element, the XML none"},
    {GW_MS "ObservationWithNoCode.xml", GW_MS "ObservationWithNoCode.json", "Observation.meta",
     "meta", "the JSON has a meta element, the XML none"},
    {GW_MS "ObservationWithInvalidStatus.xml", GW_MS "ObservationWithInvalidStatus.json",
     "Observation.meta", "meta", "the JSON has a meta element, the XML none"},
    {GW_MS "Patient.xml", GW_MS "Patient.json", "Patient.meta", "meta",
     "the JSON has a meta element, the XML none"},
};
#undef GW_FTC
#undef GW_MS

const KnownPairDifference* knownPairDifference(const std::string& xml_path,
                                               const std::string& json_path) {
  for (const KnownPairDifference& known : kKnownPairDifferences) {
    if (xml_path == known.xml_path && json_path == known.json_path) {
      return &known;
    }
  }
  return nullptr;
}

// "observation-example" for "r4/examples/observation-example.xml".
std::string sourceStem(const std::string& source_path) {
  std::string name = source_path.substr(source_path.rfind('/') + 1);
  for (const std::string ext : {".json", ".xml"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      return name.substr(0, name.size() - ext.size());
    }
  }
  return name;
}

// The JSON files that hold the same resource as an XML file: the same source file stem (so
// copies of an example in other directories or repositories count) and, once parsed, the same
// resourceType and id (which drops unrelated files that share a stem, e.g. "Patient").
std::vector<std::string> pairedJson(const CorpusRow& xml_row, const Resource& xml) {
  std::vector<std::string> out;
  const std::string stem = sourceStem(xml_row.source_path);
  for (const CorpusRow& row : loadRows()) {
    if (row.kind != "fhir-json" || sourceStem(row.source_path) != stem) {
      continue;
    }
    const Result<Resource> json = parseJson(test::readFile(*corpus() / row.path));
    if (json.ok() && json->resourceType() == xml.resourceType() && json->id() == xml.id()) {
      out.push_back(row.path);
    }
  }
  return out;
}

// Every top-level element not named in `except` ("meta,extension") has equivalent repetitions
// in both trees.
void expectEquivalentExcept(const Node& a, const Node& b, const std::string& except) {
  const auto excepted = [&](std::string_view name) {
    return ("," + except + ",").find("," + std::string(name) + ",") != std::string::npos;
  };
  const auto group = [](const Node& root, std::string_view name) {
    std::vector<const Node*> out;
    for (const Node& c : root.children()) {
      if (c.name() == name) {
        out.push_back(&c);
      }
    }
    return out;
  };
  for (const Node* root : {&a, &b}) {
    for (const Node& child : root->children()) {
      if (excepted(child.name())) {
        continue;
      }
      const std::vector<const Node*> in_a = group(a, child.name());
      const std::vector<const Node*> in_b = group(b, child.name());
      ASSERT_EQ(in_a.size(), in_b.size()) << child.name();
      for (std::size_t i = 0; i < in_a.size(); ++i) {
        EXPECT_TRUE(equivalent(*in_a[i], *in_b[i])) << child.name() << "[" << i << "]";
      }
    }
  }
}

// Evaluates what the mapping engine typically reads, so ASan sees the evaluator on real data.
void exercise(const Resource& resource) {
  static const char* const kPaths[] = {
      "Bundle.entry.resource.ofType(Patient).name.family",
      "Bundle.entry.resource.ofType(MessageHeader).focus.resolve().id",
      "Bundle.entry.resource.ofType(Observation).value.ofType(Quantity).value",
      "Bundle.entry.resource.ofType(DiagnosticReport).result.resolve().status",
      "Bundle.entry.resource.ofType(Encounter).subject.resolve().identifier.where("
      "system.exists()).value",
      "name.where(use = 'official').given.first()",
      "subject.resolve().id",
  };
  for (const char* text : kPaths) {
    const Result<FhirPath> path = FhirPath::compile(text);
    ASSERT_TRUE(path.ok()) << path.status().toString();
    const Result<Collection> result = path->evaluate(resource);
    ASSERT_TRUE(result.ok()) << text << ": " << result.status().toString();
    (void)toText(*result);
  }
  (void)canonicalJson(resource.root());
}

class CorpusTest : public ::testing::TestWithParam<CorpusRow> {};

TEST_P(CorpusTest, ParsesLikeTheIndex) {
  const CorpusRow& row = GetParam();
  if (row.path.empty()) {
    GTEST_SKIP() << "../shared/corpus not found beside the checkout; corpus tests skipped";
  }
  const std::string bytes = test::readFile(*corpus() / row.path);
  const bool is_xml = row.kind == "fhir-xml";
  const Result<Resource> parsed = is_xml ? parseXml(bytes) : parseJson(bytes);

  if (const KnownRefusal* known = knownRefusal(row)) {
    ASSERT_FALSE(parsed.ok()) << "the index accepts this file, the reader should not";
    EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
    EXPECT_EQ(parsed.status().message(), known->error);
    return;
  }
  ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
  const Resource& resource = *parsed;
  EXPECT_EQ(resource.resourceType(), row.resource_type);
  EXPECT_EQ(resource.bundleType(), row.bundle_type);
  if (resource.isBundle()) {
    EXPECT_EQ(std::to_string(resource.entries().size()), row.entries);
    const std::string first = feature(row.features, "first");
    if (!first.empty()) {
      ASSERT_FALSE(resource.entries().empty());
      const Node* first_resource = Resource::entryResource(*resource.entries().front());
      ASSERT_NE(first_resource, nullptr);
      EXPECT_EQ(first_resource->resourceType(), first);
    }
  } else {
    EXPECT_EQ(row.entries, "");
  }
  exercise(resource);

  if (!is_xml) {
    return;
  }
  for (const std::string& json_path : pairedJson(row, resource)) {
    const Result<Resource> json = parseJson(test::readFile(*corpus() / json_path));
    ASSERT_TRUE(json.ok()) << json_path << ": " << json.status().toString();
    const std::optional<std::string> difference = firstDifference(resource.root(), json->root());
    if (const KnownPairDifference* known = knownPairDifference(row.path, json_path)) {
      EXPECT_EQ(difference, std::optional<std::string>(known->first_difference))
          << json_path << ": " << known->reason;
      expectEquivalentExcept(resource.root(), json->root(), known->differing_elements);
      continue;
    }
    EXPECT_EQ(difference, std::nullopt) << "differs from " << json_path;
    EXPECT_EQ(canonicalJson(resource.root()), canonicalJson(json->root())) << json_path;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusTest, ::testing::ValuesIn(loadRows()), testName);

// How many JSON/XML pairs the corpus holds: each is compared by ParsesLikeTheIndex above.
TEST(CorpusPairsTest, FindsTheJsonXmlPairs) {
  if (!corpus()) {
    GTEST_SKIP() << "../shared/corpus not found beside the checkout; corpus tests skipped";
  }
  std::size_t pairs = 0;
  std::size_t equal = 0;
  for (const CorpusRow& row : loadRows()) {
    if (row.kind != "fhir-xml") {
      continue;
    }
    const Result<Resource> xml = parseXml(test::readFile(*corpus() / row.path));
    ASSERT_TRUE(xml.ok()) << row.path;
    for (const std::string& json_path : pairedJson(row, *xml)) {
      ++pairs;
      equal += knownPairDifference(row.path, json_path) == nullptr ? 1 : 0;
    }
  }
  RecordProperty("pairs", static_cast<int>(pairs));
  RecordProperty("equal_pairs", static_cast<int>(equal));
  std::cout << "[ INFO     ] " << pairs << " JSON/XML pairs of the same resource, " << equal
            << " with equal canonical trees, " << pairs - equal
            << " differing where the source files differ\n";
  EXPECT_EQ(pairs, 13u);
  EXPECT_EQ(equal, 4u);
}

}  // namespace
}  // namespace gw::fhir
