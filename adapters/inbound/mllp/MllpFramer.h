// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gw::mllp {

// MLLP block characters (HL7 v2.5.1 Appendix C, minimal lower layer protocol:
// <SB> payload <EB><CR>).
inline constexpr char kStartBlock = '\x0B';
inline constexpr char kEndBlock = '\x1C';
inline constexpr char kCarriageReturn = '\x0D';

// Default largest payload accepted in one frame.
inline constexpr std::size_t kDefaultMaxFrameBytes = 1024 * 1024;
// How much of an oversized frame is kept: far more than the MSH segment of any real message,
// so the connection can still read the control id and answer it.
inline constexpr std::size_t kOversizedHeadBytes = 4096;

// One frame cut from the stream.
struct MllpFrame {
  // The bytes between <SB> and <EB>. For an oversized frame only its first
  // min(kOversizedHeadBytes, max_frame_bytes) bytes.
  std::string payload;
  // True when the payload grew past max_frame_bytes; the rest of that frame is discarded.
  bool oversized = false;
};

// Cuts an MLLP byte stream into frames. Incremental: feed() takes reads of any size, so frames
// split across reads or several frames in one read come out the same. Decisions for malformed
// streams (each has a unit test):
//   - Bytes outside a frame (before the first <SB>, between <EB><CR> and the next <SB>) are
//     skipped and counted in skippedBytes().
//   - A frame is complete at <EB>; the frame is emitted at once, so a sender that omits the <CR>
//     still gets its answer. A <CR> right after <EB> is consumed silently; any other byte there is
//     counted in missingCarriageReturns() and handled as an inter-frame byte (skipped, or the
//     <SB> of the next frame).
//   - An <SB> inside a frame starts a new frame: the unfinished one (its <SB> included) is
//     discarded, counted in skippedBytes() and restartedFrames(). A sender that lost its
//     connection state and restarts is served; the partial message is never delivered.
//   - A payload longer than max_frame_bytes is emitted at once as an oversized frame holding its
//     head; the remaining bytes up to its <EB> are discarded (not counted as skipped).
//   - <SB><EB><CR> yields an empty frame (the connection answers it as unparseable).
// Not thread-safe: one framer per connection.
class MllpFramer {
 public:
  explicit MllpFramer(std::size_t max_frame_bytes = kDefaultMaxFrameBytes);

  // Consumes `bytes` and appends every frame they complete to `frames`, in stream order.
  void feed(std::string_view bytes, std::vector<MllpFrame>& frames);

  // True while a frame has started and not ended (also while discarding an oversized frame's
  // tail): the connection's partial-frame timer runs.
  bool inFrame() const { return state_ == State::InFrame || state_ == State::Discarding; }

  std::size_t maxFrameBytes() const { return max_frame_bytes_; }
  // Bytes outside frames and of discarded partial frames, since construction.
  std::uint64_t skippedBytes() const { return skipped_bytes_; }
  // Frames abandoned because an <SB> arrived before their <EB>.
  std::uint64_t restartedFrames() const { return restarted_frames_; }
  // Frames whose <EB> was followed by something other than <CR>.
  std::uint64_t missingCarriageReturns() const { return missing_carriage_returns_; }

 private:
  enum class State { BetweenFrames, InFrame, Discarding, AfterEnd };

  // Appends payload bytes of the current frame; on overflow emits the oversized frame and
  // switches to Discarding.
  void append(std::string_view bytes, std::vector<MllpFrame>& frames);

  std::size_t max_frame_bytes_;
  State state_ = State::BetweenFrames;
  std::string payload_;
  std::uint64_t skipped_bytes_ = 0;
  std::uint64_t restarted_frames_ = 0;
  std::uint64_t missing_carriage_returns_ = 0;
};

}  // namespace gw::mllp
