// SPDX-License-Identifier: Apache-2.0
#include <Poco/Exception.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/inbound/mllp/MllpAdapter.h"
#include "tests/support/TestSupport.h"
#include "tests/unit/adapters/inbound/mllp/FakeSink.h"
#include "tests/unit/adapters/inbound/mllp/MllpTestClient.h"

namespace gw {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::adtMessage;
using test::field;
using test::MllpTestClient;
using test::waitFor;

// Every behaviour here holds for both I/O models of a plain-TCP listener.
class MllpAdapterTest : public ::testing::TestWithParam<std::string> {
 protected:
  MllpSettings loopbackSettings() const {
    MllpSettings s;
    s.name = "adt";
    s.host = "127.0.0.1";
    s.port = 0;
    s.io_model = GetParam();
    return s;
  }

  ~MllpAdapterTest() override {
    if (adapter_) {
      adapter_->stop();
    }
  }

  void start(const MllpSettings& settings) {
    Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    adapter_ = std::move(made).value();
    const Status started = adapter_->start();
    ASSERT_TRUE(started.isOk()) << started.toString();
  }
  void start() { start(loopbackSettings()); }

  MllpStats stats() const { return dynamic_cast<const MllpAdapter&>(*adapter_).stats(); }
  std::string address() const { return adapter_->boundAddress(); }

  test::FakeSink sink_;
  InboundAdapterPtr adapter_;
};

TEST_P(MllpAdapterTest, BoundAddressHasTheActualPort) {
  start();
  const Poco::Net::SocketAddress bound(address());
  EXPECT_EQ(bound.host().toString(), "127.0.0.1");
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(adapter_->name(), "adt");
}

TEST_P(MllpAdapterTest, AnswersAaAfterSinkCommitsWithEventFields) {
  start();
  MllpTestClient client(address());
  const std::string message = adtMessage("MSG00001");
  ASSERT_TRUE(client.sendFrame(message));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AA");
  EXPECT_EQ(field(*ack, "MSA", 2), "MSG00001");
  const std::string ack_control_id = field(*ack, "MSH", 10);
  EXPECT_FALSE(ack_control_id.empty());
  EXPECT_LE(ack_control_id.size(), 20U);
  EXPECT_EQ(field(*ack, "MSH", 9), "ACK^A01^ACK");

  const std::vector<InboundEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 1U);
  const InboundEvent& e = events[0];
  EXPECT_EQ(e.source, EventSource::Hl7v2);
  EXPECT_EQ(e.listener, "adt");
  EXPECT_EQ(e.peer, client.localAddress());
  EXPECT_EQ(e.sending_application, "EPIC");
  EXPECT_EQ(e.sending_facility, "HOSP");
  EXPECT_EQ(e.control_id, "MSG00001");
  EXPECT_EQ(e.message_type, "ADT^A01");
  EXPECT_EQ(e.version, "2.5.1");
  EXPECT_EQ(e.payload, message);

  // The sink got the commit deadline: now + commit_timeout_ms (5000 by default).
  ASSERT_TRUE(sink_.lastDeadline().has_value());
  const auto budget = *sink_.lastDeadline() - *sink_.lastCallTime();
  EXPECT_GT(budget, milliseconds(4000));
  EXPECT_LE(budget, milliseconds(5000));

  // ACKs are counted once written, which may be just after the client read them.
  EXPECT_TRUE(waitFor([&] { return stats().acks_aa == 1; }, seconds(5)));
  EXPECT_EQ(stats().frames, 1U);
  EXPECT_EQ(stats().connections_accepted, 1U);
}

TEST_P(MllpAdapterTest, AckControlIdsAreFresh) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("A1")));
  ASSERT_TRUE(client.sendFrame(adtMessage("A2")));
  const std::optional<std::string> first = client.readFrame();
  const std::optional<std::string> second = client.readFrame();
  ASSERT_TRUE(first && second);
  EXPECT_NE(field(*first, "MSH", 10), field(*second, "MSH", 10));
  EXPECT_NE(field(*first, "MSH", 10), "A1");
}

TEST_P(MllpAdapterTest, AnswersAeWithErrWhenControlIdIsMissing) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AE");
  const std::string err3 = field(*ack, "ERR", 3);
  EXPECT_EQ(err3.substr(0, 4), "101^") << *ack;
  EXPECT_EQ(sink_.calls(), 0U);
  EXPECT_EQ(stats().parse_errors, 1U);
  EXPECT_TRUE(waitFor([&] { return stats().acks_ae == 1; }, seconds(5)));

  // The connection stays open for the next message.
  ASSERT_TRUE(client.sendFrame(adtMessage("NEXT")));
  const std::optional<std::string> next = client.readFrame();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(field(*next, "MSA", 1), "AA");
}

TEST_P(MllpAdapterTest, AnswersBestEffortAeWhenThereIsNoMsh) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame("this is not HL7"));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AE");
  EXPECT_EQ(field(*ack, "MSA", 2), "");
  EXPECT_FALSE(field(*ack, "ERR", 3).empty());
}

TEST_P(MllpAdapterTest, EmptyFrameGetsAeAndConnectionStaysOpen) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw("\x0B\x1C\x0D"));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AE");
  ASSERT_TRUE(client.sendFrame(adtMessage("AFTER")));
  const std::optional<std::string> next = client.readFrame();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(field(*next, "MSA", 1), "AA");
}

TEST_P(MllpAdapterTest, AnswersArAndNeverAaWhenSinkIsUnavailable) {
  start();
  sink_.failWith(StatusCode::Unavailable);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("DOWN1")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AR");
  EXPECT_EQ(field(*ack, "MSA", 2), "DOWN1");
  EXPECT_EQ(field(*ack, "ERR", 3).substr(0, 4), "207^");
  EXPECT_EQ(sink_.calls(), 1U);
  EXPECT_TRUE(waitFor([&] { return stats().acks_ar == 1; }, seconds(5)));
  EXPECT_EQ(stats().acks_aa, 0U);
}

TEST_P(MllpAdapterTest, AnswersAeWhenSinkRejectsTheContent) {
  start();
  sink_.failWith(StatusCode::InvalidArgument);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("BAD1")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AE");
}

TEST_P(MllpAdapterTest, AnswersArForSendingFacilityNotAllowed) {
  MllpSettings settings = loopbackSettings();
  settings.allowed_sending_facilities = {"HOSP", "CLINIC"};
  start(settings);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("F1", "ELSEWHERE")));
  const std::optional<std::string> rejected = client.readFrame();
  ASSERT_TRUE(rejected.has_value());
  EXPECT_EQ(field(*rejected, "MSA", 1), "AR");
  EXPECT_EQ(field(*rejected, "MSA", 2), "F1");
  EXPECT_EQ(field(*rejected, "MSA", 3), "sending facility not allowed");
  EXPECT_EQ(sink_.calls(), 0U);
  EXPECT_EQ(stats().facility_rejections, 1U);

  // MSH-4.1 is compared, so an HD with a universal id is allowed.
  ASSERT_TRUE(client.sendFrame(adtMessage("F2", "CLINIC^1.2.3.4^ISO")));
  const std::optional<std::string> allowed = client.readFrame();
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(field(*allowed, "MSA", 1), "AA");
  ASSERT_EQ(sink_.events().size(), 1U);
  EXPECT_EQ(sink_.events()[0].sending_facility, "CLINIC^1.2.3.4^ISO");
}

TEST_P(MllpAdapterTest, OversizedFrameGetsArWithControlIdThenClose) {
  MllpSettings settings = loopbackSettings();
  settings.max_frame_bytes = 1024;
  start(settings);
  MllpTestClient client(address());
  const std::string big = adtMessage("BIG1") + "NTE|1||" + std::string(5000, 'x') + "\r";
  ASSERT_TRUE(client.sendFrame(big));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AR");
  EXPECT_EQ(field(*ack, "MSA", 2), "BIG1");
  EXPECT_NE(field(*ack, "MSA", 3).find("max_frame_bytes"), std::string::npos);
  EXPECT_TRUE(client.waitClosed());
  EXPECT_EQ(sink_.calls(), 0U);
  EXPECT_EQ(stats().oversized_frames, 1U);
}

TEST_P(MllpAdapterTest, IdleTimeoutClosesTheConnection) {
  MllpSettings settings = loopbackSettings();
  settings.idle_timeout_seconds = 1;
  start(settings);
  MllpTestClient client(address());
  EXPECT_TRUE(client.waitClosed(seconds(10)));
  EXPECT_TRUE(waitFor([&] { return stats().idle_timeouts == 1; }, seconds(5)));
}

TEST_P(MllpAdapterTest, GarbageDoesNotKeepAConnectionAlive) {
  MllpSettings settings = loopbackSettings();
  settings.idle_timeout_seconds = 1;
  start(settings);
  MllpTestClient client(address());
  // Bytes outside frames are not activity: the idle timer keeps running.
  const auto until = std::chrono::steady_clock::now() + seconds(10);
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < until) {
    closed = !client.sendRaw("noise") || client.waitClosed(milliseconds(200));
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(stats().bytes_skipped, 5U);
}

TEST_P(MllpAdapterTest, PartialFrameTimeoutClosesTheConnection) {
  MllpSettings settings = loopbackSettings();
  settings.partial_frame_timeout_seconds = 1;
  start(settings);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw("\x0B" + adtMessage("SLOW1").substr(0, 30)));
  EXPECT_TRUE(client.waitClosed(seconds(10)));
  EXPECT_FALSE(client.readFrame(milliseconds(1)).has_value());
  EXPECT_TRUE(waitFor([&] { return stats().partial_frame_timeouts == 1; }, seconds(5)));
  EXPECT_EQ(sink_.calls(), 0U);
}

TEST_P(MllpAdapterTest, TricklingSenderIsClosedAtThePartialFrameTimeout) {
  MllpSettings settings = loopbackSettings();
  settings.partial_frame_timeout_seconds = 1;
  start(settings);
  MllpTestClient client(address());
  const std::string message = "\x0B" + adtMessage("SLOW2");
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  for (std::size_t i = 0; i < message.size() && !closed; ++i) {
    closed = !client.sendRaw(message.substr(i, 1)) || client.waitClosed(milliseconds(100));
  }
  EXPECT_TRUE(closed || client.waitClosed(seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5));
  EXPECT_EQ(sink_.calls(), 0U);
}

TEST_P(MllpAdapterTest, GarbageBeforeFrameIsSkippedAndCounted) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw("garbage\r\n\x0B" + adtMessage("G1") + "\x1C\x0D"));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AA");
  EXPECT_EQ(field(*ack, "MSA", 2), "G1");
  EXPECT_EQ(stats().bytes_skipped, 9U);
}

TEST_P(MllpAdapterTest, FrameWithoutTrailingCarriageReturnIsAnswered) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw("\x0B" + adtMessage("NOCR") + "\x1C"));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AA");
}

TEST_P(MllpAdapterTest, PipelinedFramesAreAnsweredInOrder) {
  start();
  MllpTestClient client(address());
  std::string bytes;
  for (const char* id : {"P1", "P2", "P3"}) {
    bytes += "\x0B" + adtMessage(id) + "\x1C\x0D";
  }
  ASSERT_TRUE(client.sendRaw(bytes));
  for (const char* id : {"P1", "P2", "P3"}) {
    const std::optional<std::string> ack = client.readFrame();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(field(*ack, "MSA", 1), "AA");
    EXPECT_EQ(field(*ack, "MSA", 2), id);
  }
  const std::vector<InboundEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].control_id, "P1");
  EXPECT_EQ(events[2].control_id, "P3");
}

TEST_P(MllpAdapterTest, EnhancedModeAnswersCaForAlAndNothingForNe) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("NE1", "HOSP", "NE")));
  ASSERT_TRUE(client.sendFrame(adtMessage("AL1", "HOSP", "AL")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "CA");
  EXPECT_EQ(field(*ack, "MSA", 2), "AL1");  // nothing was sent for NE1
  EXPECT_EQ(sink_.events().size(), 2U);
  EXPECT_EQ(stats().acks_suppressed, 1U);
  EXPECT_TRUE(waitFor([&] { return stats().acks_ca == 1; }, seconds(5)));
}

TEST_P(MllpAdapterTest, EnhancedModeErrorGetsCr) {
  start();
  sink_.failWith(StatusCode::Unavailable);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("ER1", "HOSP", "ER")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "CR");
}

TEST_P(MllpAdapterTest, SinkThatThrowsIsAnsweredArAndServingContinues) {
  start();
  sink_.throwOnAccept(true);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("BOOM1")));
  const std::optional<std::string> ack = client.readFrame();
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AR");
  EXPECT_EQ(field(*ack, "MSA", 2), "BOOM1");
  EXPECT_EQ(stats().internal_errors, 1U);

  sink_.throwOnAccept(false);
  ASSERT_TRUE(client.sendFrame(adtMessage("OK1")));
  const std::optional<std::string> next = client.readFrame();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(field(*next, "MSA", 1), "AA");
}

TEST_P(MllpAdapterTest, ConnectionsBeyondMaxConnectionsAreRefused) {
  MllpSettings settings = loopbackSettings();
  settings.max_connections = 1;
  start(settings);
  auto first = std::make_unique<MllpTestClient>(address());
  ASSERT_TRUE(first->sendFrame(adtMessage("C1")));
  ASSERT_TRUE(first->readFrame().has_value());  // being served

  MllpTestClient second(address());
  second.sendFrame(adtMessage("C2"));
  EXPECT_TRUE(second.waitClosed());
  EXPECT_FALSE(second.readFrame(milliseconds(1)).has_value());
  EXPECT_EQ(stats().connections_refused, 1U);

  // Once the first leaves, its slot is free again.
  first.reset();
  EXPECT_TRUE(waitFor(
      [&] {
        MllpTestClient third(address());
        return third.sendFrame(adtMessage("C3")) && third.readFrame(milliseconds(500)).has_value();
      },
      seconds(10)));
}

TEST_P(MllpAdapterTest, BurstOfConnectionsNeverExceedsMaxConnections) {
  MllpSettings settings = loopbackSettings();
  settings.max_connections = 2;
  start(settings);
  constexpr int kClients = 10;
  std::vector<std::unique_ptr<MllpTestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<MllpTestClient>(address()));
  }
  for (int i = 0; i < kClients; ++i) {
    clients[i]->sendFrame(adtMessage("B" + std::to_string(i)));
  }
  int answered = 0;
  for (auto& client : clients) {
    // Served connections stay open, so no slot frees up while we count.
    if (client->readFrame(std::chrono::seconds(3)).has_value()) {
      ++answered;
    } else {
      EXPECT_TRUE(client->waitClosed());
    }
  }
  EXPECT_EQ(answered, 2);
  EXPECT_TRUE(waitFor(
      [&] { return stats().connections_accepted + stats().connections_refused == kClients; },
      seconds(10)));
  EXPECT_EQ(stats().connections_accepted, 2U);
}

TEST_P(MllpAdapterTest, StopWaitsForTheFrameInFlightAndItsAck) {
  start();
  sink_.block();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("INFLIGHT")));
  ASSERT_TRUE(waitFor([&] { return sink_.calls() == 1; }, seconds(10)));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    adapter_->stop();
    stopped = true;
  });
  // Once stop() has closed the listening socket, new connections are refused...
  const std::string bound = address();
  EXPECT_TRUE(waitFor(
      [&] {
        try {
          MllpTestClient probe(bound);
          return false;
        } catch (const Poco::Exception&) {
          return true;
        }
      },
      seconds(10)));
  // ...but stop() still waits for the message being committed.
  EXPECT_FALSE(stopped.load());
  sink_.release();
  const std::optional<std::string> ack = client.readFrame();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AA");
  EXPECT_EQ(field(*ack, "MSA", 2), "INFLIGHT");
  EXPECT_TRUE(client.waitClosed());
}

TEST_P(MllpAdapterTest, StopClosesIdleConnectionsPromptly) {
  start();
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("S1")));
  ASSERT_TRUE(client.readFrame().has_value());
  const auto before = std::chrono::steady_clock::now();
  adapter_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(5));
  EXPECT_TRUE(client.waitClosed());
  adapter_->stop();  // idempotent
}

TEST_P(MllpAdapterTest, StartFailsWithUnavailableWhenThePortIsTaken) {
  Poco::Net::ServerSocket taken(Poco::Net::SocketAddress("127.0.0.1", 0));
  MllpSettings settings = loopbackSettings();
  settings.port = taken.address().port();
  Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
  ASSERT_TRUE(made.ok());
  const Status started = (*made)->start();
  EXPECT_EQ(started.code(), StatusCode::Unavailable);
  EXPECT_NE(started.message().find("127.0.0.1:" + std::to_string(settings.port)), std::string::npos)
      << started.message();
}

TEST_P(MllpAdapterTest, StartTwiceIsAnError) {
  start();
  EXPECT_EQ(adapter_->start().code(), StatusCode::Internal);
}

TEST_P(MllpAdapterTest, FactoryRejectsInvalidSettingsWithoutBinding) {
  MllpSettings settings = loopbackSettings();
  settings.name = "";
  EXPECT_EQ(makeMllpAdapter(settings, sink_).status().code(), StatusCode::InvalidArgument);
  settings = loopbackSettings();
  settings.max_frame_bytes = 10;
  EXPECT_EQ(makeMllpAdapter(settings, sink_).status().code(), StatusCode::InvalidArgument);
  settings = loopbackSettings();
  settings.tls.enabled = true;
  const Result<InboundAdapterPtr> no_certificate = makeMllpAdapter(settings, sink_);
  EXPECT_EQ(no_certificate.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(no_certificate.status().message().find("tls.certificate"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(IoModel, MllpAdapterTest, ::testing::Values("reactor", "threads"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace gw
