// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpConnection.h"

#include <Poco/Exception.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Timespan.h>
#include <cxxabi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <typeinfo>
#include <utility>
#include <vector>

#include "adapters/inbound/mllp/AckControlId.h"
#include "adapters/inbound/mllp/MllpTls.h"
#include "gateway/hl7/Message.h"

namespace gw::mllp {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How often a waiting connection looks at the stop flag; bounds how long stop() waits for an
// idle connection.
constexpr std::chrono::milliseconds kStopCheckInterval(200);
// Socket receive timeout while a read is under way (a TLS record may arrive in pieces); the
// frame deadlines are enforced by the read loop, not by this.
constexpr long kReceiveTimeoutSeconds = 1;
constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Bad frames logged at information per connection; later ones at debug (all are counted).
constexpr std::uint64_t kLoggedBadInputs = 5;
// Refused connections: the first and then every this many are logged.
constexpr std::uint64_t kRefusalLogInterval = 100;

// poco_debug() compiles to nothing without _DEBUG; per-message lines must be available in
// release builds whenever the configured level is debug.
void logDebug(Poco::Logger& logger, const std::string& line) {
  if (logger.debug()) {
    logger.debug(line);
  }
}

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

void MllpCounters::countAck(hl7::AckCode code) {
  switch (code) {
    case hl7::AckCode::AA: ++acks_aa; break;
    case hl7::AckCode::AE: ++acks_ae; break;
    case hl7::AckCode::AR: ++acks_ar; break;
    case hl7::AckCode::CA: ++acks_ca; break;
    case hl7::AckCode::CE: ++acks_ce; break;
    case hl7::AckCode::CR: ++acks_cr; break;
  }
}

MllpStats MllpCounters::snapshot() const {
  MllpStats s;
  s.connections_accepted = connections_accepted.load();
  s.connections_refused = connections_refused.load();
  s.frames = frames.load();
  s.bytes_skipped = bytes_skipped.load();
  s.oversized_frames = oversized_frames.load();
  s.parse_errors = parse_errors.load();
  s.facility_rejections = facility_rejections.load();
  s.acks_aa = acks_aa.load();
  s.acks_ae = acks_ae.load();
  s.acks_ar = acks_ar.load();
  s.acks_ca = acks_ca.load();
  s.acks_ce = acks_ce.load();
  s.acks_cr = acks_cr.load();
  s.acks_suppressed = acks_suppressed.load();
  s.idle_timeouts = idle_timeouts.load();
  s.partial_frame_timeouts = partial_frame_timeouts.load();
  s.tls_handshake_failures = tls_handshake_failures.load();
  s.client_certificates_rejected = client_certificates_rejected.load();
  s.internal_errors = internal_errors.load();
  return s;
}

MllpListenerState::MllpListenerState(const MllpSettings& settings, InboundSink& sink,
                                     std::shared_ptr<MllpCounters> counters, bool tls)
    : settings_(settings),
      sink_(sink),
      counters_(std::move(counters)),
      logger_(Poco::Logger::get("gw.inbound.mllp")),
      tls_(tls) {}

bool MllpListenerState::admit(const std::string& peer) {
  if (open_connections_.load() < settings_.max_connections) {
    return true;
  }
  refuse(peer);
  return false;
}

bool MllpListenerState::openConnection() {
  return ++open_connections_ <= settings_.max_connections;
}

void MllpListenerState::closeConnection() { --open_connections_; }

void MllpListenerState::refuse(const std::string& peer) {
  const std::uint64_t refused = ++counters_->connections_refused;
  if (refused % kRefusalLogInterval == 1) {
    poco_information(logger_, "[listener=" + settings_.name + "] refused a connection from " +
                                  peer + ": max_connections (" +
                                  std::to_string(settings_.max_connections) + ") are open (" +
                                  std::to_string(refused) + " refused so far)");
  }
}

std::string MllpListenerState::nextConnectionId() {
  return settings_.name + "-" + std::to_string(++connection_sequence_);
}

MllpConnection::MllpConnection(const Poco::Net::StreamSocket& socket,
                               std::shared_ptr<MllpListenerState> state)
    : Poco::Net::TCPServerConnection(socket),
      state_(std::move(state)),
      settings_(state_->settings()),
      logger_(state_->logger()),
      id_(state_->nextConnectionId()),
      within_limit_(state_->openConnection()) {}

MllpConnection::~MllpConnection() { state_->closeConnection(); }

void MllpConnection::run() {
  // Every exit path returns normally: POCO must never see an exception from here.
  try {
    session();
  } catch (...) {
    ++state_->counters().internal_errors;
    logBug("in the connection loop");
  }
  try {
    socket().close();
  } catch (...) {  // closing a socket the peer already reset
  }
}

void MllpConnection::session() {
  if (state_->stopping()) {
    logDebug(logger_, "[conn=" + id_ + "] closed unserved: the listener is stopping");
    return;
  }
  try {
    peer_ = socket().peerAddress().toString();
  } catch (const Poco::Exception&) {
    peer_ = "unknown";  // the peer already went away; reads below see the close
  }
  if (!within_limit_) {
    state_->refuse(peer_);  // slipped past the acceptor's check in a burst
    return;
  }
  ++state_->counters().connections_accepted;
  const auto opened = SteadyClock::now();
  poco_information(logger_, "[conn=" + id_ + "] opened from " + peer_ +
                                (state_->tls() ? " (TLS)" : ""));
  try {
    serve();
  } catch (const Poco::TimeoutException&) {
    poco_information(logger_, "[conn=" + id_ + "] socket timed out");
  } catch (const Poco::Exception& e) {
    // Resets, broken pipes and TLS alerts: the peer's side of the story.
    poco_information(logger_, "[conn=" + id_ + "] connection error: " + e.displayText());
  }
  const auto seconds = std::chrono::duration<double>(SteadyClock::now() - opened).count();
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.1f s", seconds);
  poco_information(logger_, "[conn=" + id_ + "] closed after " + duration + ": " +
                                std::to_string(frames_) + " frame(s), " +
                                std::to_string(bad_inputs_) + " bad input(s), " +
                                std::to_string(skipped_bytes_) + " byte(s) skipped");
}

void MllpConnection::serve() {
  Poco::Net::StreamSocket& s = socket();
  s.setReceiveTimeout(Poco::Timespan(kReceiveTimeoutSeconds, 0));
  s.setSendTimeout(Poco::Timespan(settings_.partial_frame_timeout_seconds, 0));
  if (state_->tls() && !handshake()) {
    return;
  }
  const std::chrono::seconds idle_timeout(settings_.idle_timeout_seconds);
  const std::chrono::seconds partial_timeout(settings_.partial_frame_timeout_seconds);
  MllpFramer framer(static_cast<std::size_t>(settings_.max_frame_bytes));
  std::vector<MllpFrame> frames;
  std::vector<char> buffer(kReadBufferBytes);
  auto idle_since = SteadyClock::now();
  auto frame_started = idle_since;

  for (;;) {
    if (state_->stopping()) {
      logDebug(logger_, "[conn=" + id_ + "] closing: the listener is stopping");
      return;
    }
    const auto now = SteadyClock::now();
    const bool in_frame = framer.inFrame();
    const auto deadline = in_frame ? frame_started + partial_timeout : idle_since + idle_timeout;
    if (now >= deadline) {
      if (in_frame) {
        ++state_->counters().partial_frame_timeouts;
        noteBadInput("[conn=" + id_ + "] frame not finished within " +
                     std::to_string(settings_.partial_frame_timeout_seconds) + " s: closing");
      } else {
        // Senders reconnect when they have something to send: not worth more than debug.
        ++state_->counters().idle_timeouts;
        logDebug(logger_, "[conn=" + id_ + "] idle for " +
                                std::to_string(settings_.idle_timeout_seconds) + " s: closing");
      }
      return;
    }
    const auto wait = std::min<SteadyClock::duration>(deadline - now, kStopCheckInterval);
    if (!readable(std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                  std::chrono::milliseconds(1))) {
      continue;
    }
    int received = 0;
    try {
      received = s.receiveBytes(buffer.data(), static_cast<int>(buffer.size()));
    } catch (const Poco::TimeoutException&) {
      continue;  // a TLS record still incomplete; the deadlines above decide
    }
    if (received == 0) {
      logDebug(logger_, "[conn=" + id_ + "] peer closed the connection");
      return;
    }
    if (received < 0) {
      continue;  // TLS wants more bytes before it has application data
    }

    frames.clear();
    const std::uint64_t skipped_before = framer.skippedBytes();
    framer.feed(std::string_view(buffer.data(), static_cast<std::size_t>(received)), frames);
    const std::uint64_t skipped = framer.skippedBytes() - skipped_before;
    if (skipped > 0) {
      skipped_bytes_ += skipped;
      state_->counters().bytes_skipped += skipped;
      noteBadInput("[conn=" + id_ + "] skipped " + std::to_string(skipped) +
                   " byte(s) outside MLLP frames");
    }
    for (const MllpFrame& frame : frames) {
      if (!handleFrame(frame)) {
        return;
      }
      idle_since = SteadyClock::now();
      if (state_->stopping()) {
        logDebug(logger_, "[conn=" + id_ + "] closing after the frame in flight: stopping");
        return;
      }
    }
    // A frame that began in this read is timed from now, after the frames before it were
    // answered, so a slow commit does not count against the sender.
    if (framer.inFrame() && (!in_frame || !frames.empty())) {
      frame_started = SteadyClock::now();
    }
  }
}

bool MllpConnection::readable(std::chrono::milliseconds wait) {
  Poco::Net::StreamSocket& s = socket();
  if (state_->tls() && s.available() > 0) {
    return true;  // decrypted bytes already buffered inside OpenSSL
  }
  return s.poll(Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(wait.count()) * 1000),
                Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR);
}

bool MllpConnection::handshake() {
  Poco::Net::SecureStreamSocket secure(socket());
  const auto deadline =
      SteadyClock::now() + std::chrono::seconds(settings_.partial_frame_timeout_seconds);
  for (;;) {
    try {
      if (secure.completeHandshake() != 1) {
        logDebug(logger_, "[conn=" + id_ + "] closed during the TLS handshake");
        return false;
      }
      break;
    } catch (const Poco::TimeoutException&) {
      if (state_->stopping()) {
        logDebug(logger_, "[conn=" + id_ + "] closing during the TLS handshake: stopping");
        return false;
      }
      if (SteadyClock::now() >= deadline) {
        ++state_->counters().partial_frame_timeouts;
        poco_information(logger_, "[conn=" + id_ + "] TLS handshake not finished within " +
                                      std::to_string(settings_.partial_frame_timeout_seconds) +
                                      " s: closing");
        return false;
      }
    } catch (const Poco::Exception& e) {
      // A plain-TCP client, a TLS version below the minimum, an untrusted client certificate.
      ++state_->counters().tls_handshake_failures;
      poco_information(logger_, "[conn=" + id_ + "] TLS handshake with " + peer_ +
                                    " failed: " + e.displayText());
      return false;
    }
  }
  if (!clientCertificateAllowed()) {
    return false;
  }
  logDebug(logger_, "[conn=" + id_ + "] TLS handshake complete");
  return true;
}

bool MllpConnection::clientCertificateAllowed() {
  const std::vector<std::string>& allowed = settings_.tls.allowed_client_subjects;
  if (allowed.empty()) {
    return true;
  }
  Poco::Net::SecureStreamSocket secure(socket());
  std::string subject = "(no certificate)";
  if (secure.havePeerCertificate()) {
    const Poco::Net::X509Certificate certificate = secure.peerCertificate();
    if (clientSubjectAllowed(certificate.certificate(), allowed)) {
      return true;
    }
    subject = certificateSubject(certificate.certificate());
  }
  ++state_->counters().client_certificates_rejected;
  // A certificate subject names a system, not a patient: it is logged to help the operator.
  poco_information(logger_, "[conn=" + id_ + "] client certificate not allowed: subject \"" +
                                subject + "\" is not in tls.allowed_client_subjects; closing");
  return false;
}

bool MllpConnection::handleFrame(const MllpFrame& frame) {
  ++frames_;
  ++state_->counters().frames;
  Answer answer = answerFrame(frame);
  if (answer.ack) {
    if (!sendAck(*answer.ack)) {
      return false;
    }
    if (answer.code) {
      state_->counters().countAck(*answer.code);
    }
  } else if (answer.code) {
    ++state_->counters().acks_suppressed;
  }
  return !answer.close;
}

MllpConnection::Answer MllpConnection::answerFrame(const MllpFrame& frame) {
  try {
    return frame.oversized ? answerOversized(frame.payload) : answerMessage(frame.payload);
  } catch (const std::exception& e) {
    ++state_->counters().internal_errors;
    logBug(e.what());
  } catch (...) {
    ++state_->counters().internal_errors;
    logBug("non-standard exception");
  }
  return answerAfterBug(frame.payload);
}

MllpConnection::Answer MllpConnection::answerMessage(const std::string& payload) {
  Answer answer;
  Result<hl7::Message> parsed = hl7::Message::parse(payload);
  if (!parsed.ok()) {
    ++state_->counters().parse_errors;
    // Parser messages name the field, never its value.
    noteBadInput("[conn=" + id_ + "] unparseable message (" + sizeText(payload.size()) +
                 "): " + parsed.status().message());
    const hl7::AckDecision decision = hl7::decideAck(parsed.status(), "");
    answer.code = decision.code;
    if (decision.send) {
      answer.ack = hl7::buildAckForUnparsed(payload, decision, ackControlId(),
                                            std::chrono::system_clock::now());
    }
    return answer;
  }
  const hl7::Message& message = *parsed;
  Status outcome;
  const std::vector<std::string>& facilities = settings_.allowed_sending_facilities;
  const std::string facility = message.get("MSH-4.1");
  if (!facilities.empty() &&
      std::find(facilities.begin(), facilities.end(), facility) == facilities.end()) {
    ++state_->counters().facility_rejections;
    noteBadInput("[conn=" + id_ + "] " + describe(message, payload.size()) +
                 ": sending facility \"" + printable(facility) + "\" not allowed");
    outcome = Status::permissionDenied("sending facility not allowed");
  } else {
    InboundEvent event;
    event.source = EventSource::Hl7v2;
    event.listener = settings_.name;
    event.peer = peer_;
    event.sending_application = std::string(message.sendingApplication());
    event.sending_facility = std::string(message.sendingFacility());
    event.control_id = std::string(message.controlId());
    event.message_type = message.messageType();
    event.version = std::string(message.version());
    event.payload = payload;
    const Deadline deadline =
        SteadyClock::now() + std::chrono::milliseconds(settings_.commit_timeout_ms);
    const Result<IntakeReceipt> receipt = state_->sink().accept(std::move(event), deadline);
    outcome = receipt.status();
    if (receipt.ok() && logger_.debug()) {
      logDebug(logger_, "[conn=" + id_ + "] " + describe(message, payload.size()) +
                              ": committed as event " + std::to_string(receipt->event_id) +
                              (receipt->duplicate ? " (duplicate)" : ""));
    } else if (!receipt.ok()) {
      noteBadInput("[conn=" + id_ + "] " + describe(message, payload.size()) +
                   ": not accepted: " + outcome.toString());
    }
  }
  // The one mapping from outcome to ACK: AA/CA only when the sink returned OK.
  const hl7::AckDecision decision = hl7::decideAck(outcome, message.acceptAckType(), message.applicationAckType());
  answer.code = decision.code;
  if (decision.send) {
    answer.ack =
        hl7::buildAck(message, decision, ackControlId(), std::chrono::system_clock::now());
  }
  return answer;
}

MllpConnection::Answer MllpConnection::answerOversized(const std::string& head) {
  ++state_->counters().oversized_frames;
  Answer answer;
  answer.close = true;
  // A size limit is our policy, not a content error: resending the same bytes cannot help.
  const Status outcome = Status::permissionDenied(
      "message exceeds max_frame_bytes (" + std::to_string(settings_.max_frame_bytes) + " bytes)");
  // The head is cut mid-message, but its MSH is whole in any real message.
  const Result<hl7::Message> parsed = hl7::Message::parse(head);
  const std::string control_id = parsed.ok() ? std::string(parsed->controlId()) : "";
  noteBadInput("[conn=" + id_ + "] frame larger than max_frame_bytes (" +
               std::to_string(settings_.max_frame_bytes) + "), control_id=" +
               (control_id.empty() ? "(unreadable)" : printable(control_id)) +
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

MllpConnection::Answer MllpConnection::answerAfterBug(const std::string& payload) {
  Answer answer;
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

void MllpConnection::logBug(const char* what) {
  // Type and what() only: an exception text never carries payload bytes by our rules, and this
  // line is all an operator gets.
  poco_error(logger_, "[conn=" + id_ + "] BUG: " + currentExceptionType() + ": " + what);
}

bool MllpConnection::sendAck(const std::string& ack) {
  std::string framed;
  framed.reserve(ack.size() + 3);
  framed += kStartBlock;
  framed += ack;
  framed += kEndBlock;
  framed += kCarriageReturn;
  try {
    std::size_t sent = 0;
    while (sent < framed.size()) {
      const int n =
          socket().sendBytes(framed.data() + sent, static_cast<int>(framed.size() - sent));
      if (n <= 0) {
        poco_information(logger_, "[conn=" + id_ + "] cannot send the ACK: connection closed");
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
  } catch (const Poco::Exception& e) {
    poco_information(logger_, "[conn=" + id_ + "] cannot send the ACK: " + e.displayText());
    return false;
  }
  return true;
}

void MllpConnection::noteBadInput(const std::string& line) {
  ++bad_inputs_;
  if (bad_inputs_ <= kLoggedBadInputs) {
    poco_information(logger_, line);
  } else {
    logDebug(logger_, line);
  }
}

std::string MllpConnection::ackControlId() const { return nextAckControlId(settings_.name); }

}  // namespace gw::mllp
