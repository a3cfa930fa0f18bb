// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "adapters/outbound/email/MailTransport.h"
#include "bench/support/SmtpSink.h"
#include "tests/support/TestSupport.h"

namespace gw::bench {
namespace {

// A plain TCP SMTP client that sends raw bytes and reads whole replies (multi-line replies end
// at the line whose code is followed by a space).
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
    timeval timeout{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  }
  ~RawClient() { ::close(fd_); }

  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // The next reply, all its lines; "" when the connection closed or timed out.
  std::string reply() {
    std::string text;
    for (;;) {
      const std::size_t end = in_.find("\r\n");
      if (end == std::string::npos) {
        char chunk[4096];
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n <= 0) {
          return "";
        }
        in_.append(chunk, static_cast<std::size_t>(n));
        continue;
      }
      const std::string line = in_.substr(0, end);
      in_.erase(0, end + 2);
      text += line + "\n";
      if (line.size() < 4 || line[3] == ' ') {
        return text;
      }
    }
  }
  // The code of the next reply (0 when none came).
  int code() {
    const std::string r = reply();
    return r.size() >= 3 ? std::stoi(r.substr(0, 3)) : 0;
  }
  bool closedByPeer() {
    char byte;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string in_;
};

std::unique_ptr<SmtpSink> plainSink() {
  SmtpSinkSettings settings;
  settings.require_tls = false;
  settings.keep_messages = true;
  auto sink = SmtpSink::start(settings);
  EXPECT_TRUE(sink.ok()) << sink.status().toString();
  return sink.ok() ? std::move(sink).value() : nullptr;
}

TEST(SmtpSinkTest, AnswersAPipelinedGroupAndUnstuffsDots) {
  auto sink = plainSink();
  ASSERT_NE(sink, nullptr);
  RawClient client(sink->port());
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.code(), 220);
  // RFC 2920: the whole envelope in one write, the replies in order.
  client.send(
      "EHLO client.invalid\r\nMAIL FROM:<from@example.invalid>\r\n"
      "RCPT TO:<one@example.invalid>\r\nRCPT TO: <two@example.invalid>\r\nDATA\r\n");
  const std::string ehlo = client.reply();
  EXPECT_NE(ehlo.find("250-PIPELINING"), std::string::npos) << ehlo;
  EXPECT_EQ(client.code(), 250);
  EXPECT_EQ(client.code(), 250);
  EXPECT_EQ(client.code(), 250);
  EXPECT_EQ(client.code(), 354);
  client.send("Subject: dots\r\n\r\n..leading dot\r\n...\r\nplain\r\n.\r\n");
  EXPECT_EQ(client.code(), 250);
  client.send("QUIT\r\n");
  EXPECT_EQ(client.code(), 221);
  EXPECT_TRUE(client.closedByPeer());

  const std::vector<SinkMessage> messages = sink->messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].from, "from@example.invalid");
  EXPECT_EQ(messages[0].recipients,
            (std::vector<std::string>{"one@example.invalid", "two@example.invalid"}));
  EXPECT_EQ(messages[0].data, "Subject: dots\r\n\r\n.leading dot\r\n..\r\nplain\r\n");
  EXPECT_EQ(sink->count(), 1u);
}

TEST(SmtpSinkTest, RefusesCommandsOutOfSequence) {
  auto sink = plainSink();
  ASSERT_NE(sink, nullptr);
  RawClient client(sink->port());
  EXPECT_EQ(client.code(), 220);
  client.send("MAIL FROM:<a@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 503);  // EHLO first
  client.send("EHLO client.invalid\r\n");
  EXPECT_EQ(client.code(), 250);
  client.send("RCPT TO:<b@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 503);  // no MAIL yet
  client.send("DATA\r\n");
  EXPECT_EQ(client.code(), 503);
  client.send("MAIL FROM:a@example.invalid\r\n");
  EXPECT_EQ(client.code(), 501);  // no angle brackets
  client.send("MAIL FROM:<a@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 250);
  client.send("MAIL FROM:<a@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 503);  // nested
  client.send("DATA\r\n");
  EXPECT_EQ(client.code(), 503);  // no recipient
  client.send("RSET\r\n");
  EXPECT_EQ(client.code(), 250);
  client.send("RCPT TO:<b@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 503);  // RSET ended the transaction
  client.send("VRFY someone\r\n");
  EXPECT_EQ(client.code(), 500);
  client.send("NOOP\r\n");
  EXPECT_EQ(client.code(), 250);
  client.send("STARTTLS\r\n");
  EXPECT_EQ(client.code(), 502);  // this sink has no certificate
  EXPECT_EQ(sink->count(), 0u);
}

class TlsSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = makeTestPki(dir_.path().string());
    ASSERT_TRUE(pki.ok()) << pki.status().toString();
    pki_ = *pki;
    SmtpSinkSettings settings;
    settings.certificate = pki_.server_certificate;
    settings.private_key = pki_.server_key;
    settings.keep_messages = true;
    auto sink = SmtpSink::start(settings);
    ASSERT_TRUE(sink.ok()) << sink.status().toString();
    sink_ = std::move(sink).value();
  }

  test::TempDir dir_;
  TestPki pki_;
  std::unique_ptr<SmtpSink> sink_;
};

TEST_F(TlsSinkTest, RefusesMailBeforeStartTls) {
  RawClient client(sink_->port());
  EXPECT_EQ(client.code(), 220);
  client.send("EHLO client.invalid\r\n");
  const std::string ehlo = client.reply();
  EXPECT_NE(ehlo.find("250-STARTTLS"), std::string::npos) << ehlo;
  client.send("MAIL FROM:<a@example.invalid>\r\n");
  EXPECT_EQ(client.code(), 530);
  EXPECT_EQ(sink_->count(), 0u);
}

TEST_F(TlsSinkTest, TakesMailFromTheGatewaysClientOverVerifiedStartTlsOnOneConnection) {
  SmtpSettings settings;
  settings.host = "127.0.0.1";
  settings.port = sink_->port();
  settings.ca = pki_.ca;
  settings.pool_size = 1;
  auto transport = email::SmtpTransport::create(settings);
  ASSERT_TRUE(transport.ok()) << transport.status().toString();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0; i < 3; ++i) {
    email::OutgoingMail mail;
    mail.from = "no-reply@gateway.invalid";
    mail.to = "patient-" + std::to_string(i) + "@example.invalid";
    mail.key = "k" + std::to_string(i);
    mail.data = "Subject: test\r\n\r\n.a line that starts with a dot\r\nend\r\n";
    const Result<std::string> sent = (*transport)->send(mail, deadline);
    ASSERT_TRUE(sent.ok()) << sent.status().toString();
  }
  const std::vector<SinkMessage> messages = sink_->messages();
  ASSERT_EQ(messages.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(messages[i].from, "no-reply@gateway.invalid");
    EXPECT_EQ(messages[i].recipients,
              std::vector<std::string>{"patient-" + std::to_string(i) + "@example.invalid"});
    EXPECT_EQ(messages[i].data, "Subject: test\r\n\r\n.a line that starts with a dot\r\nend\r\n");
  }
  EXPECT_EQ(sink_->connections(), 1u);  // pooled and reused
  EXPECT_EQ((*transport)->connectionsOpened(), 1);
}

TEST_F(TlsSinkTest, StopClosesOpenConnections) {
  RawClient client(sink_->port());
  EXPECT_EQ(client.code(), 220);
  sink_->stop();
  EXPECT_TRUE(client.closedByPeer());
}

}  // namespace
}  // namespace gw::bench
