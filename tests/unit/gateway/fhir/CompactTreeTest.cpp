// SPDX-License-Identifier: Apache-2.0
#include "gateway/fhir/CompactTree.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gateway/fhir/FhirPath.h"
#include "tests/unit/gateway/fhir/ResourceOrFail.h"
#include "tests/support/TestSupport.h"

namespace gw::fhir {
namespace {

Resource json(std::string_view text) { return test::resourceOrFail(parseJson(text)); }

Resource roundTrip(const Resource& resource) {
  return test::resourceOrFail(fromCompactTree(toCompactTree(resource)));
}

// Every node's path (document order), with the value and resource type: order-sensitive, unlike
// equivalent(), which sorts names.
void walk(const Node& node, std::vector<std::string>& out) {
  out.push_back(node.path() + "|" + std::string(node.resourceType()) + "|" +
                (node.hasValue() ? "=" + std::string(node.value()) : std::string("-")));
  for (const Node& c : node.children()) {
    walk(c, out);
  }
}

std::vector<std::string> flatten(const Resource& r) {
  std::vector<std::string> out;
  walk(r.root(), out);
  return out;
}

// For every `reference` below the root: the path of what it resolves to ("" when nothing).
void resolutions(const Resource& r, const Node& node, std::vector<std::string>& out) {
  if (node.name() == "reference" && node.hasValue() && node.parent() != nullptr) {
    const Node* target = r.resolve(node.value(), node.parent());
    out.push_back(target == nullptr ? "" : target->path());
  }
  for (const Node& c : node.children()) {
    resolutions(r, c, out);
  }
}

TEST(CompactTreeTest, KeepsNamesValuesTypesOrderAndEmptyValues) {
  const Resource original = json(R"({"resourceType":"Patient","id":"p1",
      "name":[{"given":["b","a"],"family":""}],"_birthDate":{"id":"x","extension":[
      {"url":"u","valueString":"v"}]},"birthDate":"1970-01-01","deceasedBoolean":false,
      "contained":[{"resourceType":"Organization","id":"o"}],"multipleBirthInteger":1.50})");
  const Resource loaded = roundTrip(original);
  EXPECT_TRUE(equivalent(original.root(), loaded.root()));
  EXPECT_EQ(flatten(original), flatten(loaded));
  const Node* family = loaded.root().child("name")->child("family");
  ASSERT_NE(family, nullptr);
  EXPECT_TRUE(family->hasValue());
  EXPECT_EQ(family->value(), "");
  EXPECT_EQ(loaded.root().childValue("multipleBirthInteger"), "1.50");
  EXPECT_EQ(loaded.root().child("contained")->resourceType(), "Organization");
  EXPECT_EQ(loaded.root().child("name")->childCount(), 3u);
}

TEST(CompactTreeTest, ResolvesReferencesInsideTheBundleAfterLoading) {
  const Resource original = json(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p"}},
      {"fullUrl":"https://ehr.example.invalid/fhir/Encounter/e","resource":{
        "resourceType":"Encounter","id":"e","subject":{"reference":"Patient/p"},
        "contained":[{"resourceType":"Location","id":"l"}],"location":[{"location":{
        "reference":"#l"}}]}},
      {"resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:1"}}}]})");
  const Resource loaded = roundTrip(original);
  ASSERT_EQ(loaded.entries().size(), 3u);
  const Node* subject = loaded.entries()[1]->child("resource")->child("subject");
  const Node* patient = loaded.resolve("Patient/p", subject);
  ASSERT_NE(patient, nullptr);
  EXPECT_EQ(patient->resourceType(), "Patient");
  EXPECT_EQ(loaded.resolve("urn:uuid:1"), patient);
  std::vector<std::string> before;
  std::vector<std::string> after;
  resolutions(original, original.root(), before);
  resolutions(loaded, loaded.root(), after);
  EXPECT_EQ(before, after);
  EXPECT_EQ(before, (std::vector<std::string>{"Bundle.entry[0].resource",
                                               "Bundle.entry[1].resource.contained",
                                               "Bundle.entry[0].resource"}));
  // The FHIRPath evaluator walks the loaded tree like a parsed one.
  Result<FhirPath> path =
      FhirPath::compile("Bundle.entry.resource.ofType(Encounter).subject.resolve().id");
  ASSERT_TRUE(path.ok()) << path.status().toString();
  EvalContext eval;
  eval.resource = &loaded;
  const Result<std::string> id = path->evaluateText(loaded.root(), eval);
  ASSERT_TRUE(id.ok()) << id.status().toString();
  EXPECT_EQ(*id, "p");
}

TEST(CompactTreeTest, RefusesDamagedForms) {
  const Resource original = json(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"resource":{"resourceType":"Patient","id":"p","birthDate":"1970"}}]})");
  const std::string form = toCompactTree(original);
  // Every truncation, and every single flipped byte of the header and records, is refused or
  // loads a tree that is still safe to walk (a flipped byte inside the text changes a value).
  for (std::size_t size = 0; size < form.size(); ++size) {
    const Result<Resource> loaded = fromCompactTree(std::string_view(form).substr(0, size));
    EXPECT_EQ(loaded.status().code(), StatusCode::DataLoss) << "size " << size;
  }
  std::string longer = form + "x";
  EXPECT_EQ(fromCompactTree(longer).status().code(), StatusCode::DataLoss);
  std::string bad_magic = form;
  bad_magic[0] = 'X';
  EXPECT_EQ(fromCompactTree(bad_magic).status().code(), StatusCode::DataLoss);
  for (std::size_t i = 4; i < form.size(); ++i) {
    std::string flipped = form;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x80);
    const Result<Resource> loaded = fromCompactTree(flipped);
    if (loaded.ok()) {
      (void)canonicalJson(loaded->root());  // walkable (ASan would catch a wild pointer)
    } else {
      EXPECT_EQ(loaded.status().code(), StatusCode::DataLoss);
    }
  }
  // A node whose parent comes after it.
  std::string order = form;
  const std::size_t second_node = 16 + 8 * (static_cast<unsigned char>(form[8])) + 16;
  order[second_node] = 5;
  EXPECT_EQ(fromCompactTree(order).status().code(), StatusCode::DataLoss);
}

TEST(CompactTreeTest, EveryCorpusFileRoundTrips) {
  const std::optional<std::filesystem::path> dir = test::corpusDir();
  if (!dir) {
    GTEST_SKIP() << "no corpus";
  }
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(*dir / "fhir")) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".json" && ext != ".xml") {
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    Result<Resource> parsed = ext == ".json" ? parseJson(bytes.str()) : parseXml(bytes.str());
    if (!parsed.ok()) {
      continue;  // the corpus has deliberately bad files; CorpusTest checks those
    }
    ++files;
    const std::string form = toCompactTree(*parsed);
    Result<Resource> loaded = fromCompactTree(form);
    ASSERT_TRUE(loaded.ok()) << entry.path() << ": " << loaded.status().toString();
    EXPECT_EQ(flatten(*parsed), flatten(*loaded)) << entry.path();
    std::vector<std::string> before;
    std::vector<std::string> after;
    resolutions(*parsed, parsed->root(), before);
    resolutions(*loaded, loaded->root(), after);
    EXPECT_EQ(before, after) << entry.path();
  }
  EXPECT_GT(files, 400u);
}

}  // namespace
}  // namespace gw::fhir
