// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Result.h"
#include "gateway/audit/AtnaMessage.h"

namespace gw {

// Settings of the live IHE ATNA audit sink (config section audit.atna).
struct AtnaSettings {
  // Send every audit record to the collector. Default: off.
  bool enabled = false;
  // Collector host name or IP address; its certificate must name it (DNS or IP SAN).
  std::string host;
  // Collector port (syslog over TLS, RFC 5425: 6514).
  int port = 6514;
  // PEM CA bundle that signed the collector's certificate; empty uses the system CAs.
  std::string ca_file;
  // Optional client certificate chain (PEM) and its private key (PEM, mode 0600) for collectors
  // that require mutual TLS. Both or neither.
  std::string certificate_file;
  std::string private_key_file;
  // RFC 5424 APP-NAME (1..48 printable ASCII characters).
  std::string app_name = "ehr-gateway";
  // RFC 5424 HOSTNAME; empty: this machine's host name.
  std::string hostname;
  // Where the sink keeps the seq of the last record written to the collector (mode 0600).
  std::string cursor_file = "var/audit/atna.cursor";
  // How often the store is checked for new records when there is no backlog, in ms.
  int poll_interval_ms = 1000;
  // Reconnect delay after a failure: doubles from min to max, in ms.
  int reconnect_min_ms = 1000;
  int reconnect_max_ms = 60000;
  // TCP connect, TLS handshake and each write must finish within this, in ms.
  int io_timeout_ms = 10000;
  // Records written per TLS write, at most.
  int max_batch = 256;
  // AuditSourceID of every message (the daemon sets audit.origin).
  std::string audit_source_id = "gateway.invalid/audit";
};

// Checks settings that can be checked without touching the network or files (host, port,
// header fields, ranges, certificate/key pairing): one message per problem, each naming its key.
std::vector<std::string> atnaSettingsErrors(const AtnaSettings& settings);
// The same as a Status: InvalidArgument with the first problem.
Status checkAtnaSettings(const AtnaSettings& settings);

// The connection to the collector. Implementations: syslog over TLS (makeTlsSyslogTransport())
// and fakes in tests. Used by one thread at a time.
class AtnaTransport {
 public:
  AtnaTransport() = default;
  virtual ~AtnaTransport() = default;
  AtnaTransport(const AtnaTransport&) = delete;
  AtnaTransport& operator=(const AtnaTransport&) = delete;

  // Opens a connection (closing any previous one). Unavailable says why it failed (refused,
  // timed out, certificate not trusted or for another host), without PHI.
  virtual Status connect() = 0;
  // Writes all of `bytes` or fails with Unavailable/DeadlineExceeded (the connection is then
  // closed and must be reopened).
  virtual Status send(std::string_view bytes) = 0;
  // Whether the open connection is still usable: false once the collector closed or reset it.
  virtual bool healthy() = 0;
  // Closes the connection (TLS close_notify when possible). Idempotent.
  virtual void close() = 0;
  virtual bool isConnected() const = 0;
  // "host:port", for log lines.
  virtual std::string peer() const = 0;
};

// Syslog over TLS 1.2+ (RFC 5425) to settings.host:port. The collector's certificate is verified
// against `ca_file` and its name against `host` (an IP literal against IP SANs, a name against
// DNS SANs; SNI is sent for names); the client certificate is presented when configured.
// Validates and loads the CA, certificate and key now. Errors: InvalidArgument (settings, files
// that cannot be loaded), PermissionDenied (private key readable by others), NotFound.
Result<std::unique_ptr<AtnaTransport>> makeTlsSyslogTransport(const AtnaSettings& settings);

// Counters of the sink (no PHI).
struct AtnaSinkStats {
  std::int64_t cursor = 0;         // last seq acknowledged (persisted in the cursor file)
  std::int64_t sent_seq = 0;       // last seq written on the current connection
  std::int64_t latest_seq = 0;     // highest seq seen in the store
  std::int64_t pending = 0;        // latest_seq - cursor: records not yet acknowledged
  std::uint64_t records_sent = 0;  // records written since start (resends included)
  std::uint64_t resends = 0;       // records written again after a connection was lost
  std::uint64_t connects = 0;      // connections opened
  std::uint64_t connect_failures = 0;
  std::uint64_t send_failures = 0;  // writes failed or connections found dead
  bool connected = false;
  std::string last_error;  // last connect/send error, empty when none
};

// The live IHE ATNA sink: sends every audit record of `store`, in seq order, as an RFC 5424
// syslog message carrying a DICOM AuditMessage (AtnaMessage.h), octet-counted over `transport`.
//
// Durability: the audit table is the buffer. The sink keeps a cursor, the seq of the last record
// it counts as delivered, in `cursor_file` (atomic replace + fsync, mode 0600), and after a
// restart resumes after it; while the collector is down nothing is dropped, records simply stay
// pending. RFC 5425 has no acknowledgment, so "delivered" means: written to the TLS stream, and
// the connection was still healthy (not closed or reset by the collector) at the next round.
// When a write fails or the connection is found dead, the sink reconnects (backoff
// reconnect_min_ms doubling to reconnect_max_ms) and resends everything after the cursor: the
// delivery is AT LEAST ONCE, and a collector can drop duplicates by the audit_seq detail. A
// collector host that vanishes without closing the connection can still lose what was written
// after the last healthy check; those records remain in the store (and in `audit export`).
//
// Threading: start() runs the loop on its own thread; stop() ends it (confirming and persisting
// what the live connection took, then closing it; a connect or write in progress finishes first,
// bounded by io_timeout_ms). pumpOnce() is that loop's body, public so
// tests can drive the sink without the thread. stats() may be called from any thread. Logs (to
// "gw.audit.atna") carry seqs, counts and connection errors, never record fields.
class AtnaSink {
 public:
  // Reads the cursor file (missing: start from the first record; past the end of the store: start
  // over, logged as an error, since it belongs to another database). Errors: InvalidArgument
  // (settings; malformed cursor file), PermissionDenied (cursor file accessible by others),
  // Unavailable (I/O), and the store's errors.
  static Result<std::unique_ptr<AtnaSink>> create(AuditStorePtr store, AtnaSettings settings,
                                                  std::unique_ptr<AtnaTransport> transport);
  ~AtnaSink();
  AtnaSink(const AtnaSink&) = delete;
  AtnaSink& operator=(const AtnaSink&) = delete;

  void start();
  void stop();

  // One round: confirm what the connection took (or rewind to the cursor if it died), connect
  // when due, send up to max_batch records. Returns true when more records are waiting (the loop
  // goes on without sleeping); the status of a failed round is in stats().last_error.
  bool pumpOnce();

  AtnaSinkStats stats() const;
  const AtnaSettings& settings() const { return settings_; }

  // Reads a cursor file: 0 when it does not exist.
  static Result<std::int64_t> readCursor(const std::string& path);

 private:
  AtnaSink(AuditStorePtr store, AtnaSettings settings, std::unique_ptr<AtnaTransport> transport,
           atna::SyslogHeader header, std::int64_t cursor);
  void run();
  void confirmOrRewind();
  void connectionLost(const Status& why);
  Status persistCursor(std::int64_t seq);
  void scanForPending();

  const AuditStorePtr store_;
  const AtnaSettings settings_;
  const std::unique_ptr<AtnaTransport> transport_;  // used by the pumping thread only
  const atna::SyslogHeader header_;

  mutable std::mutex mu_;  // guards stats_ and the thread's state below
  AtnaSinkStats stats_;
  std::int64_t persisted_ = 0;  // cursor value in the file
  std::int64_t max_sent_ = 0;   // highest seq written in this run (to count resends)
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string frames_;  // reused send buffer

  std::condition_variable cv_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread thread_;
};

}  // namespace gw
