// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpFramer.h"

#include <algorithm>

namespace gw::mllp {
namespace {

constexpr std::string_view kBlockMarks("\x0B\x1C", 2);

}  // namespace

MllpFramer::MllpFramer(std::size_t max_frame_bytes)
    : max_frame_bytes_(std::max<std::size_t>(max_frame_bytes, 1)) {}

void MllpFramer::feed(std::string_view bytes, std::vector<MllpFrame>& frames) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::AfterEnd: {
        state_ = State::BetweenFrames;
        if (bytes[i] == kCarriageReturn) {
          ++i;
        } else {
          // Leave the byte for BetweenFrames: it may be the <SB> of the next frame.
          ++missing_carriage_returns_;
        }
        break;
      }
      case State::BetweenFrames: {
        const std::size_t start = bytes.find(kStartBlock, i);
        const std::size_t end = start == std::string_view::npos ? bytes.size() : start;
        skipped_bytes_ += end - i;
        i = end;
        if (start != std::string_view::npos) {
          ++i;
          payload_.clear();
          state_ = State::InFrame;
        }
        break;
      }
      case State::InFrame: {
        const std::size_t mark = bytes.find_first_of(kBlockMarks, i);
        const std::size_t end = mark == std::string_view::npos ? bytes.size() : mark;
        append(bytes.substr(i, end - i), frames);
        i = end;
        // After an overflow the mark is handled by Discarding on the next turn.
        if (mark == std::string_view::npos || state_ != State::InFrame) {
          break;
        }
        ++i;
        if (bytes[mark] == kStartBlock) {
          skipped_bytes_ += 1 + payload_.size();  // the abandoned frame, its <SB> included
          ++restarted_frames_;
          payload_.clear();
        } else {
          frames.push_back(MllpFrame{std::move(payload_), false});
          payload_.clear();
          state_ = State::AfterEnd;
        }
        break;
      }
      case State::Discarding: {
        const std::size_t mark = bytes.find_first_of(kBlockMarks, i);
        if (mark == std::string_view::npos) {
          i = bytes.size();
          break;
        }
        i = mark + 1;
        if (bytes[mark] == kStartBlock) {
          payload_.clear();
          state_ = State::InFrame;
        } else {
          state_ = State::AfterEnd;
        }
        break;
      }
    }
  }
}

void MllpFramer::append(std::string_view bytes, std::vector<MllpFrame>& frames) {
  const std::size_t room = max_frame_bytes_ - payload_.size();
  if (bytes.size() <= room) {
    payload_.append(bytes);
    return;
  }
  payload_.append(bytes.substr(0, room));
  payload_.resize(std::min(kOversizedHeadBytes, max_frame_bytes_));
  frames.push_back(MllpFrame{std::move(payload_), true});
  payload_.clear();
  state_ = State::Discarding;
}

}  // namespace gw::mllp
