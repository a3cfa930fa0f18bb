// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/MllpClient.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "gateway/hl7/Ack.h"
#include "gateway/hl7/Message.h"

namespace gw {
namespace {

constexpr char kStartBlock = 0x0B;
constexpr char kEndBlock = 0x1C;
constexpr char kCarriageReturn = 0x0D;

class PocoMllpClient final : public MllpClient {
 public:
  PocoMllpClient(std::unique_ptr<Poco::Net::StreamSocket> socket, int timeout_ms)
      : socket_(std::move(socket)) {
    socket_->setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout_ms) * 1000));
    socket_->setNoDelay(true);
  }

  Result<std::string> exchange(const std::string& message) override {
    GW_RETURN_IF_ERROR(send(message));
    return receive();
  }

  Result<std::string> receive() override {
    try {
      return readFrame();
    } catch (const Poco::TimeoutException&) {
      return Status::deadlineExceeded("no ACK within the timeout");
    } catch (const Poco::Exception& e) {
      return Status::unavailable("connection failed: " + e.displayText());
    }
  }

  Status send(const std::string& message) override {
    try {
      std::string frame;
      frame.reserve(message.size() + 3);
      frame += kStartBlock;
      frame += message;
      frame += kEndBlock;
      frame += kCarriageReturn;
      std::size_t sent = 0;
      while (sent < frame.size()) {
        const int n = socket_->sendBytes(frame.data() + sent, static_cast<int>(frame.size() - sent));
        if (n <= 0) {
          return Status::unavailable("connection closed while sending");
        }
        sent += static_cast<std::size_t>(n);
      }
      return Status::ok();
    } catch (const Poco::TimeoutException&) {
      return Status::deadlineExceeded("timed out while sending");
    } catch (const Poco::Exception& e) {
      return Status::unavailable("connection failed: " + e.displayText());
    }
  }

 private:
  Result<std::string> readFrame() {
    for (;;) {
      const std::size_t start = buffer_.find(kStartBlock);
      if (start != std::string::npos) {
        const std::size_t end = buffer_.find(kEndBlock, start + 1);
        if (end != std::string::npos && end + 1 < buffer_.size()) {
          std::string ack = buffer_.substr(start + 1, end - start - 1);
          const std::size_t consumed = buffer_[end + 1] == kCarriageReturn ? end + 2 : end + 1;
          buffer_.erase(0, consumed);
          return ack;
        }
      }
      char chunk[8192];
      const int n = socket_->receiveBytes(chunk, sizeof(chunk));
      if (n <= 0) {
        return Status::unavailable("connection closed by the server before an ACK");
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::unique_ptr<Poco::Net::StreamSocket> socket_;
  std::string buffer_;
};

// Normalises CRLF and LF segment terminators to CR, as MLLP senders should.
std::string toCarriageReturns(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') {
      continue;  // the LF becomes the CR
    }
    out += c == '\n' ? '\r' : c;
  }
  while (!out.empty() && out.back() == '\r') {
    out.pop_back();
  }
  out += '\r';
  return out;
}

}  // namespace

Result<std::unique_ptr<MllpClient>> MllpClient::connect(const MllpClientSettings& settings) {
  try {
    const Poco::Net::SocketAddress address(settings.host, static_cast<Poco::UInt16>(settings.port));
    const Poco::Timespan timeout(static_cast<long>(settings.timeout_ms) * 1000);
    std::unique_ptr<Poco::Net::StreamSocket> socket;
    if (settings.tls) {
      static std::once_flag ssl_once;
      std::call_once(ssl_once, [] { Poco::Net::initializeSSL(); });
      Poco::Net::Context::Params params;
      params.caLocation = settings.ca;
      params.certificateFile = settings.certificate;
      params.privateKeyFile = settings.private_key;
      params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
      params.loadDefaultCAs = settings.ca.empty();
      Poco::Net::Context::Ptr context =
          new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
      context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      // OpenSSL checks the server's name during the handshake (an IP literal against its IP
      // SANs, a host name against its DNS names), so a certificate for another host fails
      // before any byte of a message is sent.
      X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context->sslContext());
      if (X509_VERIFY_PARAM_set1_ip_asc(param, settings.host.c_str()) != 1 &&
          X509_VERIFY_PARAM_set1_host(param, settings.host.c_str(), settings.host.size()) != 1) {
        return Status::invalidArgument("cannot verify against host name " + settings.host);
      }
      auto secure = std::make_unique<Poco::Net::SecureStreamSocket>(context);
      secure->setPeerHostName(settings.host);
      secure->connect(address, timeout);
      secure->completeHandshake();
      secure->verifyPeerCertificate();
      socket = std::move(secure);
    } else {
      socket = std::make_unique<Poco::Net::StreamSocket>();
      socket->connect(address, timeout);
    }
    return std::unique_ptr<MllpClient>(new PocoMllpClient(std::move(socket), settings.timeout_ms));
  } catch (const Poco::Exception& e) {
    return Status::unavailable("cannot connect to " + settings.host + ":" +
                               std::to_string(settings.port) + ": " + e.displayText());
  }
}

int mllpSend(const MllpClientSettings& settings, const std::vector<std::string>& files) {
  Result<std::unique_ptr<MllpClient>> client = MllpClient::connect(settings);
  if (!client.ok()) {
    std::cerr << "mllp-send: " << client.status().message() << "\n";
    return 2;
  }
  int failures = 0;
  int sent = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "mllp-send: cannot read " << file << "\n";
      ++failures;
      continue;
    }
    std::ostringstream content;
    content << in.rdbuf();
    const std::string bytes = content.str();
    const std::vector<std::string_view> messages = hl7::splitMessages(bytes);
    if (messages.empty()) {
      std::cerr << "mllp-send: " << file << ": no MSH segment found\n";
      ++failures;
      continue;
    }
    for (std::string_view message : messages) {
      const std::string wire = toCarriageReturns(message);
      Result<hl7::Message> parsed = hl7::Message::parse(wire);
      const std::string control_id = parsed.ok() ? std::string(parsed->controlId()) : "?";
      // Enhanced mode (MSH-15/MSH-16) may ask for no answer on success (NE/NE): then we do not wait.
      const bool answer_expected =
          !parsed.ok() ||
          hl7::decideAck(Status::ok(), parsed->acceptAckType(), parsed->applicationAckType()).send;
      Status sent_status = (*client)->send(wire);
      ++sent;
      if (!sent_status.isOk()) {
        std::cout << control_id << "\tERROR " << sent_status.message() << std::endl;
        std::cerr << "mllp-send: connection lost after " << sent << " message(s)\n";
        return 1;
      }
      if (!answer_expected) {
        std::cout << control_id << "\tsent (no ACK requested)" << std::endl;
        continue;
      }
      // An answer for an earlier message (an error ACK for one that asked for none on success)
      // is reported under its own control id.
      for (;;) {
        Result<std::string> ack = (*client)->receive();
        if (!ack.ok()) {
          std::cout << control_id << "\tERROR " << ack.status().message() << std::endl;
          ++failures;
          if (ack.status().code() == StatusCode::Unavailable) {
            std::cerr << "mllp-send: connection lost after " << sent << " message(s)\n";
            return 1;
          }
          break;
        }
        Result<hl7::Message> ack_message = hl7::Message::parse(*ack);
        const std::string code = ack_message.ok() ? ack_message->get("MSA-1") : "unparseable ACK";
        const std::string acked_id = ack_message.ok() ? ack_message->get("MSA-2") : control_id;
        std::string line = acked_id + "\t" + code;
        if (code != "AA" && code != "CA") {
          ++failures;
          if (ack_message.ok()) {
            const std::string text = ack_message->get("MSA-3");
            if (!text.empty()) {
              line += "\t" + text;
            }
          }
        }
        std::cout << line << std::endl;
        // A message we could not parse ourselves has no control id to match: the next answer
        // is its answer.
        if (acked_id == control_id || !ack_message.ok() || !parsed.ok()) {
          break;
        }
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace gw
