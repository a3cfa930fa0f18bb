// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <regex>

#include "adapters/outbound/secure_inbox/InboxPages.h"
#include "tests/unit/adapters/outbound/secure_inbox/InboxFixture.h"

namespace gw::test {
namespace {

using inbox::WebResponse;

class InboxPagesTest : public InboxPagesFixture {};

TEST_F(InboxPagesTest, EveryAnswerCarriesTheSecurityHeaders) {
  const std::string token = deliver();
  for (const WebResponse& response : {get("/inbox/l/" + token), get("/inbox/nowhere"),
                                      get("/inbox/style.css"), post("/inbox/dob", {}, false)}) {
    EXPECT_EQ(response.header("Content-Security-Policy"),
              "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
              "frame-ancestors 'none'; base-uri 'none'");
    EXPECT_EQ(response.header("Cache-Control"), "no-store");
    EXPECT_EQ(response.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(response.header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(response.header("X-Frame-Options"), "DENY");
  }
}

TEST_F(InboxPagesTest, OpeningALinkSetsAStrictSessionCookieAndShowsTheBirthDateForm) {
  const WebResponse response = get("/inbox/l/" + deliver());
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(page(response), "dob");
  const std::string set_cookie = response.header("Set-Cookie");
  EXPECT_NE(set_cookie.find("; Path=/inbox/"), std::string::npos);
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos);
  EXPECT_NE(set_cookie.find("; Secure"), std::string::npos);
  EXPECT_EQ(cookie.size(), 43U);
  EXPECT_EQ(csrf.size(), 64U);
  EXPECT_EQ(response.body.find("<script"), std::string::npos);
  EXPECT_NE(response.body.find("not for emergencies"), std::string::npos);
  EXPECT_NE(response.body.find("<html lang=\"en\">"), std::string::npos);
  for (const std::string& phi : {content.date_of_birth, content.recipient_name, content.email,
                                 content.subject, content.facility_name}) {
    EXPECT_EQ(response.body.find(phi), std::string::npos) << phi;
  }
}

TEST_F(InboxPagesTest, SecureMayBeDroppedForLoopbackTestServers) {
  settings.base_url = "http://127.0.0.1:8080/inbox/";
  settings.secure_cookies = false;
  rebuild();
  pages = std::make_unique<inbox::InboxPages>(service);
  const WebResponse response = get("/inbox/l/" + deliver());
  EXPECT_EQ(response.header("Set-Cookie").find("Secure"), std::string::npos);
  EXPECT_TRUE(response.header("Strict-Transport-Security").empty());
}

TEST_F(InboxPagesTest, FormsWithoutTheCsrfTokenAreRefused) {
  get("/inbox/l/" + deliver());
  const WebResponse response = post("/inbox/dob", {{"dob", kBirthDate}}, false);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(page(response), "bad-request");
  EXPECT_TRUE(notifier->sent().size() == 1U);  // no code sent
  const WebResponse forged = post("/inbox/dob", {{"dob", kBirthDate}, {"csrf", "00"}}, false);
  EXPECT_EQ(forged.status, 403);
}

TEST_F(InboxPagesTest, FullFlowShowsTheMessageWithRepliesLinksAndNotice) {
  signIn();
  const WebResponse message = get("/inbox/message");
  ASSERT_EQ(message.status, 200);
  EXPECT_EQ(page(message), "message");
  EXPECT_NE(message.body.find("Message from Example General Hospital"), std::string::npos);
  EXPECT_NE(message.body.find("Take your medicine twice daily."), std::string::npos);
  EXPECT_NE(message.body.find("<a href=\"https://education.example.invalid/knee\""),
            std::string::npos);
  EXPECT_NE(message.body.find("value=\"confirm\""), std::string::npos);
  EXPECT_NE(message.body.find("value=\"cancel\""), std::string::npos);
  EXPECT_NE(message.body.find("value=\"question\""), std::string::npos);
  EXPECT_NE(message.body.find("value=\"stop\""), std::string::npos);
  EXPECT_NE(message.body.find("not for emergencies"), std::string::npos);
  EXPECT_EQ(store->inboxMessage(kMessageId)->state, MessageState::Sending);  // not Sent yet

  const WebResponse replied = post("/inbox/reply", {{"reply", "question"}});
  EXPECT_EQ(replied.status, 200);
  EXPECT_NE(replied.body.find("I have a question"), std::string::npos);
  ASSERT_EQ(store->replies().size(), 1U);
  EXPECT_EQ(store->replies()[0].reply_id, "question");
  EXPECT_EQ(post("/inbox/reply", {{"reply", "nonsense"}}).status, 400);
}

TEST_F(InboxPagesTest, MessageTextIsEscaped) {
  content.text = "<script>alert(1)</script> & <b>bold</b>";
  putMessage(kMessageId, content);
  signIn();
  const WebResponse message = get("/inbox/message");
  EXPECT_EQ(message.body.find("<script>"), std::string::npos);
  EXPECT_EQ(message.body.find("<b>bold"), std::string::npos);
  EXPECT_NE(message.body.find("&lt;script&gt;"), std::string::npos);
}

TEST_F(InboxPagesTest, SpanishMessageGetsSpanishPages) {
  content.language = "es";
  putMessage(kMessageId, content);
  const WebResponse response = get("/inbox/l/" + deliver());
  EXPECT_NE(response.body.find("<html lang=\"es\">"), std::string::npos);
  EXPECT_NE(response.body.find("Fecha de nacimiento"), std::string::npos);
  EXPECT_NE(notifier->sent().at(0).subject.find("Nuevo mensaje seguro"), std::string::npos);
}

TEST_F(InboxPagesTest, WrongCodesShowAttemptsLeftThenTheLockedPage) {
  get("/inbox/l/" + deliver());
  post("/inbox/dob", {{"dob", kBirthDate}});
  const std::string wrong = codeFrom(notifier->last().text) == "000000" ? "111111" : "000000";
  const WebResponse first = post("/inbox/code", {{"code", wrong}});
  EXPECT_EQ(first.status, 422);
  EXPECT_NE(first.body.find("Attempts left: 4."), std::string::npos);
  for (int i = 0; i < 3; ++i) {
    post("/inbox/code", {{"code", wrong}});
  }
  const WebResponse locked = post("/inbox/code", {{"code", wrong}});
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(page(locked), "locked");
  EXPECT_EQ(page(get("/inbox/verify")), "locked");
}

TEST_F(InboxPagesTest, WrongBirthDateLooksLikeTheRightOne) {
  get("/inbox/l/" + deliver());
  const WebResponse wrong = post("/inbox/dob", {{"dob", "1999-12-31"}});
  EXPECT_EQ(wrong.status, 200);
  EXPECT_EQ(page(wrong), "code");
  const WebResponse right_after_wrong = get("/inbox/verify");
  EXPECT_EQ(page(right_after_wrong), "code");  // the session stays at the code step
  EXPECT_EQ(right_after_wrong.body.find("Attempts left"), std::string::npos);
}

TEST_F(InboxPagesTest, BadDateFormatGetsAClearError) {
  get("/inbox/l/" + deliver());
  const WebResponse bad = post("/inbox/dob", {{"dob", "23.04.1980"}});
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(page(bad), "dob");
  EXPECT_NE(bad.body.find("year-month-day"), std::string::npos);
}

TEST_F(InboxPagesTest, MessagePageNeedsAVerifiedSession) {
  get("/inbox/l/" + deliver());
  const WebResponse early = get("/inbox/message");
  EXPECT_EQ(early.status, 303);
  EXPECT_EQ(early.header("Location"), "/inbox/verify");
  cookie.clear();
  const WebResponse none = get("/inbox/message");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(page(none), "timed-out");
}

TEST_F(InboxPagesTest, ExpiredLinkSaysSoAndHoldsNoPhi) {
  const std::string token = deliver();
  clock->advance(std::chrono::hours(24 * 31));
  const WebResponse expired = get("/inbox/l/" + token);
  EXPECT_EQ(expired.status, 410);
  EXPECT_EQ(page(expired), "expired");
  EXPECT_NE(expired.body.find("This message has expired"), std::string::npos);
  EXPECT_EQ(expired.body.find("Example General"), std::string::npos);
  EXPECT_TRUE(store->inboxMessage(kMessageId)->sealed_content.empty());
}

TEST_F(InboxPagesTest, UnknownLinksAndRoutesAreGenericNotFound) {
  deliver();
  const WebResponse unknown = get("/inbox/l/" + std::string(43, 'A'));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(page(unknown), "not-found");
  EXPECT_EQ(get("/inbox/admin").status, 404);
  EXPECT_EQ(get("/inbox/dob").status, 405);
  EXPECT_EQ(post("/inbox/message", {}).status, 405);
}

TEST_F(InboxPagesTest, RateLimitedClientsGet429WithRetryAfter) {
  settings.requests_per_ip_per_minute = 2;
  rebuild();
  pages = std::make_unique<inbox::InboxPages>(service);
  const std::string token = deliver();
  get("/inbox/l/" + token);
  get("/inbox/verify");
  const WebResponse limited = get("/inbox/verify");
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.header("Retry-After").empty());
}

TEST_F(InboxPagesTest, SignOutEndsTheSession) {
  signIn();
  const std::string unverified_csrf = csrf;
  ASSERT_EQ(get("/inbox/message").status, 200);  // forms of the new session carry a new token
  EXPECT_NE(csrf, unverified_csrf);
  const WebResponse out = post("/inbox/signout", {});
  EXPECT_EQ(page(out), "signed-out");
  EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(get("/inbox/message").status, 401);
}

TEST_F(InboxPagesTest, StoreOutageGetsAGeneric503) {
  const std::string token = deliver();
  get("/inbox/l/" + token);
  store->failNextWrite();
  const WebResponse response = get("/inbox/verify");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(page(response), "error");
}

}  // namespace
}  // namespace gw::test
