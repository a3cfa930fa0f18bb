// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "gateway/admin/AdminHttpHandler.h"
#include "tests/unit/gateway/admin/AdminFixture.h"

namespace gw::admin {
namespace {

class AdminHttpHandlerTest : public AdminFixture {
 protected:
  void SetUp() override {
    AdminFixture::SetUp();
    handler_ =
        std::make_unique<AdminHttpHandler>(std::shared_ptr<AdminService>(std::move(service_)));
  }

  http::HttpResponse call(const std::string& method, const std::string& path,
                          const std::string& body = "", const std::string& token = "",
                          std::vector<std::pair<std::string, std::string>> query = {}) {
    http::HttpRequest request;
    request.method = method;
    request.path = "/admin/api/" + path;
    request.query = std::move(query);
    request.body = body;
    request.peer = "10.1.2.3:50000";
    if (!body.empty()) {
      request.headers["content-type"] = "application/json";
    }
    if (!token.empty()) {
      request.headers["authorization"] = "Bearer " + token;
    }
    return handler_->handle(request);
  }

  static rapidjson::Document parse(const http::HttpResponse& response) {
    rapidjson::Document doc;
    doc.Parse(response.body.c_str());
    EXPECT_FALSE(doc.HasParseError()) << response.body;
    return doc;
  }

  std::string tokenOf(const std::string& user, const std::string& password) {
    const http::HttpResponse response =
        call("POST", "login", R"({"username":")" + user + R"(","password":")" + password + "\"}");
    EXPECT_EQ(response.status, 200) << response.body;
    return parse(response)["token"].GetString();
  }

  static std::string header(const http::HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) {
        return v;
      }
    }
    return "";
  }

  std::unique_ptr<AdminHttpHandler> handler_;
};

TEST_F(AdminHttpHandlerTest, MountsWithoutTheTrailingSlash) {
  EXPECT_EQ(handler_->mountPrefix(), "/admin/api");
}

TEST_F(AdminHttpHandlerTest, LoginAndAuthenticatedSearch) {
  const http::HttpResponse login =
      call("POST", "login", R"({"username":"victor","password":"viewer pass phrase"})");
  ASSERT_EQ(login.status, 200) << login.body;
  EXPECT_EQ(login.content_type, "application/json");
  EXPECT_EQ(header(login, "Cache-Control"), "no-store");
  const rapidjson::Document doc = parse(login);
  EXPECT_STREQ(doc["role"].GetString(), "viewer");
  EXPECT_STREQ(doc["token_type"].GetString(), "Bearer");
  const std::string token = doc["token"].GetString();
  const http::HttpResponse found =
      call("GET", "messages", "", token, {{"control_id", "CTRL-1"}, {"from", "2025-12-31"}});
  ASSERT_EQ(found.status, 200) << found.body;
  const rapidjson::Document list = parse(found);
  ASSERT_EQ(list["messages"].Size(), 1u);
  EXPECT_STREQ(list["messages"][0]["control_id"].GetString(), "CTRL-1");
  EXPECT_TRUE(list["next_after_id"].IsNull());
  EXPECT_EQ(admin_->audit().back().source, "10.1.2.3");  // the address, not the port
}

TEST_F(AdminHttpHandlerTest, AuthenticationErrorsAre401WithTheSameBody) {
  const http::HttpResponse wrong =
      call("POST", "login", R"({"username":"victor","password":"not it at all"})");
  const http::HttpResponse unknown =
      call("POST", "login", R"({"username":"nobody","password":"not it at all"})");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(wrong.body, unknown.body);
  EXPECT_EQ(wrong.body, R"({"error":"invalid username or password"})");
  EXPECT_EQ(call("GET", "messages").status, 401);
  const http::HttpResponse bad = call("GET", "messages", "", std::string(64, '0'));
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(header(bad, "WWW-Authenticate"), "Bearer realm=\"gateway-admin\"");
}

TEST_F(AdminHttpHandlerTest, BadInputIsAClearError) {
  EXPECT_EQ(call("POST", "login", "{").status, 400);
  EXPECT_EQ(call("POST", "login", "[]").status, 400);
  EXPECT_EQ(call("POST", "login", R"({"username":"victor"})").status, 400);
  EXPECT_EQ(call("POST", "login", R"({"username":1,"password":"x"})").status, 400);
  const http::HttpResponse extra =
      call("POST", "login", R"({"username":"a","password":"b","totp":"1"})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_NE(extra.body.find("unknown field"), std::string::npos);
  EXPECT_EQ(call("GET", "login").status, 405);
  http::HttpRequest form;
  form.method = "POST";
  form.path = "/admin/api/login";
  form.body = "username=victor";
  form.headers["content-type"] = "application/x-www-form-urlencoded";
  EXPECT_EQ(handler_->handle(form).status, 415);
  const std::string token = tokenOf("victor", kViewerPassword);
  EXPECT_EQ(call("GET", "messages", "", token, {{"from", "yesterday"}}).status, 400);
  EXPECT_EQ(call("GET", "messages", "", token, {{"state", "lost"}}).status, 400);
  EXPECT_EQ(call("GET", "messages", "", token, {{"limit", "0"}}).status, 400);
  EXPECT_EQ(call("GET", "messages/abc", "", token).status, 404);
  EXPECT_EQ(call("GET", "messages/999", "", token).status, 404);
  EXPECT_EQ(call("GET", "nothing-here", "", token).status, 404);
  EXPECT_EQ(call("DELETE", "messages", "", token).status, 405);
  EXPECT_EQ(handler_->reject(413, "too large", form).status, 413);
  EXPECT_EQ(handler_->reject(413, "too large", form).content_type, "application/json");
}

TEST_F(AdminHttpHandlerTest, ViewerGets403AndNoPhiOperatorWithReasonGetsThePayload) {
  const std::string viewer = tokenOf("victor", kViewerPassword);
  const std::string operator_token = tokenOf("olga", kOperatorPassword);
  const std::string id = std::to_string(event_id_);
  const http::HttpResponse detail = call("GET", "messages/" + id, "", viewer);
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(detail.body.find("Testpatient"), std::string::npos);
  const http::HttpResponse denied =
      call("GET", "messages/" + id + "/payload", "", viewer, {{"reason", "curious"}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body.find("Testpatient"), std::string::npos);
  EXPECT_EQ(call("GET", "messages/" + id + "/payload", "", operator_token).status, 400);
  const http::HttpResponse shown =
      call("POST", "messages/" + id + "/payload", R"({"reason":"ticket 4711"})", operator_token);
  ASSERT_EQ(shown.status, 200) << shown.body;
  EXPECT_STREQ(parse(shown)["payload"].GetString(), kPhi);
}

TEST_F(AdminHttpHandlerTest, PatientMessageContentForAnOperatorWithAReason) {
  const std::string viewer = tokenOf("victor", kViewerPassword);
  const std::string operator_token = tokenOf("olga", kOperatorPassword);
  const http::HttpResponse denied =
      call("GET", "outbox/41/content", "", viewer, {{"reason", "curious"}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.body.find("Testpatient"), std::string::npos);
  EXPECT_EQ(call("GET", "outbox/41/content", "", operator_token).status, 400);
  EXPECT_EQ(call("GET", "outbox/999/content", "", operator_token, {{"reason", "r"}}).status, 404);
  const http::HttpResponse shown =
      call("GET", "outbox/41/content", "", operator_token, {{"reason", "ticket 4712"}});
  ASSERT_EQ(shown.status, 200) << shown.body;
  auto json = parse(shown);
  EXPECT_STREQ(json["text"].GetString(), "Dear Alexa Testpatient, rest for two days.");
  EXPECT_STREQ(json["reason"].GetString(), "ticket 4712");
  ASSERT_EQ(json["quick_replies"].Size(), 1u);
  EXPECT_STREQ(json["quick_replies"][0]["id"].GetString(), "ok");
}

TEST_F(AdminHttpHandlerTest, ReplayConflictsWhenNotDead) {
  const std::string operator_token = tokenOf("olga", kOperatorPassword);
  EXPECT_EQ(call("POST", "outbox/41/replay", R"({"reason":"fixed"})", operator_token).status, 200);
  const http::HttpResponse again =
      call("POST", "outbox/41/replay", R"({"reason":"fixed"})", operator_token);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(call("GET", "outbox/41/replay", "", operator_token).status, 405);
}

TEST_F(AdminHttpHandlerTest, UsersAndAuditVerify) {
  const std::string admin = tokenOf("alice", kAdminPassword);
  const http::HttpResponse created =
      call("POST", "users", R"({"username":"bob","role":"operator","password":"bob pass phrase"})",
           admin);
  EXPECT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(call("POST", "users",
                 R"({"username":"bob","role":"operator","password":"bob pass phrase"})", admin)
                .status,
            409);
  EXPECT_EQ(
      call("POST", "users", R"({"username":"x","role":"root","password":"long password"})", admin)
          .status,
      400);
  const http::HttpResponse users = call("GET", "users", "", admin);
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(users.body.find("scrypt"), std::string::npos);  // no hashes
  const rapidjson::Document listed = parse(users);
  ASSERT_EQ(listed["users"].Size(), 4u);
  EXPECT_FALSE(listed["users"][0]["locked"].GetBool());
  EXPECT_EQ(call("PATCH", "users/bob", R"({"disabled":true})", admin).status, 200);
  EXPECT_EQ(call("PATCH", "users/bob", R"({"disabled":"yes"})", admin).status, 400);
  const http::HttpResponse verify = call("GET", "audit/verify", "", admin);
  ASSERT_EQ(verify.status, 200);
  EXPECT_TRUE(parse(verify)["ok"].GetBool());
  EXPECT_EQ(call("POST", "keys/rotate", R"({"reason":"yearly"})", admin).status, 200);
  EXPECT_EQ(call("POST", "config/reload", R"({"reason":"fix"})", admin).status, 200);
}

TEST_F(AdminHttpHandlerTest, TooManyLoginsFromOneAddressAre429) {
  AdminSettings strict = settings_;
  strict.login_attempts_per_minute = 1;
  Result<std::unique_ptr<AdminService>> service =
      AdminService::create(strict, admin_, store_, messages_, cipher_, clock_, {});
  ASSERT_TRUE(service.ok());
  AdminHttpHandler handler(std::shared_ptr<AdminService>(std::move(service).value()));
  http::HttpRequest login;
  login.method = "POST";
  login.path = "/admin/api/login";
  login.peer = "10.9.9.9:4000";
  login.headers["content-type"] = "application/json";
  login.body = R"({"username":"victor","password":"viewer pass phrase"})";
  EXPECT_EQ(handler.handle(login).status, 200);
  const http::HttpResponse throttled = handler.handle(login);
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(header(throttled, "Retry-After"), "60");
}

TEST_F(AdminHttpHandlerTest, VerifiedClientCertificateNamesTheAccountWhenEnabled) {
  http::HttpRequest request;
  request.method = "GET";
  request.path = "/admin/api/session";
  request.peer = "10.1.2.3:5000";
  request.secure = true;
  request.client_common_name = "olga";
  EXPECT_EQ(handler_->handle(request).status, 401);  // off by default
  AdminSettings with_certs = settings_;
  with_certs.client_certificate_login = true;
  Result<std::unique_ptr<AdminService>> service =
      AdminService::create(with_certs, admin_, store_, messages_, cipher_, clock_, {});
  ASSERT_TRUE(service.ok());
  AdminHttpHandler handler(std::shared_ptr<AdminService>(std::move(service).value()));
  const http::HttpResponse session = handler.handle(request);
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_STREQ(parse(session)["role"].GetString(), "operator");
  request.path = "/admin/api/messages/" + std::to_string(event_id_) + "/payload";
  request.query = {{"reason", "ticket 9"}};
  EXPECT_EQ(handler.handle(request).status, 200);
  request.client_common_name = "mallory";  // no such account
  EXPECT_EQ(handler.handle(request).status, 401);
  EXPECT_EQ(admin_->audit().back().reason, "client certificate CN has no account");
  AdminUser olga = *admin_->findUser("olga");
  olga.disabled = true;
  ASSERT_TRUE(admin_->updateUser(olga, {}).isOk());
  request.client_common_name = "olga";
  EXPECT_EQ(handler.handle(request).status, 401);
}

TEST_F(AdminHttpHandlerTest, StoreUnavailableIs503WithRetryAfter) {
  const std::string viewer = tokenOf("victor", kViewerPassword);
  admin_->failNextWrite();
  const http::HttpResponse response = call("GET", "work", "", viewer);
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(header(response, "Retry-After"), "5");
}

}  // namespace
}  // namespace gw::admin
