// SPDX-License-Identifier: Apache-2.0
// The epoll reactor (io_model "reactor", the default for plain TCP) through MllpAdapter: what it
// does beyond the behaviours every I/O model shares (those are in MllpAdapterTest).
#include <Poco/Exception.h>
#include <gtest/gtest.h>

#include <algorithm>
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

std::string framed(const std::string& payload) {
  return "\x0B" + payload + "\x1C\x0D";
}

class MllpReactorTest : public ::testing::Test {
 protected:
  ~MllpReactorTest() override {
    sink_.release();
    sink_.holdResults(false);
    while (sink_.heldBatches() > 0) {
      sink_.completeHeld();
    }
    if (adapter_) {
      adapter_->stop();
    }
  }

  void start(MllpSettings settings = {}) {
    settings.name = "adt";
    settings.host = "127.0.0.1";
    settings.port = 0;
    settings.io_model = "reactor";
    Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    adapter_ = std::move(made).value();
    const Status started = adapter_->start();
    ASSERT_TRUE(started.isOk()) << started.toString();
  }

  MllpStats stats() const { return dynamic_cast<const MllpAdapter&>(*adapter_).stats(); }
  std::string address() const { return adapter_->boundAddress(); }

  // Reads one ACK and checks its code and MSA-2.
  static void expectAck(MllpTestClient& client, const std::string& code,
                        const std::string& control_id) {
    const std::optional<std::string> ack = client.readFrame();
    ASSERT_TRUE(ack.has_value()) << "no ACK for " << control_id;
    EXPECT_EQ(field(*ack, "MSA", 1), code) << *ack;
    EXPECT_EQ(field(*ack, "MSA", 2), control_id);
  }

  test::FakeSink sink_;
  InboundAdapterPtr adapter_;
};

TEST_F(MllpReactorTest, FramesOfManyConnectionsGoToTheSinkAsOneBatch) {
  start();
  constexpr int kClients = 8;
  std::vector<std::unique_ptr<MllpTestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<MllpTestClient>(address()));
  }
  ASSERT_TRUE(waitFor([&] { return stats().connections_accepted == kClients; }, seconds(10)));
  // The first frame's batch holds the I/O thread inside the sink while the others arrive, so
  // the next round finds all of them ready at once.
  sink_.block();
  ASSERT_TRUE(clients[0]->sendFrame(adtMessage("FIRST")));
  ASSERT_TRUE(waitFor([&] { return sink_.calls() == 1; }, seconds(10)));
  for (int i = 1; i < kClients; ++i) {
    ASSERT_TRUE(clients[i]->sendFrame(adtMessage("C" + std::to_string(i))));
  }
  sink_.release();
  expectAck(*clients[0], "AA", "FIRST");
  for (int i = 1; i < kClients; ++i) {
    expectAck(*clients[i], "AA", "C" + std::to_string(i));
  }
  const std::vector<std::size_t> sizes = sink_.batchSizes();
  ASSERT_GE(sizes.size(), 2U);
  EXPECT_EQ(sizes[0], 1U);
  EXPECT_EQ(sizes[1], static_cast<std::size_t>(kClients - 1))
      << "every frame that was ready went into one batch";
  EXPECT_TRUE(waitFor([&] { return stats().acks_aa == kClients; }, seconds(5)));
}

TEST_F(MllpReactorTest, InterleavedConnectionsWithFramesSplitAcrossReads) {
  start();
  MllpTestClient a(address());
  MllpTestClient b(address());
  const std::string first_a = framed(adtMessage("A1"));
  const std::string first_b = framed(adtMessage("B1"));
  const std::string second_a = framed(adtMessage("A2"));
  // Pieces alternate between the connections; each arrives in a read of its own (no ACK can
  // come before a frame is complete, which the short waits check).
  ASSERT_TRUE(a.sendRaw(first_a.substr(0, 10)));
  ASSERT_TRUE(b.sendRaw(first_b.substr(0, 40)));
  EXPECT_FALSE(a.readFrame(milliseconds(50)).has_value());
  ASSERT_TRUE(a.sendRaw(first_a.substr(10, 50)));
  ASSERT_TRUE(b.sendRaw(first_b.substr(40)));
  expectAck(b, "AA", "B1");
  EXPECT_FALSE(a.readFrame(milliseconds(50)).has_value());
  // The end of A1 and the start of A2 in one read, then the rest of A2.
  ASSERT_TRUE(a.sendRaw(first_a.substr(60) + second_a.substr(0, 25)));
  expectAck(a, "AA", "A1");
  EXPECT_FALSE(a.readFrame(milliseconds(50)).has_value());
  ASSERT_TRUE(a.sendRaw(second_a.substr(25)));
  expectAck(a, "AA", "A2");

  const std::vector<InboundEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].control_id, "B1");
  EXPECT_EQ(events[0].peer, b.localAddress());
  EXPECT_EQ(events[1].control_id, "A1");
  EXPECT_EQ(events[1].payload, adtMessage("A1"));
  EXPECT_EQ(events[2].control_id, "A2");
  EXPECT_EQ(events[2].peer, a.localAddress());
}

TEST_F(MllpReactorTest, AcksFollowFrameOrderWhenLaterBatchesCommitFirst) {
  start();
  sink_.holdResults(true);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("O1")));
  ASSERT_TRUE(waitFor([&] { return sink_.heldBatches() == 1; }, seconds(10)));
  ASSERT_TRUE(client.sendFrame(adtMessage("O2")));
  ASSERT_TRUE(waitFor([&] { return sink_.heldBatches() == 2; }, seconds(10)))
      << "reading went on while the first batch was committing";
  // An immediate answer (a parse error) queued behind both waits for them too.
  ASSERT_TRUE(client.sendFrame(adtMessage("")));
  EXPECT_FALSE(client.readFrame(milliseconds(100)).has_value());

  sink_.completeHeld(1);  // O2's batch first
  EXPECT_FALSE(client.readFrame(milliseconds(100)).has_value()) << "O2 overtook O1";
  sink_.completeHeld(0);
  expectAck(client, "AA", "O1");
  expectAck(client, "AA", "O2");
  const std::optional<std::string> third = client.readFrame();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(field(*third, "MSA", 1), "AE");
}

TEST_F(MllpReactorTest, ResultLaterThanCommitTimeoutIsAnsweredArAndIgnoredWhenItArrives) {
  MllpSettings settings;
  settings.commit_timeout_ms = 200;
  start(settings);
  sink_.holdResults(true);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendFrame(adtMessage("LATE1")));
  const std::optional<std::string> ack = client.readFrame(seconds(5));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(field(*ack, "MSA", 1), "AR");
  EXPECT_EQ(field(*ack, "MSA", 2), "LATE1");
  EXPECT_EQ(field(*ack, "ERR", 3).substr(0, 4), "207^");

  sink_.holdResults(false);
  sink_.completeHeld();  // the late OK must not produce a second answer
  ASSERT_TRUE(client.sendFrame(adtMessage("NEXT")));
  expectAck(client, "AA", "NEXT");
  EXPECT_EQ(stats().acks_aa, 1U);
  EXPECT_EQ(stats().acks_ar, 1U);
}

TEST_F(MllpReactorTest, SlowReaderGetsEveryAckInOrder) {
  start();
  constexpr int kFrames = 2000;
  // A 4 KiB receive window: the server's ACK writes stop part-way and resume on EPOLLOUT, and
  // reading from this connection pauses while its ACKs pile up.
  MllpTestClient client(address(), 4096);
  std::atomic<bool> sent_all{false};
  std::thread sender([&] {
    std::string chunk;
    bool ok = true;
    for (int i = 0; i < kFrames && ok; ++i) {
      chunk += framed(adtMessage("S" + std::to_string(i)));
      if (i % 100 == 99) {
        ok = client.sendRaw(chunk);
        chunk.clear();
      }
    }
    sent_all = ok && client.sendRaw(chunk);
  });
  // Read slowly: the first ACKs only once the server must have stalled on the full window.
  EXPECT_TRUE(waitFor([&] { return stats().frames >= 200; }, seconds(10)));
  for (int i = 0; i < kFrames; ++i) {
    const std::optional<std::string> ack = client.readFrame();
    ASSERT_TRUE(ack.has_value()) << "ACK " << i << " missing";
    ASSERT_EQ(field(*ack, "MSA", 2), "S" + std::to_string(i));
    ASSERT_EQ(field(*ack, "MSA", 1), "AA");
  }
  sender.join();
  EXPECT_TRUE(sent_all.load());
  EXPECT_EQ(sink_.events().size(), static_cast<std::size_t>(kFrames));
  EXPECT_TRUE(waitFor([&] { return stats().acks_aa == kFrames; }, seconds(5)));
}

TEST_F(MllpReactorTest, ManyConnectionsPipeliningAreAllAnswered) {
  MllpSettings settings;
  settings.max_connections = 300;
  start(settings);
  constexpr int kClients = 200;
  constexpr int kFramesEach = 5;
  std::vector<std::unique_ptr<MllpTestClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<MllpTestClient>(address()));
  }
  for (int i = 0; i < kClients; ++i) {
    std::string bytes;
    for (int j = 0; j < kFramesEach; ++j) {
      bytes += framed(adtMessage("M" + std::to_string(i) + "-" + std::to_string(j)));
    }
    ASSERT_TRUE(clients[i]->sendRaw(bytes));
  }
  for (int i = 0; i < kClients; ++i) {
    for (int j = 0; j < kFramesEach; ++j) {
      expectAck(*clients[i], "AA", "M" + std::to_string(i) + "-" + std::to_string(j));
    }
  }
  EXPECT_EQ(sink_.events().size(), static_cast<std::size_t>(kClients * kFramesEach));
  EXPECT_EQ(stats().connections_accepted, static_cast<std::uint64_t>(kClients));
  const std::vector<std::size_t> sizes = sink_.batchSizes();
  EXPECT_LT(sizes.size(), static_cast<std::size_t>(kClients * kFramesEach))
      << "some frames shared a batch";
}

TEST_F(MllpReactorTest, PeerThatHalfClosesStillGetsItsAcks) {
  start();
  sink_.holdResults(true);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw(framed(adtMessage("H1")) + framed(adtMessage("H2"))));
  ASSERT_TRUE(waitFor([&] { return sink_.heldBatches() == 1; }, seconds(10)));
  client.shutdownSend();
  sink_.completeHeld();
  expectAck(client, "AA", "H1");
  expectAck(client, "AA", "H2");
  EXPECT_TRUE(client.waitClosed());
}

TEST_F(MllpReactorTest, StopAnswersTheBatchInFlightThenCloses) {
  start();
  sink_.holdResults(true);
  MllpTestClient busy(address());
  MllpTestClient idle(address());
  ASSERT_TRUE(busy.sendFrame(adtMessage("INFLIGHT")));
  ASSERT_TRUE(waitFor([&] { return sink_.heldBatches() == 1; }, seconds(10)));

  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    adapter_->stop();
    stopped = true;
  });
  EXPECT_TRUE(idle.waitClosed()) << "a connection with nothing in flight closes at once";
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
  EXPECT_FALSE(stopped.load()) << "stop() waits for the commit in flight";
  sink_.completeHeld();
  expectAck(busy, "AA", "INFLIGHT");
  EXPECT_TRUE(busy.waitClosed());
  stopper.join();
  EXPECT_TRUE(stopped.load());
}

TEST_F(MllpReactorTest, SinkThatThrowsInABatchAnswersEveryFrameAr) {
  start();
  sink_.throwOnAccept(true);
  MllpTestClient client(address());
  ASSERT_TRUE(client.sendRaw(framed(adtMessage("T1")) + framed(adtMessage("T2"))));
  const std::optional<std::string> first = client.readFrame();
  const std::optional<std::string> second = client.readFrame();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(field(*first, "MSA", 1), "AR");
  EXPECT_EQ(field(*second, "MSA", 1), "AR");
  EXPECT_EQ(field(*second, "MSA", 2), "T2");
  EXPECT_EQ(stats().internal_errors, 2U);
  sink_.throwOnAccept(false);
  ASSERT_TRUE(client.sendFrame(adtMessage("T3")));
  expectAck(client, "AA", "T3");
}

TEST_F(MllpReactorTest, OversizedFrameClosesAfterTheFramesBeforeItAreAnswered) {
  MllpSettings settings;
  settings.max_frame_bytes = 1024;
  start(settings);
  sink_.holdResults(true);
  MllpTestClient client(address());
  const std::string big = adtMessage("BIG") + "NTE|1||" + std::string(3000, 'x') + "\r";
  ASSERT_TRUE(
      client.sendRaw(framed(adtMessage("BEFORE")) + framed(big) + framed(adtMessage("AFTER"))));
  ASSERT_TRUE(waitFor([&] { return sink_.heldBatches() == 1; }, seconds(10)));
  sink_.completeHeld();
  expectAck(client, "AA", "BEFORE");
  expectAck(client, "AR", "BIG");
  EXPECT_TRUE(client.waitClosed());
  ASSERT_EQ(sink_.events().size(), 1U) << "nothing after the oversized frame reaches the sink";
}

TEST_F(MllpReactorTest, LargeFrameOverManyReadsIsCommittedWhole) {
  start();
  MllpTestClient client(address());
  // Far more than one read (64 KiB) of the I/O thread, below max_frame_bytes (1 MiB).
  const std::string big = adtMessage("LARGE1") + "NTE|1||" + std::string(600 * 1024, 'x') + "\r";
  ASSERT_TRUE(client.sendFrame(big));
  expectAck(client, "AA", "LARGE1");
  const std::vector<InboundEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].payload, big);
}

TEST(MllpReactorSettingsTest, ReactorWithTlsIsRefused) {
  test::FakeSink sink;
  MllpSettings settings;
  settings.name = "adt";
  settings.io_model = "reactor";
  settings.tls.enabled = true;
  settings.tls.certificate = "cert.pem";
  settings.tls.private_key = "key.pem";
  const Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink);
  EXPECT_EQ(made.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(made.status().message().find("io_model"), std::string::npos);
}

}  // namespace
}  // namespace gw
