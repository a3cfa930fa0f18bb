// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/fhir/Resource.h"
#include "tests/unit/gateway/fhir/ResourceOrFail.h"

namespace gw::fhir {
namespace {

Resource parseOk(std::string_view json, const ParseLimits& limits = {}) {
  return test::resourceOrFail(parseJson(json, limits));
}

std::string parseError(std::string_view json, const ParseLimits& limits = {}) {
  const Result<Resource> parsed = parseJson(json, limits);
  EXPECT_FALSE(parsed.ok()) << "parsed: " << json.substr(0, 200);
  if (parsed.ok()) {
    return "<parsed>";
  }
  EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
  return parsed.status().message();
}

std::vector<std::string> values(const Node& node, std::string_view name) {
  std::vector<std::string> out;
  for (const Node& c : node.children()) {
    if (c.name() == name) {
      out.emplace_back(c.value());
    }
  }
  return out;
}

TEST(JsonParserTest, BuildsTreeWithRepetitionsAsRepeatedElements) {
  const Resource r = parseOk(R"({
    "resourceType": "Patient",
    "id": "p1",
    "active": true,
    "name": [{"family": "Doe", "given": ["Jane", "Q"]}, {"text": "J. Doe"}],
    "birthDate": "1970-03-30",
    "multipleBirthInteger": 2
  })");
  const Node& root = r.root();
  EXPECT_EQ(r.resourceType(), "Patient");
  EXPECT_EQ(root.name(), "Patient");
  EXPECT_TRUE(root.isResource());
  EXPECT_EQ(r.id(), "p1");
  EXPECT_EQ(root.childValue("active"), "true");
  EXPECT_EQ(root.childValue("multipleBirthInteger"), "2");
  EXPECT_EQ(root.childCount(), 6u);  // resourceType is not a child
  EXPECT_EQ(root.child("resourceType"), nullptr);

  const Node* name = root.child("name");
  ASSERT_NE(name, nullptr);
  EXPECT_FALSE(name->hasValue());
  EXPECT_EQ(name->childValue("family"), "Doe");
  EXPECT_EQ(values(*name, "given"), (std::vector<std::string>{"Jane", "Q"}));
  EXPECT_EQ(name->nextSibling()->name(), "name");
  EXPECT_EQ(name->nextSibling()->childValue("text"), "J. Doe");
  EXPECT_EQ(name->parent(), &root);
  EXPECT_EQ(name->firstChild()->nextSibling()->path(), "Patient.name[0].given[0]");
}

TEST(JsonParserTest, KeepsNumbersAsExactText) {
  const Resource r = parseOk(R"({"resourceType":"Observation","valueQuantity":{"value":1.50},
      "component":[{"valueDecimal":1E-22},{"valueDecimal":-0.0},{"valueDecimal":100000000000000000000000},
      {"valueDecimal":1.000000000000000000E-245},{"valueInteger":-7}]})");
  EXPECT_EQ(r.root().child("valueQuantity")->childValue("value"), "1.50");
  std::vector<std::string> decimals;
  for (const Node& c : r.root().children()) {
    if (c.name() == "component") {
      decimals.emplace_back(c.firstChild()->value());
    }
  }
  EXPECT_EQ(decimals, (std::vector<std::string>{"1E-22", "-0.0", "100000000000000000000000",
                                                "1.000000000000000000E-245", "-7"}));
}

TEST(JsonParserTest, KeepsBooleansAsText) {
  const Resource r = parseOk(R"({"resourceType":"Patient","active":false,"deceasedBoolean":true})");
  EXPECT_EQ(r.root().childValue("active"), "false");
  EXPECT_EQ(r.root().childValue("deceasedBoolean"), "true");
}

TEST(JsonParserTest, AcceptsUtf8Bom) {
  const Resource r = parseOk("\xEF\xBB\xBF{\"resourceType\":\"Patient\",\"id\":\"x\"}");
  EXPECT_EQ(r.id(), "x");
}

TEST(JsonParserTest, DecodesEscapesAndKeepsUtf8) {
  const Resource r =
      parseOk(R"({"resourceType":"Patient","name":[{"family":"M\u00fcller \"\\\/ \n","given":["Zoë"]}]})");
  EXPECT_EQ(r.root().child("name")->childValue("family"), "M\xC3\xBCller \"\\/ \n");
  EXPECT_EQ(r.root().child("name")->childValue("given"), "Zo\xC3\xAB");
}

TEST(JsonParserTest, RejectsInvalidUtf8) {
  for (const std::string& bad : {std::string("\xC3\x28"), std::string("\xC0\xAF"),
                                std::string("\xED\xA0\x80"), std::string("\xF5\x80\x80\x80"),
                                std::string("abc\xFF")}) {
    const std::string value_doc = "{\"resourceType\":\"Patient\",\"id\":\"" + bad + "\"}";
    EXPECT_NE(parseError(value_doc).find("Invalid encoding"), std::string::npos);
    const std::string key_doc = "{\"resourceType\":\"Patient\",\"" + bad + "\":\"x\"}";
    EXPECT_NE(parseError(key_doc).find("Invalid encoding"), std::string::npos);
  }
}

TEST(JsonParserTest, RejectsUnpairedSurrogateEscape) {
  EXPECT_NE(parseError(R"({"resourceType":"Patient","id":"\ud800"})").find("surrogate"),
            std::string::npos);
}

TEST(JsonParserTest, MergesPrimitiveIdAndExtensions) {
  const Resource r = parseOk(R"({
    "resourceType": "Patient",
    "_birthDate": {"id": "b1", "extension": [{"url": "http://x/e", "valueString": "e"}]},
    "birthDate": "1970-03-30",
    "name": [{
      "given": ["Jane", null, "Q"],
      "_given": [null, {"extension": [{"url": "http://x/only-ext", "valueCode": "masked"}]},
                 {"id": "g3"}]
    }]
  })");
  const Node* birth = r.root().child("birthDate");
  ASSERT_NE(birth, nullptr);
  EXPECT_EQ(birth->value(), "1970-03-30");
  EXPECT_EQ(birth->childValue("id"), "b1");
  EXPECT_EQ(birth->child("extension")->childValue("url"), "http://x/e");
  EXPECT_EQ(r.root().child("_birthDate"), nullptr);

  const Node* name = r.root().child("name");
  std::vector<const Node*> given;
  for (const Node& c : name->children()) {
    ASSERT_EQ(c.name(), "given");
    given.push_back(&c);
  }
  ASSERT_EQ(given.size(), 3u);
  EXPECT_EQ(given[0]->value(), "Jane");
  EXPECT_EQ(given[0]->childCount(), 0u);
  EXPECT_FALSE(given[1]->hasValue());
  EXPECT_EQ(given[1]->child("extension")->childValue("valueCode"), "masked");
  EXPECT_EQ(given[2]->value(), "Q");
  EXPECT_EQ(given[2]->childValue("id"), "g3");
}

TEST(JsonParserTest, ExtensionArrayShorterThanValues) {
  // As in the corpus file patient-name-extensions.json.
  const Resource r = parseOk(R"({"resourceType":"Patient","name":[{"given":[null,"James"],
      "_given":[{"extension":[{"url":"http://x","valueString":"five"}]}]}]})");
  const Node* name = r.root().child("name");
  ASSERT_EQ(name->childCount(), 2u);
  EXPECT_FALSE(name->firstChild()->hasValue());
  EXPECT_NE(name->firstChild()->child("extension"), nullptr);
  EXPECT_EQ(name->firstChild()->nextSibling()->value(), "James");
}

TEST(JsonParserTest, ExtensionWithoutValue) {
  const Resource r = parseOk(R"({"resourceType":"Patient","_gender":{"id":"g"}})");
  const Node* gender = r.root().child("gender");
  ASSERT_NE(gender, nullptr);
  EXPECT_FALSE(gender->hasValue());
  EXPECT_EQ(gender->childValue("id"), "g");
}

TEST(JsonParserTest, RejectsNullsThatDoNotLineUp) {
  EXPECT_NE(parseError(R"({"resourceType":"Patient","gender":null})").find("Patient.gender"),
            std::string::npos);
  EXPECT_NE(parseError(R"({"resourceType":"Patient","name":[{"given":["a",null]}]})")
                .find("null in an array without a matching _given at Patient.name.given"),
            std::string::npos);
  EXPECT_NE(
      parseError(R"({"resourceType":"Patient","name":[{"given":["a",null],"_given":[null,null]}]})")
          .find("null in both given and _given at index 1"),
      std::string::npos);
  EXPECT_NE(parseError(R"({"resourceType":"Patient","_gender":"x"})").find("Patient._gender"),
            std::string::npos);
}

TEST(JsonParserTest, DropsNarrativeDivOnly) {
  const Resource r = parseOk(R"({"resourceType":"Patient","text":{"status":"generated",
      "div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Jane</div>"},
      "maritalStatus":{"text":"Married"}})");
  const Node* text = r.root().child("text");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->childValue("status"), "generated");
  EXPECT_EQ(text->child("div"), nullptr);
  EXPECT_EQ(text->childCount(), 1u);
  EXPECT_EQ(r.root().child("maritalStatus")->childValue("text"), "Married");
}

TEST(JsonParserTest, NestedResourcesCarryTheirType) {
  const Resource r = parseOk(R"({"resourceType":"Bundle","type":"collection","entry":[
      {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a",
        "contained":[{"resourceType":"Organization","id":"o"}]}}]})");
  const Node* resource = r.root().child("entry")->child("resource");
  ASSERT_NE(resource, nullptr);
  EXPECT_EQ(resource->name(), "resource");
  EXPECT_EQ(resource->resourceType(), "Patient");
  EXPECT_EQ(resource->child("contained")->resourceType(), "Organization");
  EXPECT_EQ(resource->child("contained")->name(), "contained");
}

TEST(JsonParserTest, ResourceTypeMayComeLast) {
  const Resource r = parseOk(R"({"id":"x","resourceType":"Patient"})");
  EXPECT_EQ(r.resourceType(), "Patient");
  EXPECT_EQ(r.root().name(), "Patient");
}

TEST(JsonParserTest, RejectsShapesThatAreNotFhirJson) {
  EXPECT_EQ(parseError(R"([{"resourceType":"Patient"}])"),
            "the top level must be a JSON object with a resourceType");
  EXPECT_EQ(parseError(R"("Patient")"), "the top level must be a JSON object with a resourceType");
  EXPECT_EQ(parseError(R"({"id":"x"})"), "the top-level object has no resourceType");
  EXPECT_EQ(parseError(R"({"resourceType":1})"), "resourceType must be a string at (resource).resourceType");
  EXPECT_EQ(parseError(R"({"resourceType":"Patient","resourceType":"Basic"})"),
            "duplicate resourceType at Patient.resourceType");
  EXPECT_EQ(parseError(R"({"resourceType":"Provenance","reason":[[{"text":"x"}]]})"),
            "an array inside an array is not FHIR JSON at Provenance.reason[0]");
  EXPECT_NE(parseError(R"({"resourceType":"Patient"} {})").find("must not be followed"),
            std::string::npos);
  EXPECT_NE(parseError(std::string("{\"resourceType\":\"Patient\"}\0{}", 28)).find("NUL byte"),
            std::string::npos);
  EXPECT_NE(parseError("").find("empty"), std::string::npos);
  EXPECT_NE(parseError(R"({"resourceType":"Observation","valueDecimal":1e400})").find("too big"),
            std::string::npos);
}

TEST(JsonParserTest, RejectsDeepNesting) {
  ParseLimits limits;
  limits.max_depth = 10;
  // Root object (1) + "extension" array (2) + object (3) ...: depth grows by 2 per level.
  auto nested = [](int levels) {
    std::string json = R"({"resourceType":"Patient")";
    for (int i = 0; i < levels; ++i) {
      json += R"(,"extension":[{"url":"u")";
    }
    for (int i = 0; i < levels; ++i) {
      json += "}]";
    }
    return json + "}";
  };
  EXPECT_TRUE(parseJson(nested(4), limits).ok());  // depth 9
  const std::string error = parseError(nested(5), limits);
  EXPECT_EQ(error,
            "nesting deeper than 10 at Patient.extension[0].extension[0].extension[0]."
            "extension[0].extension[0]");
  // The default limit (64) refuses a hostile document long before the stack is at risk.
  EXPECT_NE(parseError(std::string(100000, '[')).find("top level"), std::string::npos);
  EXPECT_NE(parseError(nested(40)).find("nesting deeper than 64"), std::string::npos);
}

TEST(JsonParserTest, RejectsHugeStrings) {
  ParseLimits limits;
  limits.max_string_bytes = 16;
  EXPECT_TRUE(parseJson(R"({"resourceType":"Patient","id":"0123456789abcdef"})", limits).ok());
  EXPECT_EQ(parseError(R"({"resourceType":"Patient","id":"0123456789abcdefX"})", limits),
            "string longer than 16 bytes at Patient.id");
  EXPECT_EQ(parseError(R"({"resourceType":"Patient","0123456789abcdefX":1})", limits),
            "string longer than 16 bytes at Patient");
  const std::string big(1024 * 1024 + 1, 'a');
  EXPECT_EQ(parseError(R"({"resourceType":"Patient","name":[{"given":[")" + big + "\"]}]}"),
            "string longer than 1048576 bytes at Patient.name[0].given[0]");
}

TEST(JsonParserTest, RejectsDocumentsOverTheSizeLimit) {
  ParseLimits limits;
  limits.max_total_bytes = 30;
  EXPECT_EQ(parseError(R"({"resourceType":"Patient","id":"abcdefgh"})", limits),
            "document of 42 bytes is larger than the limit of 30 bytes");
}

TEST(JsonParserTest, EveryTruncationFailsCleanly) {
  const std::string json = R"({"resourceType":"Bundle","type":"message","entry":[{"fullUrl":)"
                           R"("urn:uuid:1","resource":{"resourceType":"Patient","name":[{"given":)"
                           R"(["A","B"],"_given":[null,{"id":"x"}]}],"multipleBirthInteger":12}}]})";
  ASSERT_TRUE(parseJson(json).ok());
  for (std::size_t length = 0; length < json.size(); ++length) {
    const Result<Resource> parsed = parseJson(std::string_view(json).substr(0, length));
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
  }
}

TEST(JsonParserTest, ErrorsNameTheLocationButNeverTheValue) {
  const std::string error = parseError(R"({"resourceType":"Bundle","entry":[{"resource":{}},
      {"resource":{"resourceType":"Patient","name":[{"family":"SECRET-NAME" "given":["x"]}]}}]})");
  EXPECT_NE(error.find("invalid JSON at offset "), std::string::npos) << error;
  EXPECT_NE(error.find("(Bundle.entry[1].resource.name[0])"), std::string::npos) << error;
  EXPECT_EQ(error.find("SECRET"), std::string::npos) << error;
}

TEST(JsonParserTest, OffsetsCountTheBom) {
  const std::string error = parseError("\xEF\xBB\xBF{\"resourceType\":}");
  EXPECT_NE(error.find("offset 19"), std::string::npos) << error;
}

}  // namespace
}  // namespace gw::fhir
