// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "adapters/outbound/secure_inbox/InboxCrypto.h"
#include "adapters/outbound/secure_inbox/InboxService.h"
#include "tests/unit/adapters/outbound/secure_inbox/InboxFixture.h"

namespace gw::test {
namespace {

using inbox::Access;
using inbox::StepOutcome;

class InboxServiceTest : public InboxFixture {
 protected:
  // Everything PHI the fixture's message holds.
  std::vector<std::string> phi() const {
    return {content.recipient_name, content.email, content.date_of_birth, "1980", "medicine",
            content.subject};
  }
  void expectNoPhi(const std::string& text, const std::string& where) const {
    for (const std::string& secret : phi()) {
      EXPECT_EQ(text.find(secret), std::string::npos) << where << " holds PHI: " << secret;
    }
  }
  std::vector<std::string> auditActions() const {
    std::vector<std::string> actions;
    for (const AuditEntry& entry : store->audit()) {
      actions.push_back(entry.action + "/" + entry.outcome);
    }
    return actions;
  }
  bool audited(const std::string& action_outcome) const {
    const auto actions = auditActions();
    return std::find(actions.begin(), actions.end(), action_outcome) != actions.end();
  }
};

TEST_F(InboxServiceTest, RandomTokensAreLongAndDistinct) {
  const std::string a = inbox::randomToken().value();
  const std::string b = inbox::randomToken().value();
  EXPECT_EQ(a.size(), 43U);  // 256 bits, base64url without padding
  EXPECT_NE(a, b);
  for (int i = 0; i < 200; ++i) {
    const std::string code = inbox::randomCode().value();
    ASSERT_EQ(code.size(), 6U);
    EXPECT_EQ(code.find_first_not_of("0123456789"), std::string::npos);
  }
}

TEST_F(InboxServiceTest, DeliverNotifiesWithLinkAndNoPhiAndStoresOnlyTheTokenHash) {
  const std::string token = deliver();
  ASSERT_EQ(token.size(), 43U);
  const Notification note = notifier->last();
  EXPECT_EQ(note.to, content.email);
  EXPECT_NE(note.subject.find("Example General Hospital"), std::string::npos);
  EXPECT_NE(note.text.find("https://patients.example.invalid/inbox/l/" + token), std::string::npos);
  EXPECT_EQ(note.idempotency_key, "inbox-notify:7");
  expectNoPhi(note.subject + note.text, "notification");
  const std::vector<InboxLink> links = store->links();
  ASSERT_EQ(links.size(), 1U);
  EXPECT_EQ(links[0].token_hash, inbox::sha256Hex(token));
  EXPECT_EQ(links[0].token_hash.find(token), std::string::npos);
  EXPECT_EQ(links[0].expires_at, clock->now() + std::chrono::hours(24 * 30));
  EXPECT_TRUE(audited("inbox_link_created/ok"));
}

TEST_F(InboxServiceTest, DerivedBaseUrlIsUsedOnceSetAndOnlyWhenNoneWasConfigured) {
  EXPECT_EQ(service->setDerivedBaseUrl("http://127.0.0.1:9/inbox/").code(),
            StatusCode::InvalidArgument);  // configured base_url wins
  settings.base_url = "";
  rebuild();
  EXPECT_EQ(service->setDerivedBaseUrl("http://10.0.0.5:8444/inbox/").code(),
            StatusCode::InvalidArgument);  // plain http off loopback
  ASSERT_TRUE(service->setDerivedBaseUrl("http://127.0.0.1:41234/inbox/").isOk());
  EXPECT_EQ(service->linkUrl("abc"), "http://127.0.0.1:41234/inbox/l/abc");
  const std::string token = deliver();
  EXPECT_NE(notifier->last().text.find("http://127.0.0.1:41234/inbox/l/" + token),
            std::string::npos);
  EXPECT_EQ(service->setDerivedBaseUrl("http://127.0.0.1:5/inbox/").code(),
            StatusCode::InvalidArgument);  // set once
}

TEST_F(InboxServiceTest, DeliverWithoutAddressIsPermanentNotFound) {
  content.email.clear();
  OutboundMessage message;
  message.message_id = kMessageId;
  message.content = content;
  const Result<DeliveryReceipt> receipt = channel->deliver(message, clock->steadyNow());
  ASSERT_FALSE(receipt.ok());
  EXPECT_EQ(receipt.status().code(), StatusCode::NotFound);
  EXPECT_TRUE(notifier->sent().empty());
}

TEST_F(InboxServiceTest, DeliverPassesNotifierFailureOnForRetry) {
  notifier->failNext(Status::unavailable("smtp down"));
  OutboundMessage message;
  message.message_id = kMessageId;
  message.content = content;
  const Result<DeliveryReceipt> receipt = channel->deliver(message, clock->steadyNow());
  ASSERT_FALSE(receipt.ok());
  EXPECT_TRUE(receipt.status().isRetryable());
}

TEST_F(InboxServiceTest, LinkExpiresWithTheMessageWhenThatIsSooner) {
  putMessage(kMessageId, content, MessageState::Sending, clock->now() + std::chrono::hours(48));
  deliver();
  EXPECT_EQ(store->links().at(0).expires_at, clock->now() + std::chrono::hours(48));
}

TEST_F(InboxServiceTest, FullFlowShowsMessageAndRecordsFirstViewOnce) {
  const std::string token = deliver();
  store->putMessage([&] {
    InboxMessage m = store->inboxMessage(kMessageId).value();
    m.state = MessageState::Sent;  // the delivery worker's job after deliver()
    return m;
  }());
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string code = codeFrom(notifier->last().text);
  ASSERT_EQ(code.size(), 6U);
  expectNoPhi(notifier->last().text, "code notification");
  EXPECT_EQ(notifier->last().idempotency_key.find(code), std::string::npos);
  EXPECT_EQ(notifier->last().to, content.email);
  const std::string unverified_id = context.session_id;
  const Result<inbox::Step> step = service->submitCode(context, code, kIp);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->outcome, StepOutcome::Accepted);
  EXPECT_EQ(context.session.stage, InboxSession::Stage::Verified);
  // The verified session has a new id; the old one is gone.
  EXPECT_NE(context.session_id, unverified_id);
  EXPECT_EQ(service->resume(unverified_id, kIp)->access, Access::NoSession);
  EXPECT_EQ(service->resume(context.session_id, kIp)->session.stage, InboxSession::Stage::Verified);

  const Result<inbox::MessageView> first = service->view(context, kIp);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->first_view);
  EXPECT_EQ(first->content.text, content.text);
  EXPECT_EQ(store->inboxMessage(kMessageId)->state, MessageState::Read);
  const Result<inbox::MessageView> second = service->view(context, kIp);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->first_view);
  EXPECT_TRUE(audited("inbox_opened/ok"));
  EXPECT_TRUE(audited("inbox_code_sent/ok"));
  EXPECT_TRUE(audited("inbox_code/ok"));
  EXPECT_TRUE(audited("inbox_viewed/ok"));
  for (const AuditEntry& entry : store->audit()) {
    expectNoPhi(
        entry.actor + entry.action + entry.object + entry.outcome + entry.source + entry.reason,
        "audit");
  }
}

TEST_F(InboxServiceTest, ResumeFindsTheSessionByCookieValue) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const Result<inbox::SessionContext> resumed = service->resume(context.session_id, kIp);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->access, Access::Ok);
  EXPECT_EQ(resumed->session.stage, InboxSession::Stage::NeedCode);
  const Result<inbox::SessionContext> unknown = service->resume(inbox::randomToken().value(), kIp);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->access, Access::NoSession);
}

TEST_F(InboxServiceTest, WrongBirthDateLooksAcceptedSendsNoCodeAndCounts) {
  const std::string token = deliver();
  const std::size_t notes = notifier->sent().size();
  inbox::SessionContext context = openAndGiveBirthDate(token, "1990-01-01");
  EXPECT_EQ(notifier->sent().size(), notes);  // no code sent
  EXPECT_EQ(context.session.stage, InboxSession::Stage::NeedCode);
  EXPECT_EQ(store->links().at(0).failed_attempts, 1);
  EXPECT_TRUE(audited("inbox_dob/mismatch"));
  // Whatever code is entered now fails and counts.
  const Result<inbox::Step> step = service->submitCode(context, "123456", kIp);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->outcome, StepOutcome::Rejected);
  EXPECT_EQ(step->attempts_left, 3);
}

TEST_F(InboxServiceTest, MalformedInputIsRejectedWithoutCounting) {
  const std::string token = deliver();
  Result<inbox::SessionContext> opened = service->openLink(token, kIp);
  ASSERT_TRUE(opened.ok());
  for (const char* bad : {"", "23/04/1980", "1980-02-30", "1980-13-01", "19800423xx"}) {
    const Result<inbox::Step> step = service->submitBirthDate(*opened, bad, kIp);
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->outcome, StepOutcome::BadInput) << bad;
  }
  inbox::SessionContext context = openAndGiveBirthDate(token);
  for (const char* bad : {"", "12345", "1234567", "12a456"}) {
    const Result<inbox::Step> step = service->submitCode(context, bad, kIp);
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->outcome, StepOutcome::BadInput) << bad;
  }
  EXPECT_EQ(store->links().at(0).failed_attempts, 0);
}

TEST_F(InboxServiceTest, FiveWrongCodesLockTheLinkForGood) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string right = codeFrom(notifier->last().text);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  for (int left = 4; left >= 1; --left) {
    const Result<inbox::Step> step = service->submitCode(context, wrong, kIp);
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->outcome, StepOutcome::Rejected);
    EXPECT_EQ(step->attempts_left, left);
  }
  const Result<inbox::Step> fifth = service->submitCode(context, wrong, kIp);
  ASSERT_TRUE(fifth.ok());
  EXPECT_EQ(fifth->outcome, StepOutcome::Locked);
  EXPECT_TRUE(audited("inbox_locked/wrong_code"));
  EXPECT_TRUE(store->links().at(0).locked);
  EXPECT_TRUE(store->links().at(0).code_mac.empty());
  // The right code no longer helps, and a new session on the link is refused.
  const Result<inbox::Step> late = service->submitCode(context, right, kIp);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->outcome, StepOutcome::Locked);
  const Result<inbox::SessionContext> again = service->openLink(token, kIp);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->access, Access::Locked);
}

TEST_F(InboxServiceTest, ConcurrentWrongCodesNeverGetMoreThanTheLimit) {
  const std::string token = deliver();
  const inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string wrong = codeFrom(notifier->last().text) == "000000" ? "111111" : "000000";
  std::atomic<int> rejected{0};
  std::atomic<int> locked{0};
  std::atomic<int> busy{0};  // Unavailable after kSaveRetries version conflicts
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      inbox::SessionContext mine = context;
      const Result<inbox::Step> step = service->submitCode(mine, wrong, kIp);
      if (step.ok() && step->outcome == StepOutcome::Rejected) {
        ++rejected;
      } else if (step.ok() && step->outcome == StepOutcome::Locked) {
        ++locked;
      } else if (!step.ok() && step.status().code() == StatusCode::Unavailable) {
        ++busy;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const InboxLink link = store->links().at(0);
  EXPECT_EQ(other.load(), 0);
  // Every counted failure is one successful versioned save: never past the limit, never lost.
  EXPECT_EQ(link.failed_attempts, rejected.load() + (link.locked ? 1 : 0));
  EXPECT_LE(link.failed_attempts, 5);
  if (busy.load() == 0) {
    EXPECT_EQ(rejected.load(), 4);
    EXPECT_EQ(locked.load(), 8);
    EXPECT_TRUE(link.locked);
  }
}

TEST_F(InboxServiceTest, WrongBirthDatesAndCodesShareTheAttemptLimit) {
  const std::string token = deliver();
  for (int i = 0; i < 3; ++i) {
    openAndGiveBirthDate(token, "1970-01-0" + std::to_string(i + 1));
  }
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string right = codeFrom(notifier->last().text);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  const Result<inbox::Step> fourth = service->submitCode(context, wrong, kIp);
  EXPECT_EQ(fourth->attempts_left, 1);
  const Result<inbox::Step> fifth = service->submitCode(context, wrong, kIp);
  EXPECT_EQ(fifth->outcome, StepOutcome::Locked);
}

TEST_F(InboxServiceTest, RightCodeResetsTheAttemptCounter) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string right = codeFrom(notifier->last().text);
  const std::string wrong = right == "000000" ? "111111" : "000000";
  ASSERT_EQ(service->submitCode(context, wrong, kIp)->attempts_left, 4);
  ASSERT_EQ(service->submitCode(context, right, kIp)->outcome, StepOutcome::Accepted);
  EXPECT_EQ(store->links().at(0).failed_attempts, 0);
}

TEST_F(InboxServiceTest, CodeExpiresAfterTenMinutes) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  const std::string code = codeFrom(notifier->last().text);
  clock->advance(std::chrono::seconds(600));
  const Result<inbox::Step> step = service->submitCode(context, code, kIp);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->outcome, StepOutcome::Rejected);
  EXPECT_TRUE(audited("inbox_code/expired_code"));
}

TEST_F(InboxServiceTest, CodeWorksOnlyInTheSessionThatAskedForIt) {
  const std::string token = deliver();
  openAndGiveBirthDate(token);
  const std::string code = codeFrom(notifier->last().text);
  Result<inbox::SessionContext> other = service->openLink(token, kIp);
  ASSERT_TRUE(other.ok());
  other->session.stage = InboxSession::Stage::NeedCode;
  other->session.birth_date_matched = true;  // even if it had passed the birth date
  const Result<inbox::Step> step = service->submitCode(*other, code, kIp);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->outcome, StepOutcome::Rejected);
}

TEST_F(InboxServiceTest, CodeRequestsPerLinkAreRateLimited) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);  // code 1 of 5 per hour
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(service->resendCode(context, kIp)->outcome, StepOutcome::Accepted);
  }
  const Result<inbox::Step> sixth = service->resendCode(context, kIp);
  ASSERT_TRUE(sixth.ok());
  EXPECT_EQ(sixth->outcome, StepOutcome::RateLimited);
  EXPECT_GT(sixth->retry_after.count(), 0);
  EXPECT_EQ(notifier->sent().size(), 1U + 5U);
  clock->advance(std::chrono::hours(1));
  EXPECT_EQ(service->resendCode(context, kIp)->outcome, StepOutcome::Accepted);
}

TEST_F(InboxServiceTest, RequestsPerClientIpAreRateLimited) {
  settings.requests_per_ip_per_minute = 3;
  rebuild();
  const std::string token = deliver();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(service->openLink(token, kIp)->access, Access::Ok);
  }
  const Result<inbox::SessionContext> fourth = service->openLink(token, kIp);
  EXPECT_EQ(fourth->access, Access::RateLimited);
  EXPECT_GT(fourth->retry_after.count(), 0);
  EXPECT_EQ(service->openLink(token, "192.0.2.99")->access, Access::Ok);  // another client
  clock->advance(std::chrono::minutes(1));
  EXPECT_EQ(service->openLink(token, kIp)->access, Access::Ok);
}

TEST_F(InboxServiceTest, RequestsPerLinkAreRateLimitedAcrossClients) {
  settings.requests_per_link_per_minute = 2;
  rebuild();
  const std::string token = deliver();
  EXPECT_EQ(service->openLink(token, "192.0.2.1")->access, Access::Ok);
  EXPECT_EQ(service->openLink(token, "192.0.2.2")->access, Access::Ok);
  EXPECT_EQ(service->openLink(token, "192.0.2.3")->access, Access::RateLimited);
}

TEST_F(InboxServiceTest, IdleSessionTimesOut) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  clock->advance(std::chrono::seconds(599));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);  // touches it
  clock->advance(std::chrono::seconds(599));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);
  clock->advance(std::chrono::seconds(601));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::TimedOut);
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::NoSession);
}

TEST_F(InboxServiceTest, RequestsWithinTheIdleTimeoutKeepTheSessionAlive) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  for (int minute = 0; minute < 50; minute += 5) {
    clock->advance(std::chrono::minutes(5));
    ASSERT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok) << minute;
  }
  clock->advance(std::chrono::seconds(10));  // a touch within 15 s is not written...
  ASSERT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);
  clock->advance(std::chrono::seconds(595));  // ...so idle time counts from the last write
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::TimedOut);
}

TEST_F(InboxServiceTest, UnknownAndMalformedTokensAreNotFound) {
  deliver();
  EXPECT_EQ(service->openLink(inbox::randomToken().value(), kIp)->access, Access::NotFound);
  EXPECT_EQ(service->openLink("short", kIp)->access, Access::NotFound);
  EXPECT_EQ(service->openLink(std::string(43, '%'), kIp)->access, Access::NotFound);
}

TEST_F(InboxServiceTest, LinkExpiresAfterThirtyDaysAndTheContentIsShredded) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  clock->advance(std::chrono::hours(24 * 30));
  const Result<inbox::SessionContext> opened = service->openLink(token, kIp);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->access, Access::Expired);
  const InboxMessage message = store->inboxMessage(kMessageId).value();
  EXPECT_EQ(message.state, MessageState::Expired);
  EXPECT_TRUE(message.sealed_content.empty());
  EXPECT_TRUE(audited("inbox_expired/ok"));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::TimedOut);
}

TEST_F(InboxServiceTest, ExpiredMessageBeatsAVerifiedSession) {
  putMessage(kMessageId, content, MessageState::Sent, clock->now() + std::chrono::minutes(30));
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  ASSERT_EQ(service->submitCode(context, codeFrom(notifier->last().text), kIp)->outcome,
            StepOutcome::Accepted);
  clock->advance(std::chrono::minutes(9));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);
  clock->advance(std::chrono::minutes(9));
  ASSERT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);
  clock->advance(std::chrono::minutes(9));
  ASSERT_EQ(service->resume(context.session_id, kIp)->access, Access::Ok);
  clock->advance(std::chrono::minutes(4));
  EXPECT_EQ(service->resume(context.session_id, kIp)->access, Access::Expired);
  EXPECT_TRUE(store->inboxMessage(kMessageId)->sealed_content.empty());
}

TEST_F(InboxServiceTest, RetractedMessageIsWithdrawn) {
  const std::string token = deliver();
  putMessage(kMessageId, content, MessageState::Retracted);
  EXPECT_EQ(service->openLink(token, kIp)->access, Access::Withdrawn);
}

TEST_F(InboxServiceTest, RepliesAreStoredAuditedAndStopReachesTheConsentLedger) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  ASSERT_EQ(service->submitCode(context, codeFrom(notifier->last().text), kIp)->outcome,
            StepOutcome::Accepted);
  const Result<std::string> confirm = service->reply(context, "confirm", kIp);
  ASSERT_TRUE(confirm.ok());
  EXPECT_EQ(*confirm, "Confirm appointment");
  ASSERT_TRUE(service->reply(context, "stop", kIp).ok());
  const Result<std::string> bogus = service->reply(context, "delete-everything", kIp);
  ASSERT_FALSE(bogus.ok());
  EXPECT_EQ(bogus.status().code(), StatusCode::InvalidArgument);

  const std::vector<InboxReply> replies = store->replies();
  ASSERT_EQ(replies.size(), 2U);
  EXPECT_EQ(replies[0].reply_id, "confirm");
  EXPECT_FALSE(replies[0].opt_out);
  EXPECT_EQ(replies[1].reply_id, "stop");
  EXPECT_TRUE(replies[1].opt_out);
  EXPECT_EQ(store->optOuts(), std::vector<std::int64_t>{kMessageId});
  ASSERT_EQ(store->operatorEvents().size(), 2U);
  EXPECT_EQ(store->operatorEvents()[0].kind, "inbox_reply:confirm");
  EXPECT_TRUE(audited("inbox_reply/ok"));
}

TEST_F(InboxServiceTest, UnverifiedSessionCannotViewOrReply) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  EXPECT_EQ(service->view(context, kIp).status().code(), StatusCode::PermissionDenied);
  EXPECT_EQ(service->reply(context, "confirm", kIp).status().code(), StatusCode::PermissionDenied);
}

TEST_F(InboxServiceTest, StoreFailureIsReportedAndChangesNothing) {
  const std::string token = deliver();
  inbox::SessionContext context = openAndGiveBirthDate(token);
  store->failNextWrite();
  const Result<inbox::Step> step = service->submitCode(context, "000000", kIp);
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(store->links().at(0).failed_attempts, 0);
}

TEST_F(InboxServiceTest, PageLanguageFollowsTheMessage) {
  EXPECT_EQ(inbox::pageLanguage("es", "en"), "es");
  EXPECT_EQ(inbox::pageLanguage("es-MX", "en"), "es");
  EXPECT_EQ(inbox::pageLanguage("EN-us", "es"), "en");
  EXPECT_EQ(inbox::pageLanguage("fr", "en"), "en");
  EXPECT_EQ(inbox::pageLanguage("esperanto", "en"), "en");
}

}  // namespace
}  // namespace gw::test
