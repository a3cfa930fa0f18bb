// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/api/Result.h"

namespace gw::bench {

// One message the sink accepted (after the final "." of DATA was answered 250).
struct SinkMessage {
  std::string from;                     // MAIL FROM path, without the angle brackets
  std::vector<std::string> recipients;  // RCPT TO paths, in order
  std::string data;                     // message text, dot-unstuffed, CRLF lines, without "."
  std::chrono::steady_clock::time_point received_at;
};

struct SmtpSinkSettings {
  // PEM certificate chain and private key for STARTTLS; both empty: no STARTTLS offered.
  std::string certificate;
  std::string private_key;
  // Refuse MAIL before STARTTLS (530), as a server that only takes mail over TLS does.
  bool require_tls = true;
  // Keep every message in messages() (tests); the benchmarks only count and use on_message.
  bool keep_messages = false;
  // Called on the connection's thread for each accepted message (before the 250 is sent).
  std::function<void(const SinkMessage&)> on_message;
};

// A small SMTP server (RFC 5321) on 127.0.0.1:<ephemeral port> for the benchmarks and their
// tests: greeting, EHLO/HELO, STARTTLS (RFC 3207; plain input buffered before the handshake is
// discarded, the session starts over), MAIL/RCPT/DATA with dot-unstuffing, RSET, NOOP, QUIT,
// and PIPELINING (RFC 2920: replies to a group of commands are sent together once no complete
// command is left to read). Commands out of sequence get 503, malformed paths 501, unknown
// commands 500, MAIL before STARTTLS 530 (with require_tls). One thread per connection; data is
// not stored unless keep_messages is set.
//
// Thread-safety: every accessor may be called from any thread. stop() (also the destructor)
// closes the listener and every connection and joins their threads.
class SmtpSink {
 public:
  // Binds and starts accepting. Errors: InvalidArgument (certificate or key unusable),
  // Unavailable (cannot bind).
  static Result<std::unique_ptr<SmtpSink>> start(SmtpSinkSettings settings);
  ~SmtpSink();
  SmtpSink(const SmtpSink&) = delete;
  SmtpSink& operator=(const SmtpSink&) = delete;

  int port() const { return port_; }
  // Messages accepted so far.
  std::uint64_t count() const { return count_.load(); }
  // Connections accepted so far.
  std::uint64_t connections() const { return connections_.load(); }
  // A copy of the kept messages (keep_messages only).
  std::vector<SinkMessage> messages() const;
  void stop();

 private:
  struct Tls;
  struct Session;
  SmtpSink(SmtpSinkSettings settings, std::unique_ptr<Tls> tls, int listener, int port);
  void acceptLoop();
  void serve(int fd);
  void accepted(SinkMessage message);

  const SmtpSinkSettings settings_;
  std::unique_ptr<Tls> tls_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> connections_{0};
  mutable std::mutex mu_;
  bool stopping_ = false;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::vector<SinkMessage> kept_;
  std::thread acceptor_;
};

// Files of a throwaway PKI made by the openssl CLI: a CA and a server certificate for IP
// 127.0.0.1 signed by it (key files mode 0600).
struct TestPki {
  std::string ca;                  // CA certificate (PEM): what clients verify against
  std::string server_certificate;  // server certificate (PEM), subjectAltName IP:127.0.0.1
  std::string server_key;          // its private key (PEM)
};

// Writes the PKI into `directory` (which must exist). Errors: Internal naming the step that
// failed (e.g. the openssl CLI is missing).
Result<TestPki> makeTestPki(const std::string& directory);

}  // namespace gw::bench
