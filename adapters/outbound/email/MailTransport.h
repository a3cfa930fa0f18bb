// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/outbound/email/EmailSettings.h"
#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw::email {

// One message ready to go: envelope, a stable name and the whole RFC 5322 text (CRLF lines).
struct OutgoingMail {
  std::string from;  // envelope sender
  std::string to;    // envelope recipient (PHI: never logged)
  std::string key;   // hex digest of the idempotency key: pickup file name, log correlation
  std::string data;
};

// Moves finished messages. Errors: Unavailable / DeadlineExceeded (retry), FailedPrecondition
// (nothing was sent: no STARTTLS, certificate or host name not verified, TLS below the minimum),
// InvalidArgument (the server refused the recipient or message permanently, 5xx),
// PermissionDenied (authentication refused). Messages carry no PHI. Thread-safe.
class MailTransport {
 public:
  MailTransport() = default;
  virtual ~MailTransport() = default;
  MailTransport(const MailTransport&) = delete;
  MailTransport& operator=(const MailTransport&) = delete;

  // "verified_tls" or "pickup", for receipts.
  virtual std::string_view method() const = 0;
  // Returns a PHI-free detail for the receipt: the server's final reply code or the file name.
  virtual Result<std::string> send(const OutgoingMail& mail, Deadline deadline) = 0;
};

// Writes each message to <directory>/<key>.eml: a temporary file (mode 0600) is written, synced
// and renamed over the final name, so a reader never sees half a message and a retry of the same
// message replaces the file instead of adding a second one.
class PickupTransport final : public MailTransport {
 public:
  // Creates the directory (0700) when it does not exist. Errors: InvalidArgument naming it.
  static Result<std::unique_ptr<PickupTransport>> create(const std::string& directory);

  std::string_view method() const override { return "pickup"; }
  Result<std::string> send(const OutgoingMail& mail, Deadline deadline) override;

 private:
  explicit PickupTransport(std::string directory) : directory_(std::move(directory)) {}
  std::string directory_;
};

class SmtpSession;

// SMTP submission with STARTTLS always required (RFC 3207): TLS 1.2+ (or 1.3), the server's
// certificate chain verified against `ca` (or the system CAs) and its name checked against
// smtp.host by OpenSSL during the handshake, before any message byte is sent. Optional AUTH
// after STARTTLS. Idle connections are kept (up to pool_size) and reused; when the server has
// closed a pooled connection (seen at MAIL FROM, before any message byte), the message goes on
// a fresh connection.
class SmtpTransport final : public MailTransport {
 public:
  // Builds the TLS context and reads the password file. Initialises POCO's SSL library and
  // ignores SIGPIPE process-wide (once). Errors: InvalidArgument naming the setting,
  // PermissionDenied for a password file readable by others.
  static Result<std::unique_ptr<SmtpTransport>> create(const SmtpSettings& settings);
  ~SmtpTransport() override;

  std::string_view method() const override { return "verified_tls"; }
  Result<std::string> send(const OutgoingMail& mail, Deadline deadline) override;

  // Connections opened so far (tests and the benchmark check reuse).
  std::int64_t connectionsOpened() const { return connections_opened_.load(); }

 private:
  struct Tls;
  SmtpTransport(SmtpSettings settings, std::unique_ptr<Tls> tls, std::string password);
  Result<std::unique_ptr<SmtpSession>> connect(Deadline deadline);
  std::unique_ptr<SmtpSession> takeIdle();
  void giveBack(std::unique_ptr<SmtpSession> session);

  SmtpSettings settings_;
  std::unique_ptr<Tls> tls_;
  std::string password_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<SmtpSession>> idle_;
  std::atomic<std::int64_t> connections_opened_{0};
};

// The transport `settings.transport` names.
Result<std::shared_ptr<MailTransport>> makeMailTransport(const EmailSettings& settings);

}  // namespace gw::email
