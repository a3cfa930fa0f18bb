// SPDX-License-Identifier: Apache-2.0
// Golden mapping cases: tests/data/mappings/<mapping>/<case>.{hl7,json,xml} (an .hl7 file may hold
// a sequence of messages, mapped in order with the state carried over), an optional
// <case>.setup.json (clock, consent, preferences; see gateway/mapping/DryRun.h) and
// <case>.expected.json, the report `gateway mapping test` prints. The shipped mappings/ directory
// is loaded as the gateway loads it, so each case also checks that no other mapping matches.
// GW_UPDATE_GOLDEN=1 rewrites the expected files (review the diff before committing).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "gateway/mapping/DryRun.h"
#include "gateway/mapping/MappingSet.h"
#include "tests/support/TestSupport.h"

namespace gw::mapping {
namespace {

namespace fs = std::filesystem;

struct GoldenCase {
  std::string name;  // "<mapping>/<case>"
  fs::path input;
  fs::path setup;
  fs::path expected;
};

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::vector<GoldenCase> findCases() {
  std::vector<GoldenCase> cases;
  const fs::path root = test::sourceDir() / "tests" / "data" / "mappings";
  std::error_code ec;
  for (const fs::directory_entry& dir : fs::directory_iterator(root, ec)) {
    if (!dir.is_directory() || dir.path().filename() == "errors") {
      continue;
    }
    for (const fs::directory_entry& file : fs::directory_iterator(dir.path())) {
      const std::string name = file.path().filename().string();
      if (endsWith(name, ".expected.json") || endsWith(name, ".setup.json") ||
          name.rfind("_", 0) == 0) {  // "_x.json": an input other cases map first
        continue;
      }
      const std::string ext = file.path().extension().string();
      if (ext != ".hl7" && ext != ".json" && ext != ".xml") {
        continue;
      }
      const std::string stem = file.path().stem().string();
      GoldenCase c;
      c.name = dir.path().filename().string() + "/" + stem;
      c.input = file.path();
      c.setup = dir.path() / (stem + ".setup.json");
      c.expected = dir.path() / (stem + ".expected.json");
      cases.push_back(std::move(c));
    }
  }
  std::sort(cases.begin(), cases.end(),
            [](const GoldenCase& a, const GoldenCase& b) { return a.name < b.name; });
  return cases;
}

class MappingGoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(MappingGoldenTest, ProducesExpectedReport) {
  const GoldenCase& c = GetParam();
  DryRunSetup setup;
  if (fs::exists(c.setup)) {
    Result<DryRunSetup> parsed = parseDryRunSetup(test::readFile(c.setup));
    ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
    setup = *parsed;
  }
  ASSERT_TRUE(setup.now) << c.setup << " must set \"now\" so the case never reads the wall clock";
  MappingSettings settings;
  if (setup.facility_time_zone) {
    settings.facility_time_zone = *setup.facility_time_zone;
  }
  ConfigErrors errors;
  auto set = MappingSet::load((test::sourceDir() / "mappings").string(), settings, errors);
  ASSERT_NE(set, nullptr) << errors.toString();
  std::vector<std::string> inputs;
  for (const std::string& before : setup.before) {
    inputs.push_back((c.input.parent_path() / before).string());
  }
  inputs.push_back(c.input.string());
  Result<std::string> report = dryRun(*set, inputs, setup);
  ASSERT_TRUE(report.ok()) << report.status().toString();

  if (const char* update = std::getenv("GW_UPDATE_GOLDEN"); update != nullptr && *update == '1') {
    test::writeFile(c.expected, *report);
  }
  ASSERT_TRUE(fs::exists(c.expected)) << "missing " << c.expected << "; actual report:\n"
                                      << *report;
  rapidjson::Document expected;
  rapidjson::Document actual;
  expected.Parse(test::readFile(c.expected).c_str());
  actual.Parse(report->c_str());
  ASSERT_FALSE(expected.HasParseError()) << c.expected;
  ASSERT_FALSE(actual.HasParseError());
  EXPECT_TRUE(expected == actual) << "report differs from " << c.expected << "; actual:\n"
                                  << *report;
}

std::string caseName(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string out;
  for (char ch : info.param.name) {
    out.push_back(std::isalnum(static_cast<unsigned char>(ch)) != 0 ? ch : '_');
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, MappingGoldenTest, ::testing::ValuesIn(findCases()), caseName);

// The directory must hold cases: an empty list would make the suite pass vacuously.
TEST(MappingGoldenCasesTest, EveryShippedMappingHasCases) {
  const std::vector<GoldenCase> cases = findCases();
  ConfigErrors errors;
  auto set = MappingSet::load((test::sourceDir() / "mappings").string(), MappingSettings{}, errors);
  ASSERT_NE(set, nullptr) << errors.toString();
  for (const Mapping& m : set->mappings()) {
    if (m.action == Mapping::Action::Retract) {
      continue;  // exercised by the cases of the mapping whose messages it retracts
    }
    const bool has = std::any_of(cases.begin(), cases.end(), [&](const GoldenCase& c) {
      return c.name.compare(0, m.id.size() + 1, m.id + "/") == 0;
    });
    EXPECT_TRUE(has) << "no golden case for mapping " << m.id;
  }
}

}  // namespace
}  // namespace gw::mapping
