// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gateway/api/Result.h"

namespace gw {

struct MllpClientSettings {
  std::string host = "127.0.0.1";
  int port = 2575;
  bool tls = false;
  std::string ca;           // CA file that must have signed the server's certificate
  std::string certificate;  // client certificate for mutual TLS
  std::string private_key;
  int timeout_ms = 10000;   // per ACK
};

// A blocking MLLP sender: one connection, one message in flight. Used by `gateway mllp-send`,
// the benchmarks and the EHR simulator. TLS verifies the server's certificate and host name.
class MllpClient {
 public:
  static Result<std::unique_ptr<MllpClient>> connect(const MllpClientSettings& settings);
  virtual ~MllpClient() = default;
  MllpClient(const MllpClient&) = delete;
  MllpClient& operator=(const MllpClient&) = delete;

  // Frames and sends one message, waits for one frame back and returns its bytes (unframed).
  // Unavailable when the connection breaks, DeadlineExceeded when no ACK came in time.
  virtual Result<std::string> exchange(const std::string& message) = 0;
  // The two halves of exchange(), for messages that ask for no answer.
  virtual Status send(const std::string& message) = 0;
  virtual Result<std::string> receive() = 0;

 protected:
  MllpClient() = default;
};

// `gateway mllp-send`: sends every message of every file (multi-message files and batches are
// split; segment terminators normalised to CR), prints "<control id>\t<ACK code>" per message,
// returns 0 only if every ACK was AA (or CA). Messages whose MSH-15 asks for no answer on
// success are sent without waiting ("sent (no ACK requested)").
int mllpSend(const MllpClientSettings& settings, const std::vector<std::string>& files);

}  // namespace gw
