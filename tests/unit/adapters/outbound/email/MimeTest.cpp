// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <chrono>

#include "adapters/outbound/email/Mime.h"

namespace gw::email {
namespace {

TEST(MimeTest, AcceptsPlainAddressesOnly) {
  EXPECT_TRUE(isValidAddress("alex.test@example.invalid"));
  EXPECT_TRUE(isValidAddress("a+tag@sub.example.invalid"));
  EXPECT_FALSE(isValidAddress(""));
  EXPECT_FALSE(isValidAddress("no-at-sign.example.invalid"));
  EXPECT_FALSE(isValidAddress("@example.invalid"));
  EXPECT_FALSE(isValidAddress("alex@"));
  EXPECT_FALSE(isValidAddress("a@b@example.invalid"));
  EXPECT_FALSE(isValidAddress("alex@example.invalid\r\nBcc: x@example.invalid"));
  EXPECT_FALSE(isValidAddress("Alex <alex@example.invalid>"));
  EXPECT_FALSE(isValidAddress("../../etc/passwd@example.invalid"));
  EXPECT_FALSE(isValidAddress("alex@.example.invalid"));
  EXPECT_FALSE(isValidAddress("al\xc3\xa9x@example.invalid"));
}

TEST(MimeTest, MessageIdIsStableAndDerivedFromTheKey) {
  const Result<std::string> a = messageId("msg-42", "gateway.invalid");
  const Result<std::string> b = messageId("msg-42", "gateway.invalid");
  const Result<std::string> c = messageId("msg-43", "gateway.invalid");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_EQ(a->front(), '<');
  EXPECT_EQ(a->size(), 1 + 32 + 1 + std::string("gateway.invalid").size() + 1);
  EXPECT_NE(a->find("@gateway.invalid>"), std::string::npos);
  EXPECT_EQ(a->find("msg-42"), std::string::npos);
  EXPECT_EQ(messageId("", "gateway.invalid").status().code(), StatusCode::InvalidArgument);
}

TEST(MimeTest, FormatsDatesInUtc) {
  // 2026-11-23T14:05:09Z is a Monday.
  const SystemTime t = std::chrono::system_clock::from_time_t(1795442709);
  EXPECT_EQ(rfc5322Date(t), "Mon, 23 Nov 2026 14:05:09 +0000");
}

TEST(MimeTest, EncodesNonAsciiHeaderTextAsUtf8Words) {
  EXPECT_EQ(encodeHeaderText("Plain subject"), "Plain subject");
  EXPECT_EQ(encodeHeaderText("Line\r\nBcc: injected"), "Line  Bcc: injected");
  const std::string encoded = encodeHeaderText("Resultado de laboratorio: \xc3\xa1rea");
  EXPECT_EQ(encoded.rfind("=?UTF-8?B?", 0), 0u);
  // A long non-ASCII text folds into several words, none longer than 75 characters.
  const std::string folded =
      encodeHeaderText(std::string(40, 'a') + "\xc3\xa9" + std::string(60, 'b') + "\xc3\xa9");
  std::size_t start = 0;
  int words = 0;
  while (start < folded.size()) {
    std::size_t end = folded.find("\r\n ", start);
    const std::string word = folded.substr(start, end == std::string::npos ? end : end - start);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    ++words;
    start = end == std::string::npos ? folded.size() : end + 3;
  }
  EXPECT_GE(words, 2);
}

TEST(MimeTest, Base64LinesAreAtMost76Characters) {
  const std::string out = base64Lines(std::string(200, 'x'));
  std::size_t start = 0;
  while (start < out.size()) {
    const std::size_t end = out.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 76u);
    start = end + 2;
  }
  EXPECT_EQ(base64Lines("hello"), "aGVsbG8=\r\n");
}

TEST(MimeTest, NormalisesLineEndingsToCrlf) {
  EXPECT_EQ(toCrlf("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
}

TEST(MimeTest, BuildsMultipartAlternativeWithTextAndHtml) {
  const std::string entity = buildBodyEntity("Hello\n.\nBye", "<p>Hello</p>", "0123abcd");
  EXPECT_EQ(entity.rfind("Content-Type: multipart/alternative; boundary=\"=_gw_0123abcd_alt\"", 0),
            0u);
  EXPECT_NE(entity.find("--=_gw_0123abcd_alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: base64\r\n\r\n" +
                        base64Lines("Hello\r\n.\r\nBye")),
            std::string::npos);
  EXPECT_NE(entity.find("Content-Type: text/html; charset=utf-8"), std::string::npos);
  EXPECT_NE(entity.find(base64Lines("<p>Hello</p>")), std::string::npos);
  EXPECT_EQ(entity.substr(entity.size() - 23), "--=_gw_0123abcd_alt--\r\n");
}

TEST(MimeTest, BuildsSinglePartWithoutHtml) {
  const std::string entity = buildBodyEntity("Only text", "", "ab");
  EXPECT_EQ(entity,
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
            "base64\r\n\r\n" +
                base64Lines("Only text"));
}

TEST(MimeTest, BuildsHeadersInOrder) {
  MailHeaders h;
  h.from = "no-reply@gateway.invalid";
  h.to = "alex@example.invalid";
  h.subject = "You have a new secure message";
  h.message_id = "<abc@gateway.invalid>";
  h.date = "Mon, 23 Nov 2026 14:05:09 +0000";
  h.language = "es";
  const std::string message = buildMessage(h, "Content-Type: text/plain\r\n\r\nx\r\n");
  EXPECT_EQ(message,
            "From: no-reply@gateway.invalid\r\nTo: alex@example.invalid\r\n"
            "Subject: You have a new secure message\r\nDate: Mon, 23 Nov 2026 14:05:09 +0000\r\n"
            "Message-ID: <abc@gateway.invalid>\r\nMIME-Version: 1.0\r\nContent-Language: es\r\n"
            "Content-Type: text/plain\r\n\r\nx\r\n");
  h.language = "es\r\nBcc: x";
  EXPECT_EQ(buildMessage(h, "").find("Content-Language"), std::string::npos);
}

}  // namespace
}  // namespace gw::email
