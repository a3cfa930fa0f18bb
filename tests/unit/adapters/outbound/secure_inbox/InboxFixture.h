// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <regex>
#include <string>

#include "adapters/outbound/secure_inbox/InboxChannel.h"
#include "adapters/outbound/secure_inbox/InboxPages.h"
#include "adapters/outbound/secure_inbox/InboxService.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryInboxStore.h"
#include "tests/support/InMemoryPatientStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/RecordingNotifier.h"

namespace gw::test {

// A synthetic patient and message (example.invalid address), its sealed content in the fake
// store, and the inbox wired to fakes. Time moves only through clock->advance().
class InboxFixture : public ::testing::Test {
 protected:
  static constexpr std::int64_t kMessageId = 7;
  static constexpr const char* kBirthDate = "1980-04-23";
  static constexpr const char* kIp = "192.0.2.10";

  void SetUp() override {
    settings.base_url = "https://patients.example.invalid/inbox/";
    content.language = "en";
    content.recipient_name = "Alex Testpatient";
    content.email = "alex.testpatient@example.invalid";
    content.date_of_birth = kBirthDate;
    content.facility_name = "Example General Hospital";
    content.subject = "Your discharge instructions";
    content.text =
        "Take your medicine twice daily.\n\nRead more at https://education.example.invalid/"
        "knee.\n\nThis is not for emergencies.";
    content.quick_replies = {{"confirm", "Confirm appointment"},
                             {"cancel", "Cancel appointment"},
                             {"question", "I have a question"}};
    putMessage(kMessageId, content);
    rebuild();
  }

  void rebuild() {
    service = std::make_shared<inbox::InboxService>(settings, store, cipher, notifier, clock,
                                                    patients, reply_sink);
    channel = std::make_shared<InboxChannel>(service, *store);
  }

  void putMessage(std::int64_t id, const MessageContent& c,
                  MessageState state = MessageState::Sending, SystemTime expires = {}) {
    InboxMessage message;
    message.message_id = id;
    message.state = state;
    message.expires_at = expires;
    message.patient_key = "patient-" + std::to_string(id);
    message.associated_data = "message-key-" + std::to_string(id);
    message.sealed_content =
        cipher->seal(serializeMessageContent(c), message.associated_data).value();
    store->putMessage(message);
  }

  // Delivers the message and returns the token from the notification's link.
  std::string deliver(std::int64_t id = kMessageId) {
    OutboundMessage message;
    message.message_id = id;
    message.content = content;
    const Result<DeliveryReceipt> receipt = channel->deliver(message, clock->steadyNow());
    EXPECT_TRUE(receipt.ok()) << receipt.status().toString();
    return tokenFrom(notifier->last().text);
  }

  static std::string tokenFrom(const std::string& text) {
    std::smatch match;
    static const std::regex kLink("/inbox/l/([A-Za-z0-9_-]+)");
    return std::regex_search(text, match, kLink) ? match[1].str() : "";
  }
  static std::string codeFrom(const std::string& text) {
    std::smatch match;
    static const std::regex kCode("\\b([0-9]{6})\\b");
    return std::regex_search(text, match, kCode) ? match[1].str() : "";
  }

  // Opens the link and passes the birth date; returns the session context at the code step.
  inbox::SessionContext openAndGiveBirthDate(const std::string& token,
                                             const std::string& birth_date = kBirthDate) {
    Result<inbox::SessionContext> opened = service->openLink(token, kIp);
    EXPECT_TRUE(opened.ok());
    EXPECT_EQ(opened->access, inbox::Access::Ok);
    Result<inbox::Step> step = service->submitBirthDate(*opened, birth_date, kIp);
    EXPECT_TRUE(step.ok()) << step.status().toString();
    EXPECT_EQ(step->outcome, inbox::StepOutcome::Accepted);
    return *opened;
  }

  InboxSettings settings;
  MessageContent content;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<InMemoryInboxStore> store = std::make_shared<InMemoryInboxStore>();
  std::shared_ptr<FakeCipher> cipher = std::make_shared<FakeCipher>();
  std::shared_ptr<RecordingNotifier> notifier = std::make_shared<RecordingNotifier>();
  // Optional parts of the service (null: the pages offer no preferences / typed replies).
  std::shared_ptr<InMemoryPatientStore> patients;
  std::shared_ptr<RecordingReplySink> reply_sink;
  std::shared_ptr<inbox::InboxService> service;
  std::shared_ptr<InboxChannel> channel;
};

// The pages over the fixture's service, driven like a browser: the session cookie and the CSRF
// token of the last page are kept and sent along.
class InboxPagesFixture : public InboxFixture {
 protected:
  void SetUp() override {
    InboxFixture::SetUp();
    pages = std::make_unique<inbox::InboxPages>(service);
  }

  inbox::WebResponse get(const std::string& path) {
    inbox::WebRequest request;
    request.method = "GET";
    request.path = path;
    request.session_cookie = cookie;
    request.client_ip = kIp;
    return remember(pages->handle(request));
  }
  inbox::WebResponse post(const std::string& path, std::map<std::string, std::string> form,
                          bool with_csrf = true) {
    inbox::WebRequest request;
    request.method = "POST";
    request.path = path;
    request.session_cookie = cookie;
    request.client_ip = kIp;
    if (with_csrf) {
      form.emplace("csrf", csrf);
    }
    request.form = std::move(form);
    return remember(pages->handle(request));
  }
  inbox::WebResponse remember(inbox::WebResponse response) {
    std::smatch match;
    const std::string set_cookie = response.header("Set-Cookie");
    static const std::regex kCookie("gw_inbox=([^;]*);");
    if (std::regex_search(set_cookie, match, kCookie)) {
      cookie = match[1].str();
    }
    static const std::regex kCsrf("name=\"csrf\" value=\"([0-9a-f]+)\"");
    if (std::regex_search(response.body, match, kCsrf)) {
      csrf = match[1].str();
    }
    return response;
  }
  static std::string page(const inbox::WebResponse& response) {
    std::smatch match;
    static const std::regex kPage("data-page=\"([a-z-]+)\"");
    return std::regex_search(response.body, match, kPage) ? match[1].str() : "";
  }
  // Opens the link, passes birth date and code: the session is verified.
  void signIn() {
    const std::string token = deliver();
    ASSERT_EQ(get("/inbox/l/" + token).status, 200);
    ASSERT_EQ(page(post("/inbox/dob", {{"dob", kBirthDate}})), "code");
    const inbox::WebResponse verified =
        post("/inbox/code", {{"code", codeFrom(notifier->last().text)}});
    ASSERT_EQ(verified.status, 303);
    ASSERT_EQ(verified.header("Location"), "/inbox/message");
    ASSERT_NE(verified.header("Set-Cookie").find("HttpOnly"), std::string::npos);
  }

  std::unique_ptr<inbox::InboxPages> pages;
  std::string cookie;
  std::string csrf;
};

}  // namespace gw::test
