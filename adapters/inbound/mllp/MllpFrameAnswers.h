// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Logger.h>

#include <cstdint>
#include <optional>
#include <string>

#include "adapters/inbound/mllp/MllpFramer.h"
#include "adapters/inbound/mllp/MllpSettings.h"
#include "gateway/api/InboundEvent.h"
#include "gateway/api/Result.h"
#include "gateway/hl7/Ack.h"

namespace gw::mllp {

struct MllpCounters;

// The answer to one frame.
struct FrameAnswer {
  std::optional<std::string> ack;    // unframed ACK message; none when not wanted
  std::optional<hl7::AckCode> code;  // code of `ack`, or of the suppressed ACK
  bool close = false;                // close the connection once `ack` is sent
};

// What to do with one frame: answer it at once (`answer`), or hand `event` to the sink and
// answer with FrameAnswers::afterCommit() once the sink's result is known.
struct FrameStep {
  std::optional<InboundEvent> event;
  FrameAnswer answer;  // when `event` is empty
};

// The frame-to-ACK rules of one connection, shared by both I/O models (the epoll reactor and the
// thread per connection): parsing, the sending-facility allow-list, oversized frames, the
// mapping of the sink's Status to an ACK (hl7::decideAck(), so AA/CA only for OK), the answer
// after a bug, counters and log lines (never payload bytes). Not thread-safe: one per
// connection, used by the thread that serves it.
class FrameAnswers {
 public:
  FrameAnswers(const MllpSettings& settings, MllpCounters& counters, Poco::Logger& logger,
               std::string connection_id, std::string peer);

  // Parses the frame and decides whether the sink must see it. Counts the frame's bad input
  // (parse error, facility rejection, oversized). Exceptions (bugs) are caught and answered AR.
  FrameStep begin(const MllpFrame& frame);
  // The answer to `payload` (a frame begin() returned an event for) given the sink's result;
  // logs the outcome. Exceptions are caught and answered AR.
  FrameAnswer afterCommit(const std::string& payload, const Result<IntakeReceipt>& receipt);
  // AR "application internal error" after a bug on this frame (logged by the caller with
  // logBug()); closes the connection if even that cannot be built.
  FrameAnswer afterBug(const std::string& payload);
  // Logs "[conn=<id>] BUG: <exception type>: <what>" (inside a catch block).
  void logBug(const char* what);
  // Logs bad input from the peer at information for the first few per connection, then debug.
  void noteBadInput(const std::string& line);
  // Logs at debug, also in release builds, when the configured level allows it.
  void logDebug(const std::string& line);

  const std::string& id() const { return id_; }
  const std::string& peer() const { return peer_; }
  std::uint64_t badInputs() const { return bad_inputs_; }

 private:
  FrameAnswer answerParsed(const std::string& payload);
  FrameAnswer answerOversized(const std::string& head);
  std::string ackControlId() const;

  const MllpSettings& settings_;
  MllpCounters& counters_;
  Poco::Logger& logger_;
  std::string id_;
  std::string peer_;
  std::uint64_t bad_inputs_ = 0;
};

// "1.2 KiB" for log lines.
std::string sizeText(std::size_t bytes);

}  // namespace gw::mllp
