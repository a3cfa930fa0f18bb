// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <filesystem>

#include "gateway/mapping/MappingSet.h"
#include "tests/support/TestSupport.h"

namespace gw::mapping {
namespace {

namespace fs = std::filesystem;

// A mapping directory in a temp dir with the shipped schema and a one-language template set.
class MappingSetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() / "mappings";
    fs::create_directories(dir_ / "templates" / "t");
    fs::copy_file(test::sourceDir() / "mappings" / "mapping.schema.json",
                  dir_ / "mapping.schema.json");
    writeTemplate("en", "Hi {{patient.given}}", "Hello {{patient.given}}.\n",
                  "<p>Hello {{patient.given}}.</p>\n");
  }
  void writeTemplate(const std::string& lang, const std::string& subject, const std::string& text,
                     const std::string& html) {
    test::writeFile(dir_ / "templates" / "t" / (lang + ".subject.mustache"), subject);
    test::writeFile(dir_ / "templates" / "t" / (lang + ".txt.mustache"), text);
    test::writeFile(dir_ / "templates" / "t" / (lang + ".html.mustache"), html);
  }
  // Loads the directory and returns every error line ("" when it loaded).
  std::string load() {
    ConfigErrors errors;
    auto set = MappingSet::load(dir_.string(), MappingSettings{}, errors);
    EXPECT_EQ(set == nullptr, !errors.empty());
    return errors.toString();
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  test::TempDir tmp_;
  fs::path dir_;
};

// A valid mapping; tests break one line of it at a time. Line numbers matter below.
const char* const kGood = R"({
  "id": "good",
  "purpose": "result",
  "match": {"source": "hl7v2", "event": ["ORU^R01"]},
  "patient": {"identifier": "PID-3.1", "assigning_authority": "PID-3.4"},
  "extract": {
    "patient.given": "PID-5.2",
    "patient.email": "PID-13[.2=NET].4",
    "order.filler": "OBR-3.1"
  },
  "keys": {"group": "result", "clinical": ["order.filler"]},
  "route": {"channel": "secure_inbox", "recipient": {"email": "patient.email"}},
  "templates": {"set": "t"}
}
)";

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

TEST_F(MappingSetTest, ShippedMappingsLoad) {
  ConfigErrors errors;
  auto set = MappingSet::load((test::sourceDir() / "mappings").string(), MappingSettings{}, errors);
  ASSERT_NE(set, nullptr) << errors.toString();
  EXPECT_EQ(set->mappings().size(), 9U);
  for (const Mapping& m : set->mappings()) {
    if (m.action == Mapping::Action::Notify) {
      EXPECT_NE(m.templatesFor("en"), nullptr) << m.id;
      EXPECT_NE(m.templatesFor("es"), nullptr) << m.id;
    }
  }
}

TEST_F(MappingSetTest, GoodMappingLoads) {
  test::writeFile(dir_ / "good.json", kGood);
  EXPECT_EQ(load(), "");
}

TEST_F(MappingSetTest, ReportsEveryErrorAtOnceWithPositions) {
  std::string text = replace(kGood, "\"purpose\"", "\"purpse\"");
  text = replace(text, "\"PID-5.2\"", "\"PID-0\"");
  text = replace(text, "\"clinical\": [\"order.filler\"]", "\"clinical\": [\"order.number\"]");
  test::writeFile(dir_ / "good.json", text);
  const std::string errors = load();
  const std::string f = file("good.json");
  EXPECT_NE(errors.find(f + ":1:1: error: missing required key \"mapping.purpose\""),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(f + ":7:23: error: \"extract.patient.given\": \"PID-0\" is not an HL7 v2 "
                            "path"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find(f + ":11:11: error: \"keys\" names \"order.number\""), std::string::npos)
      << errors;
  EXPECT_NE(
      errors.find(f + ":3:3: error: unknown key \"purpse\" in mapping (did you mean \"purpose\"?)"),
      std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, FhirPathErrorsPointIntoThePath) {
  std::string text = replace(kGood, "\"hl7v2\"", "\"fhir\"");
  text = replace(text, "[\"ORU^R01\"]", "[\"DiagnosticReport\"]");
  text = replace(text, "\"PID-3.1\"", "\"DiagnosticReport.subject.resolve().identifier.value\"");
  text = replace(text, "\"PID-3.4\"", "\"DiagnosticReport.subject.resolve().identifier.system\"");
  text = replace(text, "\"PID-5.2\"", "\"DiagnosticReport.subject.substring(1)\"");
  text = replace(text, "\"PID-13[.2=NET].4\"", "\"DiagnosticReport.subject.telecom.value\"");
  text = replace(text, "\"OBR-3.1\"", "\"DiagnosticReport.identifier.value\"");
  test::writeFile(dir_ / "good.json", text);
  const std::string errors = load();
  EXPECT_NE(errors.find(file("good.json") + ":7:"), std::string::npos) << errors;
  EXPECT_NE(errors.find("is not a supported FHIRPath"), std::string::npos) << errors;
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 1) << errors;
}

TEST_F(MappingSetTest, SchemaCatchesWhatTheReaderAllows) {
  test::writeFile(dir_ / "good.json", replace(kGood, "\"result\",", "\"marketing\","));
  const std::string errors = load();
  EXPECT_NE(errors.find(file("good.json") + ":3:14: error: \"/purpose\" is not one of the allowed "
                                            "values (schema: enum)"),
            std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, TemplateVariableThatIsNotExtractedIsAnError) {
  writeTemplate("en", "Hi", "Hello {{patient.given}},\nyour {{order.nmae}} is ready.\n", "<p></p>");
  test::writeFile(dir_ / "good.json", kGood);
  const std::string errors = load();
  EXPECT_NE(errors.find((dir_ / "templates" / "t" / "en.txt.mustache").string() +
                        ":2:6: error: template uses \"order.nmae\", which the mapping neither "
                        "extracts nor looks up"),
            std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, UnbalancedSectionsAndPartialsAreErrors) {
  writeTemplate("en", "{{#patient.given}}Hi", "{{> footer}}", "<p>{{/order.filler}}</p>");
  test::writeFile(dir_ / "good.json", kGood);
  const std::string errors = load();
  const fs::path t = dir_ / "templates" / "t";
  EXPECT_NE(errors.find((t / "en.subject.mustache").string() +
                        ":1:1: error: section {{#patient.given}} is never closed"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find((t / "en.txt.mustache").string() +
                        ":1:1: error: partials ({{>name}}) are not supported"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find((t / "en.html.mustache").string() + ":1:4: error: closing tag"),
            std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, MissingTemplatePartAndSetAreErrors) {
  test::writeFile(dir_ / "templates" / "t" / "es.subject.mustache", "Hola");
  test::writeFile(dir_ / "good.json", kGood);
  std::string errors = load();
  EXPECT_NE(errors.find("es.txt.mustache:1:1: error: cannot read the template"), std::string::npos)
      << errors;
  test::writeFile(dir_ / "good.json", replace(kGood, "{\"set\": \"t\"}", "{\"set\": \"nope\"}"));
  fs::remove(dir_ / "templates" / "t" / "es.subject.mustache");
  errors = load();
  EXPECT_NE(errors.find(file("good.json") + ":13:24: error: template set \"nope\" not found"),
            std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, InvalidJsonIsPositioned) {
  test::writeFile(dir_ / "good.json", replace(kGood, "\"result\",", "\"result\""));
  const std::string errors = load();
  EXPECT_NE(errors.find(file("good.json") + ":4:"), std::string::npos) << errors;
}

TEST_F(MappingSetTest, BadConditionRegexAndIdAreReported) {
  std::string text = replace(kGood, "\"event\": [\"ORU^R01\"]}",
                             "\"event\": [\"ORU^R01\"], \"conditions\": [{\"path\": \"OBR-25\", "
                             "\"regex\": \"(F\"}, {\"path\": \"OBR-25\"}]}");
  text = replace(text, "\"id\": \"good\"", "\"id\": \"other\"");
  test::writeFile(dir_ / "good.json", text);
  const std::string errors = load();
  EXPECT_NE(errors.find("must equal the file name \"good\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("\"match.conditions[0].regex\" is not a valid regular expression"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("\"match.conditions[1]\" needs exactly one of"), std::string::npos)
      << errors;
}

TEST_F(MappingSetTest, RetractMappingNeedsRetractPolicyAndSendsNothing) {
  std::string text = replace(kGood, "\"purpose\": \"result\",",
                             "\"purpose\": \"result\", \"action\": \"retract\",");
  test::writeFile(dir_ / "good.json", text);
  const std::string errors = load();
  EXPECT_NE(errors.find("a retract mapping has no \"route\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("a retract mapping has no \"templates\""), std::string::npos) << errors;
}

TEST_F(MappingSetTest, MissingSchemaAndUnknownTimeZoneAreErrors) {
  fs::remove(dir_ / "mapping.schema.json");
  test::writeFile(dir_ / "good.json", kGood);
  MappingSettings settings;
  settings.facility_time_zone = "Mars/Olympus_Mons";
  ConfigErrors errors;
  EXPECT_EQ(MappingSet::load(dir_.string(), settings, errors), nullptr);
  const std::string text = errors.toString();
  EXPECT_NE(text.find("cannot read the mapping schema"), std::string::npos) << text;
  EXPECT_NE(text.find("\"Mars/Olympus_Mons\" is not in the system tz database"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace gw::mapping
