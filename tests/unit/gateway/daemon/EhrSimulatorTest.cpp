// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/EhrSimulator.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gateway/hl7/Message.h"

namespace gw {
namespace {

const SystemTime kStart = std::chrono::system_clock::from_time_t(1795000000);

struct Generated {
  std::string bytes;
  std::string type;
  std::string mrn;
};

std::vector<Generated> generate(std::uint64_t seed, int n) {
  SyntheticEhr ehr(seed, kStart);
  std::vector<Generated> out;
  for (int i = 0; i < n; ++i) {
    Generated g;
    g.bytes = ehr.next();
    Result<hl7::Message> m = hl7::Message::parse(g.bytes);
    EXPECT_TRUE(m.ok()) << m.status().toString();
    if (m.ok()) {
      g.type = m->messageType();
      g.mrn = m->get("PID-3.1");
    }
    out.push_back(std::move(g));
  }
  return out;
}

TEST(EhrSimulatorTest, EveryMessageParsesWithAUniqueControlId) {
  SyntheticEhr ehr(7, kStart);
  std::set<std::string> control_ids;
  for (int i = 0; i < 500; ++i) {
    const std::string bytes = ehr.next();
    Result<hl7::Message> m = hl7::Message::parse(bytes);
    ASSERT_TRUE(m.ok()) << m.status().toString();
    EXPECT_TRUE(control_ids.insert(std::string(m->controlId())).second);
    EXPECT_EQ(m->version(), "2.5.1");
    EXPECT_EQ(m->sendingFacility(), "DEMO_HOSP");
  }
}

TEST(EhrSimulatorTest, PatientsAreObviouslySynthetic) {
  for (const Generated& g : generate(3, 300)) {
    Result<hl7::Message> m = hl7::Message::parse(g.bytes);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(g.mrn.rfind("SYN", 0), 0u) << g.mrn;
    const std::string email = m->get("PID-13[.2=NET].4");
    ASSERT_FALSE(email.empty());
    EXPECT_NE(email.find("@example.invalid"), std::string::npos) << email;
    EXPECT_NE(m->get("PID-11.1").find("Example Street"), std::string::npos);
  }
}

TEST(EhrSimulatorTest, EachPatientsStoryIsInClinicalOrder) {
  std::map<std::string, std::vector<std::string>> by_patient;
  std::map<std::string, int> types;
  for (const Generated& g : generate(11, 2000)) {
    by_patient[g.mrn].push_back(g.type);
    ++types[g.type];
  }
  for (const std::string t : {"ADT^A01", "ADT^A03", "ADT^A13", "ORU^R01", "SIU^S12", "SIU^S15"}) {
    EXPECT_GT(types[t], 0) << t << " never generated";
  }
  int complete = 0;
  for (const auto& [mrn, story] : by_patient) {
    ASSERT_EQ(story.front(), "ADT^A01") << mrn << ": a story starts with the admission";
    bool discharged = false;
    bool booked = false;
    for (std::size_t i = 1; i < story.size(); ++i) {
      const std::string& t = story[i];
      EXPECT_NE(t, "ADT^A01") << mrn;
      if (t == "ORU^R01") {
        EXPECT_FALSE(discharged) << mrn << ": results come before the discharge";
      } else if (t == "ADT^A03") {
        discharged = true;
      } else if (t == "ADT^A13") {
        EXPECT_TRUE(discharged) << mrn << ": only a discharge can be cancelled";
        discharged = false;
      } else if (t == "SIU^S12") {
        EXPECT_TRUE(discharged) << mrn << ": the follow-up is booked at discharge";
        booked = true;
      } else if (t == "SIU^S15") {
        EXPECT_TRUE(booked) << mrn << ": only a booked appointment can be cancelled";
      }
    }
    complete += booked ? 1 : 0;
  }
  EXPECT_GT(complete, 100);
}

TEST(EhrSimulatorTest, ResultStatusGoesPreliminaryFinalCorrected) {
  SyntheticEhr ehr(5, kStart);
  std::map<std::string, std::string> statuses;  // order -> statuses in order
  for (int i = 0; i < 1000; ++i) {
    const std::string bytes = ehr.next();
    Result<hl7::Message> m = hl7::Message::parse(bytes);
    ASSERT_TRUE(m.ok());
    if (m->messageType() == "ORU^R01") {
      statuses[m->get("OBR-3")] += m->get("OBR-25");
      EXPECT_EQ(m->get("OBX[1]-11"), m->get("OBR-25"));
    }
  }
  bool corrected = false;
  for (const auto& [order, s] : statuses) {
    EXPECT_EQ(s.substr(0, std::min<std::size_t>(s.size(), 2)), std::string("PF").substr(0, s.size()))
        << order << ": " << s;
    if (s == "PFC") {
      corrected = true;
    } else if (s.size() == 3) {
      ADD_FAILURE() << order << ": " << s;
    }
  }
  EXPECT_TRUE(corrected);
}

TEST(EhrSimulatorTest, SameSeedSameStream) {
  SyntheticEhr a(42, kStart);
  SyntheticEhr b(42, kStart);
  SyntheticEhr c(43, kStart);
  bool differs = false;
  for (int i = 0; i < 50; ++i) {
    const std::string x = a.next();
    EXPECT_EQ(x, b.next());
    differs = differs || x != c.next();
  }
  EXPECT_TRUE(differs);
}

}  // namespace
}  // namespace gw
