// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/adapters/inbound/mllp/MllpTestClient.h"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

namespace gw::test {
namespace {

constexpr long kConnectTimeoutSeconds = 5;

// GW_TEST_LOG=<level> (e.g. debug) prints the adapter's log lines, to read them for PHI.
const bool kLogConfigured = [] {
  if (const char* level = std::getenv("GW_TEST_LOG")) {
    Poco::Logger::root().setChannel(Poco::AutoPtr<Poco::Channel>(new Poco::ConsoleChannel));
    Poco::Logger::root().setLevel(level);
  }
  return true;
}();

// Writing to a socket the server closed must fail, not kill the test.
void ignoreSigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

MllpTestClient::MllpTestClient(const std::string& address) {
  ignoreSigpipe();
  socket_.connect(Poco::Net::SocketAddress(address), Poco::Timespan(kConnectTimeoutSeconds, 0));
  socket_.setReceiveTimeout(Poco::Timespan(5, 0));
  socket_.setSendTimeout(Poco::Timespan(5, 0));
}

MllpTestClient::MllpTestClient(const std::string& address, int receive_buffer_bytes)
    : socket_(Poco::Net::SocketAddress::IPv4) {
  ignoreSigpipe();
  socket_.setReceiveBufferSize(receive_buffer_bytes);
  socket_.connect(Poco::Net::SocketAddress(address), Poco::Timespan(kConnectTimeoutSeconds, 0));
  socket_.setReceiveTimeout(Poco::Timespan(5, 0));
  socket_.setSendTimeout(Poco::Timespan(5, 0));
}

void MllpTestClient::shutdownSend() {
  try {
    socket_.shutdownSend();
  } catch (const Poco::Exception&) {
  }
}

MllpTestClient::MllpTestClient(const std::string& address, Poco::Net::Context::Ptr context)
    : secure_(true) {
  ignoreSigpipe();
  Poco::Net::SecureStreamSocket secure(context);
  // Connecting completes the handshake, so a refused handshake throws here.
  secure.connect(Poco::Net::SocketAddress(address), Poco::Timespan(kConnectTimeoutSeconds, 0));
  socket_ = secure;
  socket_.setReceiveTimeout(Poco::Timespan(5, 0));
  socket_.setSendTimeout(Poco::Timespan(5, 0));
}

MllpTestClient::~MllpTestClient() {
  close();
}

void MllpTestClient::close() {
  try {
    socket_.close();
  } catch (const Poco::Exception&) {
  }
  closed_ = true;
}

bool MllpTestClient::sendRaw(const std::string& bytes) {
  try {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const int n = socket_.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) {
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  } catch (const Poco::Exception&) {
    return false;
  }
}

bool MllpTestClient::sendFrame(const std::string& payload) {
  return sendRaw("\x0B" + payload + "\x1C\x0D");
}

bool MllpTestClient::readSome(std::chrono::milliseconds wait) {
  if (closed_) {
    return false;
  }
  try {
    const bool buffered = secure_ && socket_.available() > 0;
    if (!buffered &&
        !socket_.poll(Poco::Timespan(wait.count() * 1000),
                      Poco::Net::Socket::SELECT_READ | Poco::Net::Socket::SELECT_ERROR)) {
      return true;
    }
    char buffer[16 * 1024];
    const int n = socket_.receiveBytes(buffer, sizeof(buffer));
    if (n == 0) {
      closed_ = true;
      return false;
    }
    if (n > 0) {
      std::vector<mllp::MllpFrame> frames;
      framer_.feed(std::string_view(buffer, static_cast<std::size_t>(n)), frames);
      for (mllp::MllpFrame& f : frames) {
        frames_.push_back(std::move(f.payload));
      }
    }
    return true;
  } catch (const Poco::TimeoutException&) {
    return true;
  } catch (const Poco::Exception&) {
    closed_ = true;  // reset by the server, TLS alert, ...
    return false;
  }
}

std::optional<std::string> MllpTestClient::readFrame(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (frames_.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline || !readSome(std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::min<std::chrono::steady_clock::duration>(
                                   deadline - now, std::chrono::milliseconds(100))))) {
      break;
    }
  }
  if (frames_.empty()) {
    return std::nullopt;
  }
  std::string frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

bool MllpTestClient::waitClosed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!readSome(std::chrono::milliseconds(100))) {
      return true;
    }
  }
  return closed_;
}

std::string MllpTestClient::localAddress() const {
  return socket_.address().toString();
}

std::string adtMessage(const std::string& control_id, const std::string& facility,
                       const std::string& accept_ack_type) {
  return "MSH|^~\\&|EPIC|" + facility + "|GW|GWFAC|20240101120000||ADT^A01^ADT_A01|" + control_id +
         "|P|2.5.1|||" + accept_ack_type +
         "\rEVN|A01|20240101120000\rPID|1||SYN123^^^HOSP^MR||Testpatient^Alice\r";
}

std::vector<std::string> segmentFields(const std::string& message, const std::string& segment) {
  std::size_t start = 0;
  while (start < message.size()) {
    std::size_t end = message.find('\r', start);
    if (end == std::string::npos) {
      end = message.size();
    }
    const std::string line = message.substr(start, end - start);
    if (line.compare(0, segment.size() + 1, segment + "|") == 0) {
      std::vector<std::string> fields;
      std::size_t pos = 0;
      for (;;) {
        const std::size_t bar = line.find('|', pos);
        const std::size_t length = bar == std::string::npos ? std::string::npos : bar - pos;
        fields.push_back(line.substr(pos, length));
        if (bar == std::string::npos) {
          break;
        }
        pos = bar + 1;
      }
      return fields;
    }
    start = end + 1;
  }
  return {};
}

std::string field(const std::string& message, const std::string& segment, std::size_t n) {
  const std::vector<std::string> fields = segmentFields(message, segment);
  // In MSH the field separator itself is MSH-1, so MSH-n sits at index n - 1.
  const std::size_t index = segment == "MSH" ? n - 1 : n;
  return index < fields.size() ? fields[index] : "";
}

}  // namespace gw::test
