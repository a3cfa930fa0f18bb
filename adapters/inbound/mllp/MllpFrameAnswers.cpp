// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpFrameAnswers.h"

#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <typeinfo>
#include <utility>
#include <vector>

#include "adapters/inbound/mllp/AckControlId.h"
#include "adapters/inbound/mllp/MllpConnection.h"
#include "gateway/hl7/Message.h"

namespace gw::mllp {
namespace {

// Bad frames logged at information per connection; later ones at debug (all are counted).
constexpr std::uint64_t kLoggedBadInputs = 5;

// Readable name of the exception being handled (inside a catch block only).
std::string currentExceptionType() {
  const std::type_info* type = abi::__cxa_current_exception_type();
  if (type == nullptr) {
    return "unknown";
  }
  int status = 0;
  char* demangled = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : type->name();
  std::free(demangled);
  return name;
}

std::string_view firstComponent(std::string_view value, char component, char repetition) {
  if (repetition != '\0') {
    value = value.substr(0, value.find(repetition));
  }
  if (component != '\0') {
    value = value.substr(0, value.find(component));
  }
  return value;
}

// A header value from the peer, safe for one log line: control bytes become '?' (no forged
// lines), and at most 64 bytes are kept.
std::string printable(std::string_view value) {
  constexpr std::size_t kMaxLogged = 64;
  std::string out(value.substr(0, kMaxLogged));
  for (char& c : out) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      c = '?';
    }
  }
  if (value.size() > kMaxLogged) {
    out += "...";
  }
  return out;
}

// "ADT^A01 control_id=X from APP/FACILITY (2.1 KiB)": routing data only, never PHI.
std::string describe(const hl7::Message& message, std::size_t bytes) {
  const hl7::Delimiters& d = message.delimiters();
  return printable(message.messageType()) + " control_id=" + printable(message.controlId()) +
         " from " +
         printable(firstComponent(message.sendingApplication(), d.component, d.repetition)) + "/" +
         printable(firstComponent(message.sendingFacility(), d.component, d.repetition)) + " (" +
         sizeText(bytes) + ")";
}

}  // namespace

std::string sizeText(std::size_t bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof(text), "%zu B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof(text), "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else {
    std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  }
  return text;
}

FrameAnswers::FrameAnswers(const MllpSettings& settings, MllpCounters& counters,
                           Poco::Logger& logger, std::string connection_id, std::string peer)
    : settings_(settings),
      counters_(counters),
      logger_(logger),
      id_(std::move(connection_id)),
      peer_(std::move(peer)) {}

void FrameAnswers::logDebug(const std::string& line) {
  // poco_debug() compiles to nothing without _DEBUG; per-message lines must be available in
  // release builds whenever the configured level is debug.
  if (logger_.debug()) {
    logger_.debug(line);
  }
}

FrameStep FrameAnswers::begin(const MllpFrame& frame) {
  FrameStep step;
  try {
    if (frame.oversized) {
      step.answer = answerOversized(frame.payload);
      return step;
    }
    const std::string& payload = frame.payload;
    Result<hl7::Message> parsed = hl7::Message::parse(payload);
    if (!parsed.ok()) {
      ++counters_.parse_errors;
      // Parser messages name the field, never its value.
      noteBadInput("[conn=" + id_ + "] unparseable message (" + sizeText(payload.size()) +
                   "): " + parsed.status().message());
      const hl7::AckDecision decision = hl7::decideAck(parsed.status(), "");
      step.answer.code = decision.code;
      if (decision.send) {
        step.answer.ack = hl7::buildAckForUnparsed(payload, decision, ackControlId(),
                                                   std::chrono::system_clock::now());
      }
      return step;
    }
    const hl7::Message& message = *parsed;
    const std::vector<std::string>& facilities = settings_.allowed_sending_facilities;
    if (!facilities.empty()) {
      const std::string facility = message.get("MSH-4.1");
      if (std::find(facilities.begin(), facilities.end(), facility) == facilities.end()) {
        ++counters_.facility_rejections;
        noteBadInput("[conn=" + id_ + "] " + describe(message, payload.size()) +
                     ": sending facility \"" + printable(facility) + "\" not allowed");
        const hl7::AckDecision decision =
            hl7::decideAck(Status::permissionDenied("sending facility not allowed"),
                           message.acceptAckType(), message.applicationAckType());
        step.answer.code = decision.code;
        if (decision.send) {
          step.answer.ack =
              hl7::buildAck(message, decision, ackControlId(), std::chrono::system_clock::now());
        }
        return step;
      }
    }
    InboundEvent event;
    event.source = EventSource::Hl7v2;
    event.listener = settings_.name;
    event.peer = peer_;
    event.sending_application = std::string(message.sendingApplication());
    event.sending_facility = std::string(message.sendingFacility());
    event.control_id = std::string(message.controlId());
    event.message_type = message.messageType();
    event.version = std::string(message.version());
    {
      const hl7::AckDecision on_commit =
          hl7::decideAck(Status::ok(), message.acceptAckType(), message.applicationAckType());
      event.answer_on_commit =
          on_commit.send ? std::string(hl7::ackCodeName(on_commit.code)) : std::string("none");
    }
    event.payload = payload;
    step.event = std::move(event);
    return step;
  } catch (const std::exception& e) {
    ++counters_.internal_errors;
    logBug(e.what());
  } catch (...) {
    ++counters_.internal_errors;
    logBug("non-standard exception");
  }
  step.event.reset();
  step.answer = afterBug(frame.payload);
  return step;
}

FrameAnswer FrameAnswers::afterCommit(const std::string& payload,
                                      const Result<IntakeReceipt>& receipt) {
  try {
    // Parsed again rather than kept: the parsed view points into bytes that move meanwhile.
    Result<hl7::Message> parsed = hl7::Message::parse(payload);
    if (!parsed.ok()) {  // begin() parsed the same bytes: only a bug gets here
      ++counters_.internal_errors;
      poco_error(logger_, "[conn=" + id_ + "] BUG: a committed frame no longer parses");
      return afterBug(payload);
    }
    const hl7::Message& message = *parsed;
    const Status outcome = receipt.status();
    if (receipt.ok()) {
      if (logger_.debug()) {
        logDebug("[conn=" + id_ + "] " + describe(message, payload.size()) +
                 ": committed as event " + std::to_string(receipt->event_id) +
                 (receipt->duplicate ? " (duplicate)" : ""));
      }
    } else {
      noteBadInput("[conn=" + id_ + "] " + describe(message, payload.size()) +
                   ": not accepted: " + outcome.toString());
    }
    // The one mapping from outcome to ACK: AA/CA only when the sink returned OK.
    const hl7::AckDecision decision =
        hl7::decideAck(outcome, message.acceptAckType(), message.applicationAckType());
    FrameAnswer answer;
    answer.code = decision.code;
    if (decision.send) {
      answer.ack =
          hl7::buildAck(message, decision, ackControlId(), std::chrono::system_clock::now());
    }
    return answer;
  } catch (const std::exception& e) {
    ++counters_.internal_errors;
    logBug(e.what());
  } catch (...) {
    ++counters_.internal_errors;
    logBug("non-standard exception");
  }
  return afterBug(payload);
}

FrameAnswer FrameAnswers::answerOversized(const std::string& head) {
  ++counters_.oversized_frames;
  FrameAnswer answer;
  answer.close = true;
  // A size limit is our policy, not a content error: resending the same bytes cannot help.
  const Status outcome = Status::permissionDenied(
      "message exceeds max_frame_bytes (" + std::to_string(settings_.max_frame_bytes) + " bytes)");
  // The head is cut mid-message, but its MSH is whole in any real message.
  const Result<hl7::Message> parsed = hl7::Message::parse(head);
  const std::string control_id = parsed.ok() ? std::string(parsed->controlId()) : "";
  noteBadInput("[conn=" + id_ + "] frame larger than max_frame_bytes (" +
               std::to_string(settings_.max_frame_bytes) +
               "), control_id=" + (control_id.empty() ? "(unreadable)" : printable(control_id)) +
               ": answering and closing");
  const hl7::AckDecision decision =
      parsed.ok() ? hl7::decideAck(outcome, parsed->acceptAckType(), parsed->applicationAckType())
                  : hl7::decideAck(outcome, "");
  answer.code = decision.code;
  if (decision.send) {
    const auto now = std::chrono::system_clock::now();
    answer.ack = parsed.ok() ? hl7::buildAck(*parsed, decision, ackControlId(), now)
                             : hl7::buildAckForUnparsed(head, decision, ackControlId(), now);
  }
  return answer;
}

FrameAnswer FrameAnswers::afterBug(const std::string& payload) {
  FrameAnswer answer;
  try {
    const hl7::AckDecision decision = hl7::decideAck(Status::internal("internal error"), "");
    answer.code = decision.code;
    answer.ack = hl7::buildAckForUnparsed(payload, decision, ackControlId(),
                                          std::chrono::system_clock::now());
  } catch (...) {
    logBug("while building the AR for an earlier bug; closing without an answer");
    answer.ack.reset();
    answer.code.reset();
    answer.close = true;
  }
  return answer;
}

void FrameAnswers::logBug(const char* what) {
  // Type and what() only: an exception text never carries payload bytes by our rules, and this
  // line is all an operator gets.
  poco_error(logger_, "[conn=" + id_ + "] BUG: " + currentExceptionType() + ": " + what);
}

void FrameAnswers::noteBadInput(const std::string& line) {
  ++bad_inputs_;
  if (bad_inputs_ <= kLoggedBadInputs) {
    poco_information(logger_, line);
  } else {
    logDebug(line);
  }
}

std::string FrameAnswers::ackControlId() const {
  return nextAckControlId(settings_.name);
}

}  // namespace gw::mllp
