// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/inbound/mllp/MllpSettings.h"
#include "gateway/api/InboundAdapter.h"
#include "gateway/api/InboundSink.h"
#include "gateway/api/Result.h"

namespace Poco::Net {
class ServerSocket;
}

namespace gw {

// Counters of one MLLP listener since it was made (for metrics). A snapshot; values only grow.
struct MllpStats {
  std::uint64_t connections_accepted = 0;  // served (admitted under max_connections)
  std::uint64_t connections_refused = 0;   // closed at once: max_connections open, or a burst
  std::uint64_t frames = 0;                // frames received, oversized and empty ones included
  std::uint64_t bytes_skipped = 0;         // bytes outside frames and of restarted partial frames
  std::uint64_t oversized_frames = 0;      // frames over max_frame_bytes (answered AR, closed)
  std::uint64_t parse_errors = 0;          // frames that did not parse as HL7 v2 (answered AE)
  std::uint64_t facility_rejections = 0;   // MSH-4.1 not in allowed_sending_facilities (AR)
  std::uint64_t acks_aa = 0;               // ACKs sent, per MSA-1 code
  std::uint64_t acks_ae = 0;
  std::uint64_t acks_ar = 0;
  std::uint64_t acks_ca = 0;
  std::uint64_t acks_ce = 0;
  std::uint64_t acks_cr = 0;
  std::uint64_t acks_suppressed = 0;         // not sent because MSH-15 (NE/ER/SU) asked for none
  std::uint64_t idle_timeouts = 0;           // connections closed after idle_timeout_seconds
  std::uint64_t partial_frame_timeouts = 0;  // closed: frame or handshake not finished in time
  std::uint64_t tls_handshake_failures = 0;  // TLS handshakes that failed (plain TCP, old TLS, ...)
  std::uint64_t client_certificates_rejected = 0;  // subject not in allowed_client_subjects
  std::uint64_t internal_errors = 0;  // bugs caught by the per-frame catch-all (answered AR)
};

// HL7 v2 over MLLP (plain TCP or TLS) into an InboundSink. Each frame is parsed, checked against
// the sending-facility allow-list and handed to the sink with a deadline of commit_timeout_ms;
// the sink's Status becomes the ACK through hl7::decideAck(), so AA/CA is only sent for a
// committed message. README.md in this folder has the answer to every error.
//
// Thread-safety: start()/stop() from one thread; stats() from any thread. I/O models
// (settings.io_model): plain-TCP listeners are served by one epoll I/O thread that hands the
// frames of all ready connections to InboundSink::acceptBatch() together; TLS listeners (and
// io_model "threads") by a pool of max_connections threads, one connection each, calling
// InboundSink::accept() per frame.
class MllpAdapter final : public InboundAdapter {
 public:
  ~MllpAdapter() override;  // stop()s

  // InboundAdapter
  std::string_view name() const override;
  // Binds host:port (SO_REUSEADDR, never SO_REUSEPORT) and serves. Unavailable, naming the
  // address, when it cannot be resolved or bound; Internal when already started.
  Status start() override;
  // "127.0.0.1:<port>" once started (the actual port when port is 0); before, the configured one.
  std::string boundAddress() const override;
  // Stops accepting (the listening socket is closed), lets every connection finish and answer
  // the frame it is processing, closes the connections and returns. Idempotent.
  void stop() override;

  MllpStats stats() const;

 private:
  struct Impl;
  explicit MllpAdapter(std::unique_ptr<Impl> impl);
  friend Result<InboundAdapterPtr> makeMllpAdapter(const MllpSettings& settings, InboundSink& sink);

  // start() with the reactor I/O model, on the bound and listening `socket`.
  Status startReactor(Poco::Net::ServerSocket& socket);

  std::unique_ptr<Impl> impl_;
};

// Validates `settings` (ranges as readMllpSettings() checks them, non-empty name and host, TLS
// files) and makes the adapter without binding. With TLS enabled, the certificate chain, private
// key (unencrypted PEM; must match the certificate) and CA bundle are loaded here: an unreadable
// or mismatched file is InvalidArgument naming the setting, the path and OpenSSL's reason.
// `sink` must outlive the adapter. The result is an MllpAdapter (dynamic_cast for stats()).
Result<InboundAdapterPtr> makeMllpAdapter(const MllpSettings& settings, InboundSink& sink);

}  // namespace gw
