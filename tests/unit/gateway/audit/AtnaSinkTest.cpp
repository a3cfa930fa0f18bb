// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <regex>

#include "gateway/audit/AtnaSink.h"
#include "tests/support/InMemoryStore.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// What the fake collector saw, shared with the test after the transport moved into the sink.
struct Wire {
  bool up = true;       // connect() succeeds
  bool healthy = true;  // healthy() answer while connected
  int fail_sends = 0;   // the next N send() calls fail
  int connect_attempts = 0;
  bool connected = false;
  std::string bytes;  // everything written, in order
};

class FakeTransport final : public AtnaTransport {
 public:
  explicit FakeTransport(std::shared_ptr<Wire> wire) : wire_(std::move(wire)) {}
  Status connect() override {
    ++wire_->connect_attempts;
    wire_->connected = wire_->up;
    return wire_->up ? Status::ok() : Status::unavailable("connection refused");
  }
  Status send(std::string_view bytes) override {
    if (!wire_->connected) {
      return Status::unavailable("not connected");
    }
    if (wire_->fail_sends > 0) {
      --wire_->fail_sends;
      wire_->connected = false;
      return Status::unavailable("broken pipe");
    }
    wire_->bytes.append(bytes);
    return Status::ok();
  }
  bool healthy() override { return wire_->connected && wire_->healthy; }
  void close() override { wire_->connected = false; }
  bool isConnected() const override { return wire_->connected; }
  std::string peer() const override { return "collector.example.invalid:6514"; }

 private:
  std::shared_ptr<Wire> wire_;
};

// Splits RFC 5425 octet-counted frames and returns each message's audit_seq detail.
std::vector<std::int64_t> seqsOnTheWire(const std::string& bytes) {
  std::vector<std::int64_t> out;
  std::size_t at = 0;
  const std::regex seq_detail(R"re(type="audit_seq" value="([A-Za-z0-9+/=]+)")re");
  while (at < bytes.size()) {
    const std::size_t space = bytes.find(' ', at);
    EXPECT_NE(space, std::string::npos);
    if (space == std::string::npos) {
      break;
    }
    const std::size_t length = std::stoul(bytes.substr(at, space - at));
    EXPECT_LE(space + 1 + length, bytes.size());
    const std::string message = bytes.substr(space + 1, length);
    EXPECT_EQ(message.substr(0, 6), "<85>1 ");
    std::smatch m;
    EXPECT_TRUE(std::regex_search(message, m, seq_detail)) << message;
    if (!m.empty()) {
      const std::string b64 = m[1];
      std::string decoded(b64.size(), '\0');
      const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()),
                                    reinterpret_cast<const unsigned char*>(b64.data()),
                                    static_cast<int>(b64.size()));
      decoded.resize(static_cast<std::size_t>(n));
      out.push_back(std::stoll(decoded.c_str()));
    }
    at = space + 1 + length;
  }
  return out;
}

class AtnaSinkTest : public ::testing::Test {
 protected:
  AtnaSinkTest()
      : store_(std::make_shared<test::InMemoryStore>()), wire_(std::make_shared<Wire>()) {
    settings_.enabled = true;
    settings_.host = "collector.example.invalid";
    settings_.cursor_file = (dir_.path() / "atna" / "atna.cursor").string();
    settings_.hostname = "gw1.example.invalid";
    settings_.reconnect_min_ms = 0;
    settings_.reconnect_max_ms = 0;
  }

  std::unique_ptr<AtnaSink> sink() {
    Result<std::unique_ptr<AtnaSink>> s =
        AtnaSink::create(store_, settings_, std::make_unique<FakeTransport>(wire_));
    EXPECT_TRUE(s.ok()) << s.status().toString();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  void append(int count) {
    for (int i = 0; i < count; ++i) {
      AuditEntry e;
      e.actor = "listener:adt";
      e.action = "received";
      e.object = "inbound_event:" + std::to_string(++objects_);
      e.outcome = "ok";
      e.source = "127.0.0.1:5000";
      ASSERT_TRUE(store_->appendAudit(e).ok());
    }
  }

  std::int64_t cursorOnDisk() { return AtnaSink::readCursor(settings_.cursor_file).value(); }

  test::TempDir dir_;
  std::shared_ptr<test::InMemoryStore> store_;
  std::shared_ptr<Wire> wire_;
  AtnaSettings settings_;
  int objects_ = 0;
};

TEST_F(AtnaSinkTest, SendsEveryRecordInOrderAndPersistsTheCursorOnceConfirmed) {
  append(5);
  auto s = sink();
  EXPECT_FALSE(s->pumpOnce());
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(cursorOnDisk(), 0);  // written, not yet confirmed
  EXPECT_EQ(s->stats().sent_seq, 5);
  EXPECT_FALSE(s->pumpOnce());  // the connection is still healthy: confirmed
  EXPECT_EQ(cursorOnDisk(), 5);
  const AtnaSinkStats stats = s->stats();
  EXPECT_EQ(stats.cursor, 5);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.records_sent, 5u);
  EXPECT_EQ(stats.connects, 1u);
  EXPECT_TRUE(stats.connected);
  struct stat st {};
  ASSERT_EQ(::stat(settings_.cursor_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  append(2);
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5, 6, 7));
}

TEST_F(AtnaSinkTest, BatchesAreLimitedAndTheLoopIsToldToContinue) {
  settings_.max_batch = 2;
  append(5);
  auto s = sink();
  EXPECT_TRUE(s->pumpOnce());
  EXPECT_TRUE(s->pumpOnce());
  EXPECT_FALSE(s->pumpOnce());
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5));
  s->pumpOnce();
  EXPECT_EQ(cursorOnDisk(), 5);
}

TEST_F(AtnaSinkTest, RestartResumesAfterThePersistedCursor) {
  append(3);
  {
    auto s = sink();
    s->pumpOnce();
    s->pumpOnce();
  }
  EXPECT_EQ(cursorOnDisk(), 3);
  wire_->bytes.clear();
  append(2);
  auto s = sink();
  EXPECT_EQ(s->stats().cursor, 3);
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(4, 5));
}

TEST_F(AtnaSinkTest, RecordsAccumulateWhileTheCollectorIsDownAndAllArriveLater) {
  wire_->up = false;
  auto s = sink();
  append(4);
  EXPECT_FALSE(s->pumpOnce());
  append(3);
  EXPECT_FALSE(s->pumpOnce());
  AtnaSinkStats stats = s->stats();
  EXPECT_EQ(stats.pending, 7);
  EXPECT_EQ(stats.connect_failures, 2u);
  EXPECT_FALSE(stats.connected);
  EXPECT_EQ(stats.last_error, "connection refused");
  EXPECT_TRUE(wire_->bytes.empty());

  wire_->up = true;
  s->pumpOnce();
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_EQ(s->stats().pending, 0);
  EXPECT_EQ(cursorOnDisk(), 7);
}

TEST_F(AtnaSinkTest, ADeadConnectionIsDetectedAndWhatItTookIsResent) {
  append(3);
  auto s = sink();
  s->pumpOnce();
  s->pumpOnce();  // 1..3 confirmed
  append(2);
  s->pumpOnce();           // 4, 5 written ...
  wire_->healthy = false;  // ... then the collector reset the connection
  s->pumpOnce();
  EXPECT_EQ(s->stats().send_failures, 1u);
  EXPECT_EQ(cursorOnDisk(), 3);
  wire_->healthy = true;
  s->pumpOnce();  // reconnect and resend after the cursor: at least once
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5, 4, 5));
  EXPECT_EQ(s->stats().resends, 2u);
  EXPECT_EQ(cursorOnDisk(), 5);
}

TEST_F(AtnaSinkTest, AFailedWriteReconnectsAndResendsInOrder) {
  append(4);
  auto s = sink();
  wire_->fail_sends = 1;
  EXPECT_FALSE(s->pumpOnce());
  EXPECT_TRUE(wire_->bytes.empty());
  EXPECT_FALSE(s->stats().connected);
  EXPECT_EQ(s->stats().last_error, "broken pipe");
  s->pumpOnce();
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(wire_->connect_attempts, 2);
}

TEST_F(AtnaSinkTest, ReconnectsBackOff) {
  settings_.reconnect_min_ms = 60000;
  settings_.reconnect_max_ms = 600000;
  wire_->up = false;
  auto s = sink();
  s->pumpOnce();
  s->pumpOnce();
  s->pumpOnce();
  EXPECT_EQ(wire_->connect_attempts, 1);  // the next attempt is a minute away
  EXPECT_EQ(s->stats().connect_failures, 1u);
}

TEST_F(AtnaSinkTest, CursorFileProblemsAreClearErrors) {
  std::filesystem::create_directories(std::filesystem::path(settings_.cursor_file).parent_path());
  test::writeFile(settings_.cursor_file, "# c\n12x\n");
  ::chmod(settings_.cursor_file.c_str(), 0600);
  Result<std::unique_ptr<AtnaSink>> bad =
      AtnaSink::create(store_, settings_, std::make_unique<FakeTransport>(wire_));
  EXPECT_EQ(bad.status().code(), StatusCode::InvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("is malformed"));

  test::writeFile(settings_.cursor_file, "12\n");
  ::chmod(settings_.cursor_file.c_str(), 0644);
  EXPECT_EQ(
      AtnaSink::create(store_, settings_, std::make_unique<FakeTransport>(wire_)).status().code(),
      StatusCode::PermissionDenied);
  ::chmod(settings_.cursor_file.c_str(), 0600);
  EXPECT_EQ(AtnaSink::readCursor(settings_.cursor_file).value(), 12);
}

TEST_F(AtnaSinkTest, ACursorPastTheEndOfTheStoreStartsOver) {
  append(3);
  std::filesystem::create_directories(std::filesystem::path(settings_.cursor_file).parent_path());
  test::writeFile(settings_.cursor_file, "# another database\n500\n");
  ::chmod(settings_.cursor_file.c_str(), 0600);
  auto s = sink();
  EXPECT_EQ(s->stats().cursor, 0);
  s->pumpOnce();
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3));

  test::writeFile(settings_.cursor_file, "2\n");  // within the store: resumed as written
  EXPECT_EQ(sink()->stats().cursor, 2);
}

TEST_F(AtnaSinkTest, SettingsAreChecked) {
  AtnaSettings s = settings_;
  EXPECT_TRUE(checkAtnaSettings(s).isOk());
  s.host = "";
  EXPECT_THAT(checkAtnaSettings(s).message(), HasSubstr("audit.atna.host"));
  s = settings_;
  s.port = 70000;
  EXPECT_THAT(checkAtnaSettings(s).message(), HasSubstr("audit.atna.port"));
  s = settings_;
  s.certificate_file = "client.pem";
  EXPECT_THAT(checkAtnaSettings(s).message(), HasSubstr("go together"));
  s = settings_;
  s.app_name = "ehr gateway";
  EXPECT_THAT(checkAtnaSettings(s).message(), HasSubstr("audit.atna.app_name"));
  s = settings_;
  s.host = "";
  s.port = 0;
  s.reconnect_min_ms = 10;
  s.reconnect_max_ms = 5;
  EXPECT_EQ(atnaSettingsErrors(s).size(), 3u);  // every problem, not only the first
  s = settings_;
  s.ca_file = (dir_.path() / "missing-ca.pem").string();
  EXPECT_EQ(makeTlsSyslogTransport(s).status().code(), StatusCode::InvalidArgument);
}

TEST_F(AtnaSinkTest, TheThreadSendsAndStopConfirms) {
  settings_.poll_interval_ms = 5;
  append(3);
  auto s = sink();
  s->start();
  EXPECT_TRUE(test::waitFor([&] { return s->stats().sent_seq == 3; }, std::chrono::seconds(10)));
  append(2);
  EXPECT_TRUE(test::waitFor([&] { return s->stats().sent_seq == 5; }, std::chrono::seconds(10)));
  s->stop();
  EXPECT_EQ(cursorOnDisk(), 5);
  EXPECT_FALSE(wire_->connected);
  EXPECT_THAT(seqsOnTheWire(wire_->bytes), ElementsAre(1, 2, 3, 4, 5));
}

}  // namespace
}  // namespace gw
