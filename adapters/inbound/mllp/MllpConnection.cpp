// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpConnection.h"

#include <Poco/Exception.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/X509Certificate.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <typeinfo>
#include <utility>
#include <vector>

#include "adapters/inbound/mllp/MllpTls.h"

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
// Refused connections: the first and then every this many are logged.
constexpr std::uint64_t kRefusalLogInterval = 100;

void logDebug(Poco::Logger& logger, const std::string& line) {
  if (logger.debug()) {
    logger.debug(line);
  }
}

}  // namespace

void MllpCounters::countAck(hl7::AckCode code) {
  switch (code) {
    case hl7::AckCode::AA:
      ++acks_aa;
      break;
    case hl7::AckCode::AE:
      ++acks_ae;
      break;
    case hl7::AckCode::AR:
      ++acks_ar;
      break;
    case hl7::AckCode::CA:
      ++acks_ca;
      break;
    case hl7::AckCode::CE:
      ++acks_ce;
      break;
    case hl7::AckCode::CR:
      ++acks_cr;
      break;
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

void MllpListenerState::closeConnection() {
  --open_connections_;
}

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

MllpConnection::~MllpConnection() {
  state_->closeConnection();
}

void MllpConnection::run() {
  // Every exit path returns normally: POCO must never see an exception from here.
  try {
    session();
  } catch (...) {
    ++state_->counters().internal_errors;
    if (answers_) {
      answers_->logBug("in the connection loop");
    } else {
      poco_error(logger_, "[conn=" + id_ + "] BUG: exception before serving");
    }
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
  answers_ = std::make_unique<FrameAnswers>(settings_, state_->counters(), logger_, id_, peer_);
  ++state_->counters().connections_accepted;
  const auto opened = SteadyClock::now();
  poco_information(logger_,
                   "[conn=" + id_ + "] opened from " + peer_ + (state_->tls() ? " (TLS)" : ""));
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
                                std::to_string(answers_->badInputs()) + " bad input(s), " +
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
        answers_->noteBadInput("[conn=" + id_ + "] frame not finished within " +
                               std::to_string(settings_.partial_frame_timeout_seconds) +
                               " s: closing");
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
      answers_->noteBadInput("[conn=" + id_ + "] skipped " + std::to_string(skipped) +
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
  FrameAnswer answer = answerFrame(frame);
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

FrameAnswer MllpConnection::answerFrame(const MllpFrame& frame) {
  FrameStep step = answers_->begin(frame);
  if (!step.event) {
    return std::move(step.answer);
  }
  const Deadline deadline =
      SteadyClock::now() + std::chrono::milliseconds(settings_.commit_timeout_ms);
  try {
    const Result<IntakeReceipt> receipt = state_->sink().accept(std::move(*step.event), deadline);
    return answers_->afterCommit(frame.payload, receipt);
  } catch (const std::exception& e) {
    ++state_->counters().internal_errors;
    answers_->logBug(e.what());
  } catch (...) {
    ++state_->counters().internal_errors;
    answers_->logBug("non-standard exception");
  }
  return answers_->afterBug(frame.payload);
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

}  // namespace gw::mllp
