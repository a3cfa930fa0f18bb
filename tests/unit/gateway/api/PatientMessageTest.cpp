// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "gateway/api/PatientMessage.h"

namespace gw {
namespace {

TEST(PatientMessageTest, ChannelNamesRoundTrip) {
  for (const ChannelKind kind :
       {ChannelKind::SecureInbox, ChannelKind::Email, ChannelKind::MessagingApi}) {
    const auto parsed = parseChannel(channelName(kind));
    ASSERT_TRUE(parsed.has_value()) << channelName(kind);
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(channelName(ChannelKind::SecureInbox), "secure_inbox");
  EXPECT_FALSE(parseChannel("sms").has_value());
  EXPECT_FALSE(parseChannel("Email").has_value());
}

TEST(PatientMessageTest, StateNamesRoundTripAndAreDistinct) {
  std::vector<std::string_view> names;
  for (int i = 0; i <= static_cast<int>(MessageState::Expired); ++i) {
    const auto state = static_cast<MessageState>(i);
    const std::string_view name = messageStateName(state);
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(parseMessageState(name), state);
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name;
    names.push_back(name);
  }
  EXPECT_FALSE(parseMessageState("done").has_value());
}

TEST(PatientMessageTest, ContentRoundTripsThroughJson) {
  MessageContent content;
  content.language = "es";
  content.recipient_name = "Ana \"Prueba\" Ejemplo";
  content.email = "ana.ejemplo@example.invalid";
  content.phone = "+1-555-0100";
  content.date_of_birth = "1980-02-29";
  content.facility_name = "Synthetic General";
  content.subject = "Instrucciones de alta";
  content.text = "Línea 1\nLínea 2 — ñ";
  content.html = "<p>Línea 1</p>";
  content.quick_replies = {{"confirm", "Confirmar"}, {"question", "Tengo una pregunta"}};

  const auto parsed = parseMessageContent(serializeMessageContent(content));
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->language, content.language);
  EXPECT_EQ(parsed->recipient_name, content.recipient_name);
  EXPECT_EQ(parsed->email, content.email);
  EXPECT_EQ(parsed->phone, content.phone);
  EXPECT_EQ(parsed->date_of_birth, content.date_of_birth);
  EXPECT_EQ(parsed->facility_name, content.facility_name);
  EXPECT_EQ(parsed->subject, content.subject);
  EXPECT_EQ(parsed->text, content.text);
  EXPECT_EQ(parsed->html, content.html);
  ASSERT_EQ(parsed->quick_replies.size(), 2u);
  EXPECT_EQ(parsed->quick_replies[1].id, "question");
  EXPECT_EQ(parsed->quick_replies[1].label, "Tengo una pregunta");
}

TEST(PatientMessageTest, BadContentIsAParseErrorWithoutTheContent) {
  for (const char* bad : {"", "[1]", "{\"text\": 5}", "{\"quick_replies\": [{\"id\": \"x\"}]}",
                          "{\"subject\": \"Secret", "{\"quick_replies\": {}}"}) {
    const auto parsed = parseMessageContent(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::ParseError) << bad;
    EXPECT_EQ(parsed.status().message().find("Secret"), std::string::npos);
  }
}

}  // namespace
}  // namespace gw
