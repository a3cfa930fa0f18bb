// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "adapters/outbound/messaging_api/MessagingWebhook.h"
#include "tests/support/InMemoryPatientStore.h"
#include "tests/support/ManualClock.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

constexpr const char* kSecret = "0123456789abcdef0123";
constexpr const char* kBody =
    R"({"id": "SM100", "from": "+15550100199", "text": "STOP", "in_reply_to": "key-1"})";

std::string headerOf(const http::HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

class MessagingWebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.url = "https://msg.example.invalid/v1/messages";
    settings_.secret_file = (dir_.path() / "secret").string();
    test::writeFile(dir_.path() / "secret", std::string(kSecret) + "\n");
    ::chmod(settings_.secret_file.c_str(), 0600);
    clock_ = std::make_shared<test::ManualClock>();
    sink_ = std::make_shared<test::RecordingReplySink>();
    auto created = MessagingWebhook::create(settings_, sink_, clock_);
    ASSERT_TRUE(created.ok()) << created.status().message();
    webhook_ = std::move(created).value();
  }

  std::string now() const {
    return std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count());
  }

  http::HttpRequest signedRequest(const std::string& body = kBody, std::string timestamp = "") {
    if (timestamp.empty()) {
      timestamp = now();
    }
    http::HttpRequest request;
    request.method = "POST";
    request.path = kMessagingWebhookPath;
    request.peer = "203.0.113.7:41000";
    request.body = body;
    request.headers["content-type"] = "application/json";
    request.headers["x-timestamp"] = timestamp;
    request.headers["x-signature"] = *messagingWebhookSignature(kSecret, timestamp, body);
    return request;
  }

  test::TempDir dir_;
  MessagingApiSettings settings_;
  std::shared_ptr<test::ManualClock> clock_;
  std::shared_ptr<test::RecordingReplySink> sink_;
  std::unique_ptr<MessagingWebhook> webhook_;
};

TEST_F(MessagingWebhookTest, ASignedReplyReachesTheSinkWithEveryField) {
  const http::HttpResponse response = webhook_->handle(signedRequest());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{\"outcome\": \"opted_out\"}\n");
  const auto replies = sink_->replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].channel, ChannelKind::MessagingApi);
  EXPECT_EQ(replies[0].provider_id, "SM100");
  EXPECT_EQ(replies[0].sender, "+15550100199");
  EXPECT_EQ(replies[0].text, "STOP");
  EXPECT_EQ(replies[0].in_reply_to, "key-1");
  EXPECT_EQ(replies[0].message_id, 0);
  EXPECT_EQ(replies[0].source, "203.0.113.7");
}

TEST_F(MessagingWebhookTest, MissingBadOrStaleSignaturesAre401AndChangeNothing) {
  std::vector<http::HttpRequest> refused;
  http::HttpRequest r = signedRequest();
  r.headers.erase("x-signature");
  refused.push_back(r);
  r = signedRequest();
  r.headers.erase("x-timestamp");
  refused.push_back(r);
  r = signedRequest();
  r.headers["x-signature"] = "sha256=" + std::string(64, '0');
  refused.push_back(r);
  r = signedRequest();
  r.body = R"({"id": "SM100", "from": "+15550100199", "text": "START", "in_reply_to": "key-1"})";
  refused.push_back(r);  // body changed after signing
  r = signedRequest();
  r.headers["x-timestamp"] = std::to_string(std::stoll(now()) + 1);  // timestamp changed
  refused.push_back(r);
  const std::string old = std::to_string(std::stoll(now()) - 301);
  refused.push_back(signedRequest(kBody, old));  // a replay from 5 minutes ago
  const std::string ahead = std::to_string(std::stoll(now()) + 301);
  refused.push_back(signedRequest(kBody, ahead));
  r = signedRequest();
  r.headers["x-timestamp"] = "-5";
  refused.push_back(r);
  r = signedRequest(kBody, "12x");
  refused.push_back(r);
  r = signedRequest();
  r.headers["x-signature"] = r.headers["x-signature"].substr(0, 70);  // truncated
  refused.push_back(r);
  for (std::size_t i = 0; i < refused.size(); ++i) {
    const http::HttpResponse response = webhook_->handle(refused[i]);
    EXPECT_EQ(response.status, 401) << i;
    EXPECT_EQ(response.body.find("STOP"), std::string::npos) << i;  // input never echoed
  }
  EXPECT_TRUE(sink_->replies().empty());

  // Within the tolerance either way is fine.
  EXPECT_EQ(webhook_->handle(signedRequest(kBody, std::to_string(std::stoll(now()) - 299))).status,
            200);
  EXPECT_EQ(webhook_->handle(signedRequest(kBody, std::to_string(std::stoll(now()) + 299))).status,
            200);
}

TEST_F(MessagingWebhookTest, SignedButMalformedRequestsGetClearErrors) {
  http::HttpRequest r = signedRequest();
  r.headers["content-type"] = "text/plain";
  EXPECT_EQ(webhook_->handle(r).status, 415);
  EXPECT_EQ(webhook_->handle(signedRequest("not json")).status, 400);
  EXPECT_EQ(webhook_->handle(signedRequest("[1, 2]")).status, 400);
  const http::HttpResponse missing =
      webhook_->handle(signedRequest(R"({"id": "SM1", "from": "+1555", "text": "STOP"})"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find("in_reply_to"), std::string::npos);
  EXPECT_EQ(
      webhook_
          ->handle(signedRequest(R"({"id": "SM1", "from": 5, "text": "STOP", "in_reply_to": "k"})"))
          .status,
      400);
  EXPECT_EQ(webhook_
                ->handle(signedRequest(
                    R"({"id": "SM 1\r\nX: y", "from": "+1555", "text": "STOP",
                                     "in_reply_to": "k"})"))
                .status,
            400);
  EXPECT_EQ(webhook_
                ->handle(signedRequest(R"({"id": ")" + std::string(129, 'a') +
                                       R"(", "from": "+1555", "text": "STOP",
                                           "in_reply_to": "k"})"))
                .status,
            400);
  r = signedRequest();
  r.method = "GET";
  const http::HttpResponse get = webhook_->handle(r);
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(headerOf(get, "Allow"), "POST");
  r = signedRequest();
  r.path = "/hooks/messaging/inbound/x";
  EXPECT_EQ(webhook_->handle(r).status, 404);
  EXPECT_TRUE(sink_->replies().empty());
}

TEST_F(MessagingWebhookTest, TheSinkDecisionBecomesTheStatus) {
  sink_->answer(Status::notFound("no patient message answers to that reference"));
  EXPECT_EQ(webhook_->handle(signedRequest()).status, 422);
  sink_->answer(Status::permissionDenied("the sender is not the recipient of the message"));
  const http::HttpResponse denied = webhook_->handle(signedRequest());
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body.find("+1555"), std::string::npos);
  sink_->answer(Status::unavailable("store queue full"));
  const http::HttpResponse busy = webhook_->handle(signedRequest());
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(headerOf(busy, "Retry-After"), "30");
  sink_->answer(Status::internal("bug"));
  EXPECT_EQ(webhook_->handle(signedRequest()).status, 500);
  for (const auto& [kind, name] : std::vector<std::pair<ReplyResult::Kind, std::string>>{
           {ReplyResult::Kind::OptedIn, "opted_in"},
           {ReplyResult::Kind::Help, "help"},
           {ReplyResult::Kind::WorkItem, "work_item"},
           {ReplyResult::Kind::Duplicate, "duplicate"}}) {
    sink_->answer(ReplyResult{kind, ""});
    const http::HttpResponse ok = webhook_->handle(signedRequest());
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "{\"outcome\": \"" + name + "\"}\n");
  }
}

TEST_F(MessagingWebhookTest, RefusesToStartWithoutAUsableSecret) {
  ::chmod(settings_.secret_file.c_str(), 0644);
  EXPECT_EQ(MessagingWebhook::create(settings_, sink_, clock_).status().code(),
            StatusCode::PermissionDenied);
  ::chmod(settings_.secret_file.c_str(), 0600);
  test::writeFile(dir_.path() / "secret", "short\n");
  EXPECT_EQ(MessagingWebhook::create(settings_, sink_, clock_).status().code(),
            StatusCode::InvalidArgument);
}

}  // namespace
}  // namespace gw
