// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpFramer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gw::mllp {
namespace {

const std::string kMessage =
    "MSH|^~\\&|LAB|HOSP|GW|GW|20240101120000||ADT^A01|MSG1|P|2.5.1\rPID|1\r";

std::string framed(const std::string& payload) { return "\x0B" + payload + "\x1C\x0D"; }

std::vector<MllpFrame> feedAll(MllpFramer& framer, const std::string& bytes) {
  std::vector<MllpFrame> frames;
  framer.feed(bytes, frames);
  return frames;
}

TEST(MllpFramerTest, CutsOneFrame) {
  MllpFramer framer;
  const std::vector<MllpFrame> frames = feedAll(framer, framed(kMessage));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, kMessage);
  EXPECT_FALSE(frames[0].oversized);
  EXPECT_FALSE(framer.inFrame());
  EXPECT_EQ(framer.skippedBytes(), 0U);
  EXPECT_EQ(framer.missingCarriageReturns(), 0U);
}

TEST(MllpFramerTest, CutsFrameFedOneByteAtATime) {
  MllpFramer framer;
  const std::string bytes = framed(kMessage);
  std::vector<MllpFrame> frames;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    framer.feed(std::string_view(&bytes[i], 1), frames);
    if (i + 2 < bytes.size()) {
      EXPECT_TRUE(frames.empty()) << "at byte " << i;
    }
    EXPECT_EQ(framer.inFrame(), i + 2 < bytes.size()) << "at byte " << i;
  }
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, kMessage);
  EXPECT_EQ(framer.skippedBytes(), 0U);
}

TEST(MllpFramerTest, CutsTwoFramesFromOneRead) {
  MllpFramer framer;
  const std::string second = "MSH|^~\\&|B\r";
  const std::vector<MllpFrame> frames = feedAll(framer, framed(kMessage) + framed(second));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].payload, kMessage);
  EXPECT_EQ(frames[1].payload, second);
  EXPECT_EQ(framer.skippedBytes(), 0U);
}

TEST(MllpFramerTest, JoinsFrameSplitAcrossReadsWithNextFrameStarting) {
  MllpFramer framer;
  const std::string bytes = framed(kMessage) + framed("second");
  std::vector<MllpFrame> frames;
  framer.feed(std::string_view(bytes).substr(0, 10), frames);
  EXPECT_TRUE(frames.empty());
  EXPECT_TRUE(framer.inFrame());
  framer.feed(std::string_view(bytes).substr(10, bytes.size() - 14), frames);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(framer.inFrame());
  framer.feed(std::string_view(bytes).substr(bytes.size() - 4), frames);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].payload, kMessage);
  EXPECT_EQ(frames[1].payload, "second");
  EXPECT_FALSE(framer.inFrame());
}

TEST(MllpFramerTest, CountsGarbageBeforeAndBetweenFrames) {
  MllpFramer framer;
  const std::vector<MllpFrame> frames =
      feedAll(framer, "GET / HTTP/1.1\r\n" + framed("one") + "\r\n\r\n" + framed("two") + "xy");
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].payload, "one");
  EXPECT_EQ(frames[1].payload, "two");
  EXPECT_EQ(framer.skippedBytes(), 16U + 4U + 2U);
  EXPECT_FALSE(framer.inFrame());
}

TEST(MllpFramerTest, CountsGarbageWithoutAnyFrame) {
  MllpFramer framer;
  EXPECT_TRUE(feedAll(framer, std::string(100, 'x')).empty());
  EXPECT_EQ(framer.skippedBytes(), 100U);
  EXPECT_FALSE(framer.inFrame());
}

TEST(MllpFramerTest, ReportsOversizedFrameWithItsHeadAtOnce) {
  MllpFramer framer(8192);
  const std::string head = "MSH|^~\\&|LAB|HOSP|GW|GW|20240101||ORU^R01|BIG1|P|2.5.1\r";
  std::string big = head + std::string(10000, 'A');
  std::vector<MllpFrame> frames;
  framer.feed("\x0B" + big.substr(0, 9000), frames);  // past the limit, no <EB> yet
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].oversized);
  EXPECT_EQ(frames[0].payload.size(), kOversizedHeadBytes);
  EXPECT_EQ(frames[0].payload.substr(0, head.size()), head);
  EXPECT_TRUE(framer.inFrame());

  // The tail is discarded without being counted as skipped; the next frame is cut normally.
  framer.feed(big.substr(9000) + "\x1C\x0D" + framed("next"), frames);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_FALSE(frames[1].oversized);
  EXPECT_EQ(frames[1].payload, "next");
  EXPECT_EQ(framer.skippedBytes(), 0U);
  EXPECT_FALSE(framer.inFrame());
}

TEST(MllpFramerTest, OversizedHeadIsCappedByASmallLimit) {
  MllpFramer framer(1024);
  const std::vector<MllpFrame> frames = feedAll(framer, framed(std::string(1025, 'A')));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].oversized);
  EXPECT_EQ(frames[0].payload.size(), 1024U);
  EXPECT_FALSE(framer.inFrame());
}

TEST(MllpFramerTest, AcceptsFrameOfExactlyTheLimit) {
  MllpFramer framer(1024);
  const std::vector<MllpFrame> frames = feedAll(framer, framed(std::string(1024, 'A')));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_FALSE(frames[0].oversized);
  EXPECT_EQ(frames[0].payload.size(), 1024U);
}

TEST(MllpFramerTest, StartBlockInsideFrameRestartsIt) {
  MllpFramer framer;
  const std::vector<MllpFrame> frames = feedAll(framer, "\x0Bpartial" + framed(kMessage));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, kMessage);
  EXPECT_EQ(framer.skippedBytes(), 8U);  // <SB> + "partial"
  EXPECT_EQ(framer.restartedFrames(), 1U);
}

TEST(MllpFramerTest, StartBlockInLaterReadRestartsFrame) {
  MllpFramer framer;
  std::vector<MllpFrame> frames;
  framer.feed("\x0Bhalf a mess", frames);
  framer.feed(framed("whole"), frames);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, "whole");
  EXPECT_EQ(framer.skippedBytes(), 12U);
  EXPECT_EQ(framer.restartedFrames(), 1U);
}

TEST(MllpFramerTest, EndBlockWithoutCarriageReturnStillCompletesFrame) {
  MllpFramer framer;
  std::vector<MllpFrame> frames;
  // The frame is emitted at <EB>: a sender that never sends <CR> is answered.
  framer.feed("\x0Bone\x1C", frames);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, "one");
  EXPECT_FALSE(framer.inFrame());
  // The byte after <EB> is not <CR>: counted, and handled as an inter-frame byte.
  framer.feed("x\x0Btwo\x1C\x0Bthree\x1C\x0D", frames);
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[1].payload, "two");
  EXPECT_EQ(frames[2].payload, "three");  // the <SB> right after <EB> is not lost
  EXPECT_EQ(framer.missingCarriageReturns(), 2U);
  EXPECT_EQ(framer.skippedBytes(), 1U);
}

TEST(MllpFramerTest, CarriageReturnInNextReadIsConsumed) {
  MllpFramer framer;
  std::vector<MllpFrame> frames;
  framer.feed("\x0Bone\x1C", frames);
  framer.feed("\x0D", frames);
  EXPECT_EQ(framer.skippedBytes(), 0U);
  EXPECT_EQ(framer.missingCarriageReturns(), 0U);
  ASSERT_EQ(frames.size(), 1U);
}

TEST(MllpFramerTest, EmptyFrameYieldsEmptyPayload) {
  MllpFramer framer;
  const std::vector<MllpFrame> frames = feedAll(framer, framed(""));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_TRUE(frames[0].payload.empty());
  EXPECT_FALSE(frames[0].oversized);
}

TEST(MllpFramerTest, KeepsBinarySafePayload) {
  MllpFramer framer;
  const std::string payload("a\0b\r\nc", 6);
  const std::vector<MllpFrame> frames = feedAll(framer, framed(payload));
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, payload);
}

}  // namespace
}  // namespace gw::mllp
