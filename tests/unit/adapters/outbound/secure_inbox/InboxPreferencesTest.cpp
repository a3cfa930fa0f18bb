// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/outbound/secure_inbox/InboxPages.h"
#include "tests/unit/adapters/outbound/secure_inbox/InboxFixture.h"

namespace gw::test {
namespace {

using inbox::WebResponse;

// The preferences page and typed replies, through the pages with a verified session.
class InboxPreferencesTest : public InboxPagesFixture {
 protected:
  void SetUp() override {
    InboxPagesFixture::SetUp();
    patients = std::make_shared<InMemoryPatientStore>();
    reply_sink = std::make_shared<RecordingReplySink>();
    rebuild();
    pages = std::make_unique<inbox::InboxPages>(service);
  }

  // Signs in and opens the message page (whose forms carry the verified session's CSRF token).
  void signInAndRead() {
    signIn();
    ASSERT_EQ(get("/inbox/message").status, 200);
  }
  std::optional<PatientPreferenceRecord> stored() {
    return *patients->preferences("patient-" + std::to_string(kMessageId));
  }
  static bool selected(const WebResponse& response, const std::string& value) {
    return response.body.find("<option value=\"" + value + "\" selected>") != std::string::npos;
  }
};

TEST_F(InboxPreferencesTest, TheMessagePageLinksPreferencesAndOffersATextReply) {
  signInAndRead();
  const WebResponse message = get("/inbox/message");
  ASSERT_EQ(message.status, 200);
  EXPECT_NE(message.body.find("href=\"/inbox/preferences\""), std::string::npos);
  EXPECT_NE(message.body.find("action=\"/inbox/reply-text\""), std::string::npos);
  EXPECT_NE(message.body.find("<textarea id=\"text\" name=\"text\""), std::string::npos);
}

TEST_F(InboxPreferencesTest, WithoutThePartsThereIsNoPageAndNoLink) {
  patients.reset();
  reply_sink.reset();
  rebuild();
  pages = std::make_unique<inbox::InboxPages>(service);
  signInAndRead();
  const WebResponse message = get("/inbox/message");
  EXPECT_EQ(message.body.find("/inbox/preferences"), std::string::npos);
  EXPECT_EQ(message.body.find("reply-text"), std::string::npos);
  EXPECT_EQ(get("/inbox/preferences").status, 404);
  EXPECT_EQ(post("/inbox/reply-text", {{"text", "STOP"}}).status, 404);
}

TEST_F(InboxPreferencesTest, PreferencesNeedAVerifiedSession) {
  get("/inbox/l/" + deliver());
  const WebResponse early = get("/inbox/preferences");
  EXPECT_EQ(early.status, 303);
  EXPECT_EQ(early.header("Location"), "/inbox/verify");
  EXPECT_EQ(post("/inbox/preferences",
                 {{"time_zone", "America/Chicago"}, {"delay_amount", "1"}, {"delay_unit", "days"}})
                .status,
            303);
  cookie.clear();
  EXPECT_EQ(get("/inbox/preferences").status, 401);
  EXPECT_FALSE(stored().has_value());
}

TEST_F(InboxPreferencesTest, SavesTimeZoneAndResultDelayWithAnAuditRecordWithoutTheZone) {
  signInAndRead();
  const WebResponse form = get("/inbox/preferences");
  ASSERT_EQ(form.status, 200);
  EXPECT_EQ(page(form), "preferences");
  EXPECT_TRUE(selected(form, ""));  // the hospital's zone until the patient chooses
  EXPECT_NE(form.body.find("value=\"0\""), std::string::npos);

  const WebResponse saved =
      post("/inbox/preferences",
           {{"time_zone", "America/Chicago"}, {"delay_amount", "2"}, {"delay_unit", "days"}});
  ASSERT_EQ(saved.status, 200);
  EXPECT_NE(saved.body.find("Your preferences were saved."), std::string::npos);
  EXPECT_TRUE(selected(saved, "America/Chicago"));
  EXPECT_NE(saved.body.find("value=\"2\""), std::string::npos);
  EXPECT_TRUE(selected(saved, "days"));
  ASSERT_TRUE(stored().has_value());
  EXPECT_EQ(stored()->time_zone, "America/Chicago");
  EXPECT_EQ(stored()->result_delay, std::chrono::hours(48));
  EXPECT_EQ(stored()->source, "inbox");
  const std::vector<AuditEntry> audit = patients->audit();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].action, "inbox_preferences");
  EXPECT_EQ(audit[0].actor, "patient:inbox");
  EXPECT_EQ(audit[0].object, "patient_message:7");
  EXPECT_EQ(audit[0].reason, "own time zone, result delay 48 h");

  // Hours that are not whole days stay hours; any zone of the tz database is fine.
  const WebResponse hours =
      post("/inbox/preferences",
           {{"time_zone", "Europe/Madrid"}, {"delay_amount", "36"}, {"delay_unit", "hours"}});
  EXPECT_EQ(hours.status, 200);
  EXPECT_TRUE(selected(hours, "Europe/Madrid"));
  EXPECT_TRUE(selected(hours, "hours"));
  EXPECT_EQ(stored()->result_delay, std::chrono::hours(36));

  // Back to the hospital's zone and no delay.
  EXPECT_EQ(
      post("/inbox/preferences", {{"time_zone", ""}, {"delay_amount", "0"}, {"delay_unit", "days"}})
          .status,
      200);
  EXPECT_EQ(stored()->time_zone, "");
  EXPECT_EQ(stored()->result_delay, std::chrono::hours(0));
  EXPECT_EQ(patients->audit().back().reason, "facility time zone, result delay 0 h");
}

TEST_F(InboxPreferencesTest, BadInputGets422WithWhatToFixAndChangesNothing) {
  signInAndRead();
  const WebResponse zone =
      post("/inbox/preferences",
           {{"time_zone", "Mars/Olympus_Mons"}, {"delay_amount", "1"}, {"delay_unit", "days"}});
  EXPECT_EQ(zone.status, 422);
  EXPECT_NE(zone.body.find("Choose a time zone from the list."), std::string::npos);
  EXPECT_EQ(zone.body.find("Mars"), std::string::npos);  // not echoed
  for (const auto& [amount, unit] :
       std::vector<std::pair<std::string, std::string>>{{"-1", "days"},
                                                        {"abc", "days"},
                                                        {"31", "days"},
                                                        {"721", "hours"},
                                                        {"1", "weeks"},
                                                        {"99999", "hours"}}) {
    const WebResponse bad =
        post("/inbox/preferences",
             {{"time_zone", "America/Chicago"}, {"delay_amount", amount}, {"delay_unit", unit}});
    EXPECT_EQ(bad.status, 422) << amount << " " << unit;
    EXPECT_NE(bad.body.find("at most 30 days"), std::string::npos) << amount;
  }
  EXPECT_EQ(post("/inbox/preferences",
                 {{"time_zone", "America/Chicago"}, {"delay_amount", "1"}, {"delay_unit", "days"}},
                 /*with_csrf=*/false)
                .status,
            403);
  EXPECT_FALSE(stored().has_value());
  EXPECT_TRUE(patients->audit().empty());
  // 30 days is the most.
  EXPECT_EQ(post("/inbox/preferences",
                 {{"time_zone", ""}, {"delay_amount", "30"}, {"delay_unit", "days"}})
                .status,
            200);
  EXPECT_EQ(stored()->result_delay, std::chrono::hours(720));
}

TEST_F(InboxPreferencesTest, SpanishMessageGetsASpanishPreferencesPage) {
  content.language = "es";
  putMessage(kMessageId, content);
  signInAndRead();
  const WebResponse form = get("/inbox/preferences");
  EXPECT_NE(form.body.find("<html lang=\"es\">"), std::string::npos);
  EXPECT_NE(form.body.find("Sus preferencias de mensajes"), std::string::npos);
  EXPECT_NE(form.body.find("La misma que el hospital"), std::string::npos);
  const WebResponse saved =
      post("/inbox/preferences",
           {{"time_zone", "America/Puerto_Rico"}, {"delay_amount", "1"}, {"delay_unit", "days"}});
  EXPECT_NE(saved.body.find("Se guardaron sus preferencias."), std::string::npos);
}

TEST_F(InboxPreferencesTest, ATypedReplyGoesToTheReplySinkForTheSessionsMessage) {
  signInAndRead();
  const WebResponse stopped = post("/inbox/reply-text", {{"text", "STOP"}});
  EXPECT_EQ(stopped.status, 200);
  EXPECT_NE(stopped.body.find("You will not receive more messages in this inbox."),
            std::string::npos);
  std::vector<InboundReply> got = reply_sink->replies();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].channel, ChannelKind::SecureInbox);
  EXPECT_EQ(got[0].message_id, kMessageId);
  EXPECT_TRUE(got[0].sender.empty());  // the session is the identity check
  EXPECT_EQ(got[0].text, "STOP");
  EXPECT_EQ(got[0].source, kIp);
  EXPECT_FALSE(got[0].provider_id.empty());

  reply_sink->answer(ReplyResult{ReplyResult::Kind::Help, "Reply STOP to stop."});
  const WebResponse help = post("/inbox/reply-text", {{"text", "help"}});
  EXPECT_NE(help.body.find("Reply STOP to stop."), std::string::npos);
  reply_sink->answer(ReplyResult{ReplyResult::Kind::WorkItem, ""});
  const WebResponse note = post("/inbox/reply-text", {{"text", "Can I shower <today>?"}});
  EXPECT_NE(note.body.find("was sent to your care team"), std::string::npos);
  EXPECT_EQ(note.body.find("shower"), std::string::npos);  // not echoed
  got = reply_sink->replies();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_NE(got[1].provider_id, got[2].provider_id);  // each typed reply is its own

  EXPECT_EQ(post("/inbox/reply-text", {{"text", "  "}}).status, 422);
  EXPECT_EQ(post("/inbox/reply-text", {{"text", std::string(1001, 'a')}}).status, 422);
  EXPECT_EQ(post("/inbox/reply-text", {{"text", "STOP"}}, false).status, 403);
  EXPECT_EQ(get("/inbox/reply-text").status, 405);
  EXPECT_EQ(reply_sink->replies().size(), 3u);
  reply_sink->answer(Status::unavailable("store queue full"));
  EXPECT_EQ(post("/inbox/reply-text", {{"text", "START"}}).status, 503);
}

}  // namespace
}  // namespace gw::test
