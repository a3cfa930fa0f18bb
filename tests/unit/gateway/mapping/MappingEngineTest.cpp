// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "gateway/crypto/Digest.h"
#include "gateway/daemon/EhrSimulator.h"
#include "gateway/mapping/DryRun.h"
#include "gateway/mapping/MappingEngine.h"
#include "tests/support/TestSupport.h"

namespace gw::mapping {
namespace {

class FixedClock final : public Clock {
 public:
  explicit FixedClock(SystemTime t) : t_(t) {}
  SystemTime now() const override { return t_; }
  SteadyTime steadyNow() const override { return SteadyTime(); }

 private:
  SystemTime t_;
};

SystemTime utc(const std::string& iso) {
  std::optional<SystemTime> t = parseEventTime(iso, "UTC");
  EXPECT_TRUE(t) << iso;
  return t.value_or(SystemTime());
}

constexpr int kNine = 21 * 60;
constexpr int kEight = 8 * 60;

TEST(QuietHoursTest, OutsideTheWindowIsUnchanged) {
  const SystemTime noon_ny = utc("2026-11-25T17:00:00Z");
  EXPECT_EQ(outsideQuietHours(noon_ny, "America/New_York", kNine, kEight), noon_ny);
}

TEST(QuietHoursTest, EveningMovesToTheNextMorningLocalTime) {
  EXPECT_EQ(
      formatUtc(outsideQuietHours(utc("2026-11-26T03:30:00Z"), "America/New_York", kNine, kEight)),
      "2026-11-26T13:00:00Z");
  // Early morning before the end stays on the same local day.
  EXPECT_EQ(
      formatUtc(outsideQuietHours(utc("2026-11-26T10:00:00Z"), "America/New_York", kNine, kEight)),
      "2026-11-26T13:00:00Z");
}

TEST(QuietHoursTest, CorrectAcrossDaylightSavingChanges) {
  // 2026-03-08 02:00 EST -> 03:00 EDT: 08:00 the next morning is 12:00Z, not 13:00Z.
  EXPECT_EQ(
      formatUtc(outsideQuietHours(utc("2026-03-08T03:30:00Z"), "America/New_York", kNine, kEight)),
      "2026-03-08T12:00:00Z");
  // 2026-11-01 02:00 EDT -> 01:00 EST: 08:00 is 13:00Z, not 12:00Z.
  EXPECT_EQ(
      formatUtc(outsideQuietHours(utc("2026-11-01T02:30:00Z"), "America/New_York", kNine, kEight)),
      "2026-11-01T13:00:00Z");
  // Europe changes on another date: 2026-03-29 02:00 CET -> 03:00 CEST.
  EXPECT_EQ(
      formatUtc(outsideQuietHours(utc("2026-03-28T22:30:00Z"), "Europe/Madrid", kNine, kEight)),
      "2026-03-29T06:00:00Z");
}

TEST(QuietHoursTest, EndInsideTheSpringForwardGapIsTheMomentOfTheChange) {
  // Quiet 22:00-02:30; 02:30 does not exist on 2026-03-08 in New York: 03:00 EDT = 07:00Z.
  EXPECT_EQ(formatUtc(outsideQuietHours(utc("2026-03-08T04:00:00Z"), "America/New_York", 22 * 60,
                                        2 * 60 + 30)),
            "2026-03-08T07:00:00Z");
}

TEST(QuietHoursTest, DaytimeWindowAndUnknownZone) {
  // Quiet 12:00-14:00 (start < end).
  EXPECT_EQ(formatUtc(outsideQuietHours(utc("2026-11-25T17:30:00Z"), "America/New_York", 12 * 60,
                                        14 * 60)),
            "2026-11-25T19:00:00Z");
  const SystemTime t = utc("2026-11-26T03:30:00Z");
  EXPECT_EQ(outsideQuietHours(t, "Nowhere/Atlantis", kNine, kEight), t);
}

TEST(EventTimeTest, ParsesHl7AndIsoTimes) {
  EXPECT_EQ(formatUtc(*parseEventTime("20261202093000", "America/New_York")),
            "2026-12-02T14:30:00Z");
  EXPECT_EQ(formatUtc(*parseEventTime("202612020930", "America/New_York")), "2026-12-02T14:30:00Z");
  EXPECT_EQ(formatUtc(*parseEventTime("20261202093000.123-0800", "America/New_York")),
            "2026-12-02T17:30:00Z");
  EXPECT_EQ(formatUtc(*parseEventTime("2026-12-02T09:30:00-05:00", "UTC")), "2026-12-02T14:30:00Z");
  EXPECT_EQ(formatUtc(*parseEventTime("2026-12-02T09:30:00Z", "America/New_York")),
            "2026-12-02T09:30:00Z");
  EXPECT_EQ(formatUtc(*parseEventTime("2026-07-02", "America/New_York")), "2026-07-02T04:00:00Z");
  EXPECT_FALSE(parseEventTime("", "UTC"));
  EXPECT_FALSE(parseEventTime("tomorrow", "UTC"));
  EXPECT_FALSE(parseEventTime("20261302093000", "UTC"));
  EXPECT_FALSE(parseEventTime("20260231", "UTC"));
  EXPECT_FALSE(parseEventTime("2026-12-02T09:30:00+xx", "UTC"));
}

TEST(LanguageTest, NormalisesTagsAndThreeLetterCodes) {
  EXPECT_EQ(normaliseLanguage("es-MX"), "es");
  EXPECT_EQ(normaliseLanguage("SPA"), "es");
  EXPECT_EQ(normaliseLanguage("eng"), "en");
  EXPECT_EQ(normaliseLanguage("pt_BR"), "pt");
}

std::shared_ptr<const MappingSet> shipped() {
  ConfigErrors errors;
  auto set = MappingSet::load((test::sourceDir() / "mappings").string(), MappingSettings{}, errors);
  EXPECT_NE(set, nullptr) << errors.toString();
  return set;
}

TEST(LanguageTest, FallbackChain) {
  auto set = shipped();
  ASSERT_NE(set, nullptr);
  const Mapping* found = nullptr;
  for (const Mapping& candidate : set->mappings()) {
    if (candidate.id == "discharge-aftercare") {
      found = &candidate;
    }
  }
  ASSERT_NE(found, nullptr);
  const Mapping& m = *found;
  EXPECT_EQ(chooseLanguage(m, "es-US", "en"), "es");
  EXPECT_EQ(chooseLanguage(m, "fr", "en"), "en");
  EXPECT_EQ(chooseLanguage(m, "", "es"), "en");  // the mapping's fallback comes first
}

// PolicyState whose every call fails as a store that is down would.
class UnavailableState final : public PolicyState {
 public:
  Result<bool> idempotencyKeyExists(const std::string&) const override { return down(); }
  Result<std::vector<PriorMessage>> byClinicalKey(const std::string&) const override {
    return down();
  }
  Result<std::vector<PriorMessage>> byVisitKey(const std::string&) const override { return down(); }
  Result<Consent> consent(const std::string&, ChannelKind, const std::string&) const override {
    return down();
  }
  Result<PatientPreferences> preferences(const std::string&) const override { return down(); }

 private:
  static Status down() { return Status::unavailable("store unavailable"); }
};

TEST(MappingEngineTest, StoreErrorsArePassedOnNotSwallowed) {
  auto set = shipped();
  ASSERT_NE(set, nullptr);
  const std::string bytes = test::readFile(test::sourceDir() / "samples/hl7/oru_r01_result.hl7");
  Result<hl7::Message> message = hl7::Message::parse(bytes);
  ASSERT_TRUE(message.ok());
  Hl7EventView view(*message);
  FixedClock clock(utc("2026-11-25T19:30:00Z"));
  MappingEngine engine(clock);
  UnavailableState state;
  MapContext ctx;
  ctx.pseudonym_key = "k";
  ctx.state = &state;
  Result<MappingResult> result = engine.map(*set, view, ctx);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::Unavailable);
  ctx.state = nullptr;
  EXPECT_EQ(engine.map(*set, view, ctx).status().code(), StatusCode::InvalidArgument);
}

TEST(MappingEngineTest, PatientKeyDependsOnThePseudonymKeyOnly) {
  auto set = shipped();
  ASSERT_NE(set, nullptr);
  const std::string bytes = test::readFile(test::sourceDir() / "samples/hl7/oru_r01_result.hl7");
  Result<hl7::Message> message = hl7::Message::parse(bytes);
  ASSERT_TRUE(message.ok());
  Hl7EventView view(*message);
  FixedClock clock(utc("2026-11-25T19:30:00Z"));
  MappingEngine engine(clock);
  InMemoryPolicyState state;
  auto keyWith = [&](std::string_view key) {
    MapContext ctx;
    ctx.pseudonym_key = key;
    ctx.state = &state;
    Result<MappingResult> r = engine.map(*set, view, ctx);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->messages.size(), 1U);
    return r->messages.empty() ? std::string() : r->messages[0].message.patient_key;
  };
  const std::string a = keyWith("key-a");
  EXPECT_EQ(a.size(), 64U);
  EXPECT_EQ(a, keyWith("key-a"));
  EXPECT_NE(a, keyWith("key-b"));
  EXPECT_EQ(a.find("SYN000202"), std::string::npos);
  // DESIGN.md section 3: HMAC-SHA256(pseudonym key, assigning authority | identifier).
  EXPECT_EQ(a, *hmacSha256Hex("key-a", "DEMO_HOSP|SYN000202"));
}

TEST(MappingEngineTest, ConcurrentMapCallsAgreeWithOneThread) {
  auto set = shipped();
  ASSERT_NE(set, nullptr);
  std::vector<std::string> files = {"adt_a03_discharge.hl7", "oru_r01_result.hl7",
                                    "siu_s12_appointment.hl7"};
  std::vector<std::string> bytes;
  for (const std::string& f : files) {
    bytes.push_back(test::readFile(test::sourceDir() / "samples/hl7" / f));
  }
  std::vector<hl7::Message> messages;
  for (const std::string& b : bytes) {
    messages.push_back(*hl7::Message::parse(b));
  }
  FixedClock clock(utc("2026-11-24T15:00:00Z"));
  MappingEngine engine(clock);
  InMemoryPolicyState state;  // read-only here: nothing is added
  auto render = [&](const hl7::Message& m) {
    Hl7EventView view(m);
    MapContext ctx;
    ctx.pseudonym_key = "k";
    ctx.state = &state;
    Result<MappingResult> r = engine.map(*set, view, ctx);
    std::string out = r.ok() ? std::string(eventOutcomeName(r->outcome)) : "error";
    for (const ProducedMessage& p : r->messages) {
      out += "|" + p.message.idempotency_key + "|" + p.content.subject + "|" + p.content.text +
             "|" + p.content.html;
    }
    return out;
  };
  std::vector<std::string> expected;
  for (const hl7::Message& m : messages) {
    expected.push_back(render(m));
    EXPECT_EQ(expected.back().rfind("mapped|", 0), 0U) << expected.back();
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::size_t k = static_cast<std::size_t>(i + t) % messages.size();
        if (render(messages[k]) != expected[k]) {
          ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (int m : mismatches) {
    EXPECT_EQ(m, 0);
  }
}

// What `gateway simulate-ehr` sends is mapped: nothing is held, preliminary results are
// ignored, and every kind of message and cancellation occurs.
TEST(MappingEngineTest, SimulatedEhrFeedIsMapped) {
  auto set = shipped();
  ASSERT_NE(set, nullptr);
  const SystemTime start = utc("2026-11-23T14:00:00Z");
  SyntheticEhr ehr(7, start);
  InMemoryPolicyState state;
  std::map<std::string, int> outcomes;
  std::map<std::string, int> messages_by_mapping;
  int retracted = 0;
  int superseded = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string bytes = ehr.next();
    Result<hl7::Message> message = hl7::Message::parse(bytes);
    ASSERT_TRUE(message.ok()) << message.status().toString();
    Hl7EventView view(*message);
    FixedClock clock(start + std::chrono::minutes(16 * i));  // about the simulator's pace
    MappingEngine engine(clock);
    MapContext ctx;
    ctx.event_id = i + 1;
    ctx.pseudonym_key = "k";
    ctx.state = &state;
    Result<MappingResult> r = engine.map(*set, view, ctx);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    const std::string type = message->messageType();
    ++outcomes[type + " " + std::string(eventOutcomeName(r->outcome))];
    EXPECT_NE(r->outcome, EventOutcome::Held) << type << ": " << r->reason;
    for (const MessageTransition& t : r->transitions) {
      state.setState(t.message_id, t.to);
      (t.to == MessageState::Retracted ? retracted : superseded)++;
    }
    for (const ProducedMessage& p : r->messages) {
      state.add(p.message);
      ++messages_by_mapping[p.message.mapping];
      const std::string& notice = set->settings().notice_text.at(p.content.language);
      EXPECT_NE(p.content.text.find(notice), std::string::npos);
      EXPECT_NE(p.content.language, "");
    }
  }
  EXPECT_GT(outcomes["ORU^R01 ignored"], 0);  // preliminary results
  EXPECT_GT(outcomes["ADT^A01 ignored"], 0);  // admissions: no mapping
  EXPECT_GT(messages_by_mapping["discharge-aftercare"], 0);
  EXPECT_GT(messages_by_mapping["lab-results"], 0);
  EXPECT_GT(messages_by_mapping["appointment-reminder"], 0);
  EXPECT_GT(retracted, 0);
  EXPECT_GT(superseded, 0);
}

}  // namespace
}  // namespace gw::mapping

namespace gw::mapping {
namespace {

// Policies the shipped mappings leave off, switched on in a copy of mappings/.
class TunedMappingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path() / "mappings";
    std::filesystem::copy(test::sourceDir() / "mappings", dir_,
                          std::filesystem::copy_options::recursive);
    std::string text = test::readFile(dir_ / "lab-results.json");
    const std::string from = "\"release_delay_hours\": 0,";
    ASSERT_NE(text.find(from), std::string::npos);
    text.replace(text.find(from), from.size(),
                 "\"release_delay_hours\": 4, \"consent\": \"opt_in\",");
    test::writeFile(dir_ / "lab-results.json", text);
    bytes_ = test::readFile(test::sourceDir() / "samples/hl7/oru_r01_result.hl7");
  }

  Result<MappingResult> mapOnce(const MappingSettings& settings, InMemoryPolicyState& state) {
    ConfigErrors errors;
    set_ = MappingSet::load(dir_.string(), settings, errors);
    EXPECT_NE(set_, nullptr) << errors.toString();
    if (set_ == nullptr) {
      return Status::internal("no mappings");
    }
    message_.emplace(*hl7::Message::parse(bytes_));
    Hl7EventView view(*message_);
    MappingEngine engine(clock_);
    MapContext ctx;
    ctx.pseudonym_key = "k";
    ctx.state = &state;
    return engine.map(*set_, view, ctx);
  }

  test::TempDir tmp_;
  std::filesystem::path dir_;
  std::string bytes_;
  std::optional<hl7::Message> message_;
  std::shared_ptr<const MappingSet> set_;
  FixedClock clock_{utc("2026-11-25T15:00:00Z")};  // 10:00 in New York
};

TEST_F(TunedMappingTest, OptInPurposeWithoutConsentIsSuppressedAndRecorded) {
  InMemoryPolicyState state;
  Result<MappingResult> r = mapOnce(MappingSettings{}, state);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_EQ(r->messages.size(), 1U);
  EXPECT_EQ(r->outcome, EventOutcome::Mapped);
  EXPECT_EQ(r->messages[0].message.state, MessageState::Suppressed);
  EXPECT_EQ(r->messages[0].message.reason, "consent_missing,release_delay");
  EXPECT_EQ(r->decisions.at(0).policy, "consent");
}

TEST_F(TunedMappingTest, ReleaseDelayAndOptInConsent) {
  InMemoryPolicyState state;
  const std::string patient = *hmacSha256Hex("k", "DEMO_HOSP|SYN000202");
  state.setConsent(patient, ChannelKind::SecureInbox, "result", Consent::OptedIn);
  Result<MappingResult> r = mapOnce(MappingSettings{}, state);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_EQ(r->messages.size(), 1U);
  const NewPatientMessage& m = r->messages[0].message;
  EXPECT_EQ(m.state, MessageState::Pending);
  EXPECT_EQ(m.reason, "release_delay");
  EXPECT_EQ(formatUtc(m.not_before), "2026-11-25T19:00:00Z");
  EXPECT_EQ(formatUtc(m.expires_at), "2026-12-25T19:00:00Z");
}

TEST_F(TunedMappingTest, NoticeTextIsConfigurableAndCanBeTurnedOff) {
  InMemoryPolicyState state;
  const std::string patient = *hmacSha256Hex("k", "DEMO_HOSP|SYN000202");
  state.setConsent(patient, ChannelKind::SecureInbox, "*", Consent::OptedIn);
  MappingSettings settings;
  settings.notice_text["es"] = "Aviso de prueba: no para emergencias.";
  Result<MappingResult> r = mapOnce(settings, state);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->messages.size(), 1U);
  const MessageContent& c = r->messages[0].content;
  EXPECT_NE(c.text.find("Aviso de prueba: no para emergencias."), std::string::npos) << c.text;
  EXPECT_NE(c.html.find("Aviso de prueba: no para emergencias."), std::string::npos);

  settings.emergency_notice = false;
  InMemoryPolicyState fresh;
  fresh.setConsent(patient, ChannelKind::SecureInbox, "*", Consent::OptedIn);
  r = mapOnce(settings, fresh);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->messages.size(), 1U);
  EXPECT_EQ(r->messages[0].content.text.find("Aviso"), std::string::npos);
  EXPECT_EQ(r->messages[0].content.text.find("emergencia"), std::string::npos);
}

}  // namespace
}  // namespace gw::mapping
