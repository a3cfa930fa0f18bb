// SPDX-License-Identifier: Apache-2.0
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <stdexcept>

#include "gateway/http/HttpServer.h"

namespace gw::http {
namespace {

// Answers with its name and what it saw.
class EchoHandler final : public HttpHandler {
 public:
  explicit EchoHandler(std::string name) : name_(std::move(name)) {}
  HttpResponse handle(const HttpRequest& request) override {
    if (request.path.find("/throw") != std::string::npos) {
      throw std::runtime_error("handler bug");
    }
    calls.fetch_add(1);
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/plain";
    r.body = name_ + " " + request.method + " " + request.path + " " +
             std::to_string(request.body.size()) + " " +
             (request.queryParam("q") ? *request.queryParam("q") : "-") + " " +
             std::string(request.header("x-test"));
    return r;
  }
  HttpResponse reject(int status, std::string_view reason, const HttpRequest&) override {
    HttpResponse r = plainText(status, name_ + " refused: " + std::string(reason));
    return r;
  }
  std::atomic<int> calls{0};

 private:
  std::string name_;
};

struct Reply {
  int status = 0;
  std::string body;
};

Reply request(const std::string& address, const std::string& method, const std::string& uri,
              const std::string& body = "", bool chunked = false) {
  const std::size_t colon = address.rfind(':');
  Poco::Net::HTTPClientSession session(
      address.substr(0, colon), static_cast<Poco::UInt16>(std::stoi(address.substr(colon + 1))));
  session.setTimeout(Poco::Timespan(10, 0));
  Poco::Net::HTTPRequest req(method, uri, Poco::Net::HTTPMessage::HTTP_1_1);
  req.set("X-Test", "yes");
  if (chunked) {
    req.setChunkedTransferEncoding(true);
  } else if (!body.empty() || method == "POST") {
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  std::ostream& out = session.sendRequest(req);
  out << body;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Reply reply;
  reply.status = static_cast<int>(response.getStatus());
  std::ostringstream text;
  Poco::StreamCopier::copyStream(in, text);
  reply.body = text.str();
  return reply;
}

HttpServerSettings loopback() {
  HttpServerSettings s;
  s.host = "127.0.0.1";
  s.port = 0;
  s.allow_plain_http = true;
  s.max_request_bytes = 4096;
  s.keep_alive_timeout_seconds = 1;
  return s;
}

TEST(HttpServerTest, RoutesByTheLongestPathPrefix) {
  EchoHandler fhir("fhir"), admin("admin"), root_admin("admin-api");
  Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", loopback());
  ASSERT_TRUE(server.ok()) << server.status().toString();
  (*server)->mount("/fhir/", fhir);
  (*server)->mount("/admin", admin);
  (*server)->mount("/admin/api", root_admin);
  ASSERT_TRUE((*server)->start().isOk());
  const std::string at = (*server)->boundAddress();
  EXPECT_EQ(request(at, "GET", "/fhir/metadata?q=a%20b").body, "fhir GET /fhir/metadata 0 a b yes");
  EXPECT_EQ(request(at, "GET", "/fhir").body, "fhir GET /fhir 0 - yes");
  EXPECT_EQ(request(at, "POST", "/admin/api/x", "body").body,
            "admin-api POST /admin/api/x 4 - yes");
  EXPECT_EQ(request(at, "GET", "/admin/apix").body, "admin GET /admin/apix 0 - yes");
  const Reply none = request(at, "GET", "/fhirx");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(request(at, "GET", "/%61dmin/x").body, "admin GET /admin/x 0 - yes");  // decoded
  (*server)->stop();
  EXPECT_GE((*server)->stats().requests, 5U);
}

TEST(HttpServerTest, RefusesBodiesOverTheLimitThroughTheHandler) {
  EchoHandler fhir("fhir");
  Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", loopback());
  ASSERT_TRUE(server.ok());
  (*server)->mount("/fhir", fhir);
  ASSERT_TRUE((*server)->start().isOk());
  const std::string at = (*server)->boundAddress();
  EXPECT_EQ(request(at, "POST", "/fhir/x", std::string(4096, 'a')).status, 200);
  const Reply declared = request(at, "POST", "/fhir/x", std::string(5000, 'a'));
  EXPECT_EQ(declared.status, 413);
  EXPECT_EQ(declared.body.rfind("fhir refused: request body is larger than the limit", 0), 0U);
  const Reply chunked = request(at, "POST", "/fhir/x", std::string(5000, 'a'), true);
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(request(at, "POST", "/fhir/x", std::string(100, 'a'), true).status, 200);
  EXPECT_EQ(fhir.calls.load(), 2);
  (*server)->stop();
}

TEST(HttpServerTest, ABodyShorterThanItsContentLengthIsAnswered400) {
  EchoHandler fhir("fhir");
  Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", loopback());
  ASSERT_TRUE(server.ok());
  (*server)->mount("/fhir", fhir);
  ASSERT_TRUE((*server)->start().isOk());
  Poco::Net::StreamSocket socket(Poco::Net::SocketAddress((*server)->boundAddress()));
  socket.setReceiveTimeout(Poco::Timespan(10, 0));
  const std::string raw = "POST /fhir/x HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc";
  socket.sendBytes(raw.data(), static_cast<int>(raw.size()));
  socket.shutdownSend();  // the body ends before Content-Length
  char buffer[512] = {0};
  const int got = socket.receiveBytes(buffer, sizeof(buffer) - 1);
  ASSERT_GT(got, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(got)).rfind("HTTP/1.1 400", 0), 0U)
      << buffer;
  EXPECT_EQ(fhir.calls.load(), 0) << buffer;
  (*server)->stop();
}

TEST(HttpServerTest, AnExceptionInAHandlerIsAnswered500) {
  EchoHandler fhir("fhir");
  Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", loopback());
  ASSERT_TRUE(server.ok());
  (*server)->mount("/fhir", fhir);
  ASSERT_TRUE((*server)->start().isOk());
  const Reply bug = request((*server)->boundAddress(), "GET", "/fhir/throw");
  EXPECT_EQ(bug.status, 500);
  EXPECT_EQ(bug.body, "fhir refused: internal error\n");
  (*server)->stop();
}

TEST(HttpServerTest, PlainHttpOnlyOnLoopbackWhenAllowed) {
  HttpServerSettings s = loopback();
  s.host = "0.0.0.0";
  EXPECT_EQ(HttpServer::create("test", s).status().code(), StatusCode::InvalidArgument);
  s = loopback();
  s.allow_plain_http = false;
  EXPECT_EQ(HttpServer::create("test", s).status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(isLoopbackHost("127.8.0.1"));
  EXPECT_TRUE(isLoopbackHost("::1"));
  EXPECT_TRUE(isLoopbackHost("localhost"));
  EXPECT_FALSE(isLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(isLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("example.invalid"));
}

TEST(HttpServerTest, TlsFilesAreCheckedAtCreate) {
  HttpServerSettings s = loopback();
  s.tls.enabled = true;
  s.tls.certificate = "/nonexistent/server.pem";
  s.tls.private_key = "/nonexistent/server.key";
  const Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", s);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("tls.certificate"), std::string::npos);
}

TEST(HttpServerTest, StopLetsTheServerBeStoppedTwiceAndAnswersNothingAfter) {
  EchoHandler fhir("fhir");
  Result<std::unique_ptr<HttpServer>> server = HttpServer::create("test", loopback());
  ASSERT_TRUE(server.ok());
  (*server)->mount("/fhir", fhir);
  ASSERT_TRUE((*server)->start().isOk());
  const std::string at = (*server)->boundAddress();
  EXPECT_EQ(request(at, "GET", "/fhir").status, 200);
  (*server)->stop();
  (*server)->stop();
  EXPECT_ANY_THROW(request(at, "GET", "/fhir"));
}

}  // namespace
}  // namespace gw::http
