// SPDX-License-Identifier: Apache-2.0
// Path access on gw::hl7::Message: every form of the path language, missing and malformed paths.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/hl7/Message.h"

namespace gw::hl7 {
namespace {

using Values = std::vector<std::string>;

const std::string kOru =
    "MSH|^~\\&|LAB|HOSP|GW|PORTAL|20240101120000||ORU^R01^ORU_R01|C1|P|2.5.1\r"
    "PID|1||12345^^^HOSP&1.2.3&ISO^MR~67890^^^STATE^SS~^^^EMPTY||DOE^JOHN^Q||19800101|M|||"
    "1 MAIN ST^^TOWN||555-1234^PRN^PH~^NET^Internet^john@example.org~555-9999^WPN^PH\r"
    "OBR|1|ORD1|FIL1|CBC^Blood count\r"
    "OBX|1|NM|WBC^White cells||7.2|10*9/L\r"
    "OBX|2|ST|NOTE^Note||see \\T\\ read~second rep\r"
    "OBX|3|NM|RBC^Red cells||4.5\r"
    "OBX|4|ST|EMPTY^Empty||\r"
    "NTE|1||trailing note\r"
    "ZPI|1|custom^value\r";

class PathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<Message> parsed = Message::parse(kOru);
    ASSERT_TRUE(parsed.ok()) << parsed.status().toString();
    m_ = std::move(parsed).value();
  }
  Message m_;
};

TEST_F(PathTest, ReadsWholeFieldWithComponentsJoined) {
  EXPECT_EQ(m_.get("PID-5"), "DOE^JOHN^Q");
  EXPECT_EQ(m_.get("PID-3"), "12345^^^HOSP&1.2.3&ISO^MR");  // first repetition only
}

TEST_F(PathTest, ReadsComponent) {
  EXPECT_EQ(m_.get("PID-5.1"), "DOE");
  EXPECT_EQ(m_.get("PID-5.2"), "JOHN");
  EXPECT_EQ(m_.get("OBR-4.2"), "Blood count");
}

TEST_F(PathTest, ReadsSubcomponent) {
  EXPECT_EQ(m_.get("PID-3.4.1"), "HOSP");
  EXPECT_EQ(m_.get("PID-3.4.2"), "1.2.3");
  EXPECT_EQ(m_.get("PID-3.4.3"), "ISO");
  EXPECT_EQ(m_.get("PID-3.1.1"), "12345");  // a component without '&' is its own sub-component 1
}

TEST_F(PathTest, ReadsRepetition) {
  EXPECT_EQ(m_.get("PID-3(1).1"), "12345");
  EXPECT_EQ(m_.get("PID-3(2).1"), "67890");
  EXPECT_EQ(m_.get("PID-3(2).4"), "STATE");
  EXPECT_EQ(m_.get("PID-3(2)"), "67890^^^STATE^SS");
  EXPECT_EQ(m_.get("PID-3(3).4"), "EMPTY");
}

TEST_F(PathTest, ReadsNthSegment) {
  EXPECT_EQ(m_.get("OBX[1]-5"), "7.2");
  EXPECT_EQ(m_.get("OBX[3]-5"), "4.5");
  EXPECT_EQ(m_.get("OBX[3]-3.2"), "Red cells");
  EXPECT_EQ(m_.get("OBX-5"), "7.2");  // no index: the first
  EXPECT_EQ(m_.get("OBX[2]-5(2)"), "second rep");
}

TEST_F(PathTest, FiltersRepetitionByComponent) {
  EXPECT_EQ(m_.get("PID-13[.2=NET].4"), "john@example.org");
  EXPECT_EQ(m_.get("PID-13[.2=WPN].1"), "555-9999");
  EXPECT_EQ(m_.get("PID-13[.2=WPN]"), "555-9999^WPN^PH");
  EXPECT_EQ(m_.get("PID-3[.4.1=HOSP].1"), "12345");  // filter on a sub-component
  EXPECT_EQ(m_.get("PID-3[.5=SS].1"), "67890");
}

TEST_F(PathTest, FilterWithoutMatchIsEmpty) {
  EXPECT_EQ(m_.get("PID-13[.2=FAX].1"), "");
  EXPECT_EQ(m_.count("PID-13[.2=FAX]"), 0u);
}

TEST_F(PathTest, FilterComparesDecodedValues) {
  EXPECT_EQ(m_.get("OBX[*]-5[.1=see & read]"), "see & read");
  EXPECT_EQ(m_.get("OBX-5[.1=see \\T\\ read]"), "");
}

TEST_F(PathTest, GetAllWithSegmentStar) {
  EXPECT_EQ(m_.getAll("OBX[*]-5"), (Values{"7.2", "see & read", "4.5", ""}));
  EXPECT_EQ(m_.getAll("OBX[*]-3.1"), (Values{"WBC", "NOTE", "RBC", "EMPTY"}));
}

TEST_F(PathTest, GetAllWithRepetitionStar) {
  EXPECT_EQ(m_.getAll("PID-3(*).1"), (Values{"12345", "67890", ""}));
  EXPECT_EQ(m_.getAll("PID-13(*).2"), (Values{"PRN", "NET", "WPN"}));
}

TEST_F(PathTest, GetAllWithBothStars) {
  // Empty fields have no repetitions, so OBX[4] adds nothing here.
  EXPECT_EQ(m_.getAll("OBX[*]-5(*)"), (Values{"7.2", "see & read", "second rep", "4.5"}));
}

TEST_F(PathTest, GetAllWithFilterReturnsEveryMatch) {
  EXPECT_EQ(m_.getAll("PID-13[.3=PH].1"), (Values{"555-1234", "555-9999"}));
}

TEST_F(PathTest, GetAllWithoutStarGivesOneValue) {
  EXPECT_EQ(m_.getAll("PID-5.1"), (Values{"DOE"}));
  EXPECT_EQ(m_.getAll("PID-4"), (Values{""}));
  EXPECT_TRUE(m_.getAll("PV1-2").empty());
}

TEST_F(PathTest, StarInGetReturnsTheFirstValue) {
  EXPECT_EQ(m_.get("OBX[*]-5"), "7.2");
  EXPECT_EQ(m_.get("PID-3(*).1"), "12345");
  EXPECT_EQ(m_.raw("OBX[*]-3"), "WBC^White cells");
}

TEST_F(PathTest, CountsRepetitions) {
  EXPECT_EQ(m_.count("PID-3"), 3u);
  EXPECT_EQ(m_.count("PID-13"), 3u);
  EXPECT_EQ(m_.count("PID-5"), 1u);
  EXPECT_EQ(m_.count("PID-5.2"), 1u);  // a component suffix does not change the count
  EXPECT_EQ(m_.count("PID-3(2)"), 1u);
  EXPECT_EQ(m_.count("PID-3(4)"), 0u);
  EXPECT_EQ(m_.count("PID-13[.3=PH]"), 2u);
  EXPECT_EQ(m_.count("OBX[*]-5"), 4u);  // 1 + 2 + 1 + 0
  EXPECT_EQ(m_.count("OBX[2]-5"), 2u);
}

TEST_F(PathTest, CountOfEmptyOrMissingFieldIsZero) {
  EXPECT_EQ(m_.count("PID-4"), 0u);
  EXPECT_EQ(m_.count("OBX[4]-5"), 0u);
  EXPECT_EQ(m_.count("PID-99"), 0u);
  EXPECT_EQ(m_.count("PV1-3"), 0u);
}

TEST_F(PathTest, CountsSegments) {
  EXPECT_EQ(m_.countSegments("OBX"), 4u);
  EXPECT_EQ(m_.countSegments("MSH"), 1u);
  EXPECT_EQ(m_.countSegments("ZPI"), 1u);
  EXPECT_EQ(m_.countSegments("PV1"), 0u);
  EXPECT_EQ(m_.countSegments("OB"), 0u);
}

TEST_F(PathTest, ReadsCustomSegments) {
  EXPECT_EQ(m_.get("ZPI-2.2"), "value");
}

TEST_F(PathTest, MissingPathsAreEmpty) {
  const char* const kMissing[] = {
      "PV1-3",       // missing segment
      "OBX[5]-5",    // segment index past the last
      "PID-30",      // field past the end
      "PID-5.7",     // component past the end
      "PID-5.1.2",   // sub-component past the end
      "PID-3(9).1",  // repetition past the end
      "PID-4.1",     // empty field
      "NTE-3.2",     // component of a one-component field
      "pid-5",       // segment names are case-sensitive
  };
  for (const char* path : kMissing) {
    EXPECT_EQ(m_.get(path), "") << path;
    EXPECT_EQ(m_.raw(path), "") << path;
  }
}

TEST_F(PathTest, MalformedPathsAreEmpty) {
  const char* const kMalformed[] = {
      "",
      "PID",
      "PID-",
      "-5",
      "PID5",
      "PID-0",
      "PID-5.0",
      "PID-5.1.0",
      "PID[0]-5",
      "PID[]-5",
      "PID[1-5",
      "PID-3()",
      "PID-3(0)",
      "PID-3(1",
      "PID-3(x)",
      "PID-3[2]",
      "PID-3[.2=x",
      "PID-3[.0=x]",
      "PID-3[=x]",
      "PID-5.",
      "PID-5.1.",
      "PID-5.1.1.1",
      "PID-5 ",
      " PID-5",
      "PID-5x",
      "PID-1000001",
      "PID-99999999999999999999",
      "P-ID-5",
      "PI D-5",
      "ABCDEFGHI-1",
      "PID-5..1",
      "PID-3(1)(2)",
      "PID-3(1)[.1=x]",
      "PID_5",
      "PID-+5",
  };
  for (const char* path : kMalformed) {
    EXPECT_EQ(m_.get(path), "") << path;
    EXPECT_EQ(m_.raw(path), "") << path;
    EXPECT_TRUE(m_.getAll(path).empty()) << path;
    EXPECT_EQ(m_.count(path), 0u) << path;
    std::string scratch;
    EXPECT_EQ(m_.getView(path, scratch), "") << path;
  }
}

TEST_F(PathTest, MshFieldsOneAndTwoAreAtomic) {
  EXPECT_EQ(m_.get("MSH-1"), "|");
  EXPECT_EQ(m_.get("MSH-2"), "^~\\&");
  EXPECT_EQ(m_.get("MSH-2.1"), "^~\\&");
  EXPECT_EQ(m_.get("MSH-2.2"), "");
  EXPECT_EQ(m_.get("MSH-2(2)"), "");
  EXPECT_EQ(m_.count("MSH-2"), 1u);
  EXPECT_EQ(m_.count("MSH-1"), 1u);
  EXPECT_EQ(m_.getAll("MSH[*]-1"), (Values{"|"}));
}

TEST_F(PathTest, ReadsMshFieldsBeyondTheCachedOnes) {
  const std::string bytes =
      "MSH|^~\\&|A|B|C|D|1||ADT^A01|9|P|2.5.1||||||||||F22^x|F23\r"
      "MSH|^~\\&|E|F|G|H|2||ADT^A02|10|P|2.5.1\r";
  const Result<Message> parsed = Message::parse(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->get("MSH-22.1"), "F22");
  EXPECT_EQ(parsed->get("MSH-23"), "F23");
  EXPECT_EQ(parsed->get("MSH-24"), "");
  // A second MSH is an ordinary segment; its fields are numbered the same way.
  EXPECT_EQ(parsed->get("MSH[2]-1"), "|");
  EXPECT_EQ(parsed->get("MSH[2]-2"), "^~\\&");
  EXPECT_EQ(parsed->get("MSH[2]-10"), "10");
  EXPECT_EQ(parsed->get("MSH[2]-9.2"), "A02");
  EXPECT_EQ(parsed->getAll("MSH[*]-3"), (Values{"A", "E"}));
}

TEST_F(PathTest, RawReturnsUndecodedBytes) {
  EXPECT_EQ(m_.raw("OBX[2]-5"), "see \\T\\ read");
  EXPECT_EQ(m_.get("OBX[2]-5"), "see & read");
  EXPECT_EQ(m_.raw("PID-3(2)"), "67890^^^STATE^SS");
}

TEST_F(PathTest, ReadsLastFieldOfTheLastSegment) {
  EXPECT_EQ(m_.get("ZPI-2"), "custom^value");
}

}  // namespace
}  // namespace gw::hl7
