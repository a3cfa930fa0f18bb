// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/messaging_api/MessagingApiChannel.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <csignal>
#include <mutex>

#include "gateway/crypto/Digest.h"
#include "gateway/crypto/SecretFile.h"

namespace gw {
namespace {

constexpr const char* kCipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP:!kRSA";
constexpr std::size_t kMaxSecretBytes = 4096;
constexpr std::size_t kMinSecretBytes = 16;
constexpr std::streamsize kMaxAnswerBytes = 64 * 1024;

void writeString(rapidjson::Writer<rapidjson::StringBuffer>& writer, const char* key,
                 const std::string& value) {
  writer.Key(key);
  writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

Poco::Timespan timeoutFor(int timeout_ms, Deadline deadline) {
  const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(
      deadline - std::chrono::steady_clock::now());
  const std::int64_t limit = static_cast<std::int64_t>(timeout_ms) * 1000;
  return Poco::Timespan(
      std::max<std::int64_t>(1000, std::min<std::int64_t>(limit, remaining.count())));
}

}  // namespace

std::string messagingApiBody(const OutboundMessage& message) {
  const MessageContent& content = message.content;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("message_id");
  writer.Int64(message.message_id);
  writeString(writer, "idempotency_key", message.idempotency_key);
  writeString(writer, "purpose", message.purpose);
  writer.Key("contains_phi");
  writer.Bool(message.contains_phi);
  writeString(writer, "language", content.language);
  writer.Key("recipient");
  writer.StartObject();
  writeString(writer, "name", content.recipient_name);
  writeString(writer, "email", content.email);
  writeString(writer, "phone", content.phone);
  writer.EndObject();
  writeString(writer, "facility_name", content.facility_name);
  writeString(writer, "subject", content.subject);
  writeString(writer, "text", content.text);
  writeString(writer, "html", content.html);
  writer.Key("quick_replies");
  writer.StartArray();
  for (const QuickReply& reply : content.quick_replies) {
    writer.StartObject();
    writeString(writer, "id", reply.id);
    writeString(writer, "label", reply.label);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Result<std::string> messagingApiSignature(std::string_view secret, std::string_view body) {
  GW_ASSIGN_OR_RETURN(const std::string hex, hmacSha256Hex(secret, body));
  return "sha256=" + hex;
}

struct MessagingApiChannel::Impl {
  MessagingApiSettings settings;
  std::string host;
  Poco::UInt16 port = 443;
  std::string path;
  std::string secret;
  Poco::Net::Context::Ptr context;
};

MessagingApiChannel::MessagingApiChannel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MessagingApiChannel::~MessagingApiChannel() {
  std::fill(impl_->secret.begin(), impl_->secret.end(), '\0');
}

Result<std::shared_ptr<MessagingApiChannel>> MessagingApiChannel::create(
    const MessagingApiSettings& settings) {
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] {
    Poco::Net::initializeSSL();
    // A peer closing first must cost one failed write (EPIPE), not the process (as the MLLP
    // adapter does).
    std::signal(SIGPIPE, SIG_IGN);
  });
  auto impl = std::make_unique<Impl>();
  impl->settings = settings;
  try {
    const Poco::URI uri(settings.url);
    if (uri.getScheme() != "https" || uri.getHost().empty()) {
      return Status::invalidArgument("messaging_api.url must be an https:// URL with a host");
    }
    impl->host = uri.getHost();
    impl->port = uri.getPort();
    impl->path = uri.getPathEtc().empty() ? "/" : uri.getPathEtc();
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("messaging_api.url is not a URL: " + e.message());
  }
  try {
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    params.caLocation = settings.ca;
    params.loadDefaultCAs = settings.ca.empty();
    params.cipherList = kCipherList;
    impl->context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    impl->context->requireMinimumProtocol(settings.min_tls_version == "1.3"
                                              ? Poco::Net::Context::PROTO_TLSV1_3
                                              : Poco::Net::Context::PROTO_TLSV1_2);
    impl->context->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("messaging_api: cannot create the TLS context (ca \"" +
                                   settings.ca + "\"): " + e.displayText());
  }
  // OpenSSL verifies the chain and the host name (IP SAN for an IP literal) in the handshake.
  SSL_CTX* ssl_context = impl->context->sslContext();
  SSL_CTX_set_verify(ssl_context, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ssl_context);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, impl->host.c_str()) != 1) {
    ERR_clear_error();
    if (X509_VERIFY_PARAM_set1_host(param, impl->host.c_str(), impl->host.size()) != 1) {
      ERR_clear_error();
      return Status::invalidArgument("messaging_api.url host cannot be used for verification");
    }
  }
  GW_ASSIGN_OR_RETURN(impl->secret, readMessagingApiSecret(settings));
  return std::make_shared<MessagingApiChannel>(std::move(impl));
}

Result<std::string> readMessagingApiSecret(const MessagingApiSettings& settings) {
  GW_ASSIGN_OR_RETURN(std::string secret,
                      readSecretFile(settings.secret_file, "messaging API secret", kMaxSecretBytes,
                                     SymlinkPolicy::Follow));
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.size() < kMinSecretBytes) {
    return Status::invalidArgument("messaging_api.secret_file \"" + settings.secret_file +
                                   "\" holds fewer than 16 bytes");
  }
  return secret;
}

Result<DeliveryReceipt> MessagingApiChannel::deliver(const OutboundMessage& message,
                                                     Deadline deadline) {
  if (message.idempotency_key.empty()) {
    return Status::invalidArgument("message has no idempotency key");
  }
  if (message.idempotency_key.find_first_of("\r\n") != std::string::npos) {
    return Status::invalidArgument("idempotency key contains a line break");
  }
  if (std::chrono::steady_clock::now() >= deadline) {
    return Status::deadlineExceeded("deadline passed before the message was sent");
  }
  const std::string body = messagingApiBody(message);
  GW_ASSIGN_OR_RETURN(const std::string signature, messagingApiSignature(impl_->secret, body));
  int status = 0;
  try {
    Poco::Net::HTTPSClientSession session(impl_->host, impl_->port, impl_->context);
    session.setTimeout(timeoutFor(impl_->settings.timeout_ms, deadline));
    session.setKeepAlive(false);
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, impl_->path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentType("application/json; charset=utf-8");
    request.setContentLength(static_cast<std::streamsize>(body.size()));
    request.set("Idempotency-Key", message.idempotency_key);
    request.set("X-Signature", signature);
    request.set("User-Agent", "ehr-patient-gateway");
    std::ostream& out = session.sendRequest(request);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
    if (!out) {
      return Status::unavailable("messaging API connection failed while sending");
    }
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    // Read (and drop) a bounded answer so the server is not cut off mid-write.
    char sink[4096];
    std::streamsize drained = 0;
    while (in && drained < kMaxAnswerBytes) {
      in.read(sink, sizeof(sink));
      drained += in.gcount();
    }
    status = static_cast<int>(response.getStatus());
  } catch (const Poco::TimeoutException&) {
    return Status::deadlineExceeded("messaging API did not answer in time");
  } catch (const Poco::Net::SSLException& e) {
    ERR_clear_error();
    return Status::failedPrecondition("TLS with the messaging API not verified: " +
                                      e.displayText());
  } catch (const Poco::Exception& e) {
    return Status::unavailable("messaging API connection failed: " + e.displayText());
  }
  const std::string text = "HTTP " + std::to_string(status) + " " +
                           Poco::Net::HTTPResponse::getReasonForStatus(
                               static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
  if (status >= 200 && status < 300) {
    return DeliveryReceipt{"messaging_api", "HTTP " + std::to_string(status)};
  }
  if (status >= 500 || status == 408 || status == 429) {
    return Status::unavailable("messaging API answered " + text);
  }
  return Status::invalidArgument("messaging API refused the message: " + text);
}

}  // namespace gw
