// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "adapters/inbound/mllp/MllpFramer.h"

namespace gw::test {

// A fake EHR: an MLLP client over a plain or TLS socket, reading ACKs with MllpFramer.
class MllpTestClient {
 public:
  // Connects over plain TCP to "host:port"; throws Poco::Exception when refused.
  explicit MllpTestClient(const std::string& address);
  // Connects over plain TCP with a receive buffer of `receive_buffer_bytes` (set before the
  // connect, so the server sees a small window: a slow reader).
  MllpTestClient(const std::string& address, int receive_buffer_bytes);
  // Connects and completes a TLS handshake with `context`; throws Poco::Exception on failure.
  MllpTestClient(const std::string& address, Poco::Net::Context::Ptr context);
  ~MllpTestClient();
  MllpTestClient(const MllpTestClient&) = delete;
  MllpTestClient& operator=(const MllpTestClient&) = delete;

  // Sends bytes as they are; false when the connection is gone.
  bool sendRaw(const std::string& bytes);
  // Sends <SB> payload <EB><CR>.
  bool sendFrame(const std::string& payload);
  // The next frame from the server, or nullopt when none arrives in time or the server closed.
  std::optional<std::string> readFrame(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // True when the server closes the connection (EOF or reset) within `timeout`; frames that
  // arrive meanwhile are kept for readFrame().
  bool waitClosed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Half-closes: the server reads EOF, this end can still read.
  void shutdownSend();
  // "ip:port" of this end, as the server sees it.
  std::string localAddress() const;
  void close();

 private:
  // Reads once, waiting at most `wait`; false once closed.
  bool readSome(std::chrono::milliseconds wait);

  Poco::Net::StreamSocket socket_;
  bool secure_ = false;
  mllp::MllpFramer framer_;
  std::deque<std::string> frames_;
  bool closed_ = false;
};

// An ADT^A01 from EPIC at `facility` with control id `control_id`; MSH-15 set when given.
std::string adtMessage(const std::string& control_id, const std::string& facility = "HOSP",
                       const std::string& accept_ack_type = "");

// Fields of the first segment named `segment` of an HL7 message ('|' separated, [0] = name);
// empty when absent.
std::vector<std::string> segmentFields(const std::string& message, const std::string& segment);
// Field `n` of that segment ("" when absent). For MSH, n counts like HL7 (MSH-3 = 3).
std::string field(const std::string& message, const std::string& segment, std::size_t n);

}  // namespace gw::test
