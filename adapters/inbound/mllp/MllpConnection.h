// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Logger.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnection.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "adapters/inbound/mllp/MllpAdapter.h"
#include "adapters/inbound/mllp/MllpFrameAnswers.h"
#include "adapters/inbound/mllp/MllpFramer.h"
#include "adapters/inbound/mllp/MllpSettings.h"
#include "gateway/api/InboundSink.h"
#include "gateway/hl7/Ack.h"

namespace gw::mllp {

// The adapter's counters, shared by its connections. Lock-free; read with snapshot().
struct MllpCounters {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> bytes_skipped{0};
  std::atomic<std::uint64_t> oversized_frames{0};
  std::atomic<std::uint64_t> parse_errors{0};
  std::atomic<std::uint64_t> facility_rejections{0};
  std::atomic<std::uint64_t> acks_aa{0};
  std::atomic<std::uint64_t> acks_ae{0};
  std::atomic<std::uint64_t> acks_ar{0};
  std::atomic<std::uint64_t> acks_ca{0};
  std::atomic<std::uint64_t> acks_ce{0};
  std::atomic<std::uint64_t> acks_cr{0};
  std::atomic<std::uint64_t> acks_suppressed{0};
  std::atomic<std::uint64_t> idle_timeouts{0};
  std::atomic<std::uint64_t> partial_frame_timeouts{0};
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::uint64_t> client_certificates_rejected{0};
  std::atomic<std::uint64_t> internal_errors{0};

  void countAck(hl7::AckCode code);
  MllpStats snapshot() const;
};

// What the connections of one started listener share. Held by shared_ptr by the adapter, the
// connection factory, the admission filter and every connection, so it outlives all of them.
// Thread-safe.
class MllpListenerState {
 public:
  MllpListenerState(const MllpSettings& settings, InboundSink& sink,
                    std::shared_ptr<MllpCounters> counters, bool tls);
  MllpListenerState(const MllpListenerState&) = delete;
  MllpListenerState& operator=(const MllpListenerState&) = delete;

  const MllpSettings& settings() const { return settings_; }
  InboundSink& sink() const { return sink_; }
  MllpCounters& counters() const { return *counters_; }
  Poco::Logger& logger() const { return logger_; }
  bool tls() const { return tls_; }

  // Acceptor thread: false when max_connections connections are open (the caller closes the
  // socket). A cheap early check; openConnection() is the exact one.
  bool admit(const std::string& peer);
  // Connection objects count themselves: openConnection() in the constructor (false when that
  // makes more than max_connections), closeConnection() in the destructor. Tying the count to
  // the object means no code path between accept and serve can leak a slot.
  bool openConnection();
  void closeConnection();
  // Counts and logs (the first, then every 100th) a refused connection.
  void refuse(const std::string& peer);
  // After beginStop() connections finish the frame they are answering and close; connections
  // not yet serving close without reading.
  void beginStop() { stopping_.store(true); }
  bool stopping() const { return stopping_.load(); }
  // "<listener>-<n>" for log lines.
  std::string nextConnectionId();

 private:
  const MllpSettings settings_;
  InboundSink& sink_;
  std::shared_ptr<MllpCounters> counters_;
  Poco::Logger& logger_;
  const bool tls_;
  std::atomic<int> open_connections_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> connection_sequence_{0};
};

// One MLLP connection, run on a TCPServer pool thread: completes the TLS handshake (if any),
// cuts frames, answers each with exactly one ACK (unless MSH-15 asks for none), and closes on
// peer close, idle or partial-frame timeout, oversized frame, stop, or a socket error. AA/CA is
// only ever sent after InboundSink::accept() returned OK. Nothing escapes run(): a bug in the
// frame path is answered AR and logged "[conn=<id>] BUG: ...". Logs carry no payload bytes.
class MllpConnection final : public Poco::Net::TCPServerConnection {
 public:
  MllpConnection(const Poco::Net::StreamSocket& socket, std::shared_ptr<MllpListenerState> state);
  ~MllpConnection() override;
  MllpConnection(const MllpConnection&) = delete;
  MllpConnection& operator=(const MllpConnection&) = delete;

  // Poco::Net::TCPServerConnection
  void run() override;

 private:
  // Admission, open/close log lines and the peer's I/O errors around serve().
  void session();
  // TLS handshake, then the read loop until the connection must close.
  void serve();
  bool handshake();
  bool clientCertificateAllowed();
  // Waits up to `wait` for bytes to read; true when receiveBytes() will not block for long.
  bool readable(std::chrono::milliseconds wait);
  // Answers and sends; false when the connection must close.
  bool handleFrame(const MllpFrame& frame);
  FrameAnswer answerFrame(const MllpFrame& frame);
  bool sendAck(const std::string& ack);

  std::shared_ptr<MllpListenerState> state_;
  const MllpSettings& settings_;
  Poco::Logger& logger_;
  std::string id_;
  std::string peer_;
  std::unique_ptr<FrameAnswers> answers_;  // once serving (after admission)
  std::uint64_t frames_ = 0;
  std::uint64_t skipped_bytes_ = 0;
  bool within_limit_ = false;
};

}  // namespace gw::mllp
