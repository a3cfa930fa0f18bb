// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/messaging_api/MessagingWebhook.h"

#include <Poco/Logger.h>
#include <openssl/crypto.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <optional>

#include "adapters/outbound/messaging_api/MessagingApiChannel.h"
#include "gateway/crypto/Digest.h"

namespace gw {
namespace {

constexpr std::size_t kMaxBodyBytes = 16 * 1024;
constexpr std::size_t kMaxIdBytes = 128;

Poco::Logger& logger() {
  static Poco::Logger& instance = Poco::Logger::get("gw.outbound.messaging_api");
  return instance;
}

http::HttpResponse json(int status, const std::string& key, const std::string& value) {
  http::HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"" + key + "\": \"" + value + "\"}\n";
  response.headers.emplace_back("Cache-Control", "no-store");
  return response;
}

// Refusals are counted and logged at 1, 2, 4, 8, ... so an unauthenticated peer cannot flood
// the log.
http::HttpResponse refuse(int status, const std::string& why) {
  static std::atomic<std::uint64_t> refused{0};
  const std::uint64_t count = ++refused;
  if ((count & (count - 1)) == 0) {
    poco_information(logger(), "inbound replies refused so far: " + std::to_string(count) +
                                   " (this one HTTP " + std::to_string(status) + ")");
  }
  return json(status, "error", why);
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Unix seconds, digits only (no sign, at most 12 digits).
std::optional<std::int64_t> parseTimestamp(std::string_view text) {
  if (text.empty() || text.size() > 12 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return std::stoll(std::string(text));
}

const char* outcomeName(ReplyResult::Kind kind) {
  switch (kind) {
    case ReplyResult::Kind::OptedOut:
      return "opted_out";
    case ReplyResult::Kind::OptedIn:
      return "opted_in";
    case ReplyResult::Kind::Help:
      return "help";
    case ReplyResult::Kind::WorkItem:
      return "work_item";
    case ReplyResult::Kind::Duplicate:
      return "duplicate";
  }
  return "work_item";
}

std::string peerAddress(const std::string& peer) {
  const std::size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

}  // namespace

Result<std::string> messagingWebhookSignature(std::string_view secret, std::string_view timestamp,
                                              std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  GW_ASSIGN_OR_RETURN(const std::string hex, hmacSha256Hex(secret, signed_text));
  return "sha256=" + hex;
}

Result<std::unique_ptr<MessagingWebhook>> MessagingWebhook::create(
    const MessagingApiSettings& settings, ReplySinkPtr sink, ClockPtr clock) {
  GW_ASSIGN_OR_RETURN(std::string secret, readMessagingApiSecret(settings));
  return std::unique_ptr<MessagingWebhook>(new MessagingWebhook(
      std::move(secret), settings.inbound_tolerance_seconds, std::move(sink), std::move(clock)));
}

MessagingWebhook::MessagingWebhook(std::string secret, int tolerance_seconds, ReplySinkPtr sink,
                                   ClockPtr clock)
    : secret_(std::move(secret)),
      tolerance_seconds_(tolerance_seconds),
      sink_(std::move(sink)),
      clock_(std::move(clock)) {}

MessagingWebhook::~MessagingWebhook() {
  std::fill(secret_.begin(), secret_.end(), '\0');
}

http::HttpResponse MessagingWebhook::handle(const http::HttpRequest& request) {
  try {
    return route(request);
  } catch (const std::exception& e) {  // only a bug gets here
    poco_error(logger(), std::string("BUG: exception in the inbound reply webhook: ") + e.what());
  } catch (...) {
    poco_error(logger(), "BUG: unknown exception in the inbound reply webhook");
  }
  return json(500, "error", "internal error");
}

http::HttpResponse MessagingWebhook::route(const http::HttpRequest& request) {
  if (request.path != kMessagingWebhookPath) {
    return refuse(404, "not found");
  }
  if (request.method != "POST") {
    http::HttpResponse response = refuse(405, "method not allowed");
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  // Authenticity first: nothing in the body is looked at before the signature holds.
  const std::string_view timestamp_text = request.header("x-timestamp");
  const std::string_view signature = request.header("x-signature");
  if (timestamp_text.empty() || signature.empty()) {
    return refuse(401, "missing signature");
  }
  const std::optional<std::int64_t> timestamp = parseTimestamp(timestamp_text);
  if (!timestamp) {
    return refuse(401, "malformed timestamp");
  }
  const Result<std::string> expected =
      messagingWebhookSignature(secret_, timestamp_text, request.body);
  if (!expected.ok()) {
    return json(500, "error", "internal error");
  }
  if (!equalConstantTime(signature, *expected)) {
    return refuse(401, "bad signature");
  }
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock_->now().time_since_epoch()).count();
  if (*timestamp > now + tolerance_seconds_ || *timestamp < now - tolerance_seconds_) {
    return refuse(401, "stale signature");
  }
  if (request.header("content-type").substr(0, 16) != "application/json") {
    return refuse(415, "expected application/json");
  }
  if (request.body.size() > kMaxBodyBytes) {
    return refuse(413, "body too large");
  }
  rapidjson::Document doc;
  doc.Parse(request.body.data(), request.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return refuse(400, "body is not a JSON object");
  }
  const auto field = [&doc](const char* name) -> std::optional<std::string> {
    const auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString() || it->value.GetStringLength() == 0) {
      return std::nullopt;
    }
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  InboundReply reply;
  reply.channel = ChannelKind::MessagingApi;
  const auto id = field("id");
  const auto from = field("from");
  const auto text = field("text");
  const auto in_reply_to = field("in_reply_to");
  if (!id || !from || !text || !in_reply_to) {
    return refuse(400, "id, from, text and in_reply_to are required strings");
  }
  // The id becomes part of stored keys (and of the HELP answer's Idempotency-Key header).
  if (id->size() > kMaxIdBytes || !std::all_of(id->begin(), id->end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == ':';
      })) {
    return refuse(400, "id must be at most 128 letters, digits, '-', '_', '.' or ':'");
  }
  reply.provider_id = *id;
  reply.sender = *from;
  reply.text = *text;
  reply.in_reply_to = *in_reply_to;
  reply.source = peerAddress(request.peer);
  const Result<ReplyResult> result = sink_->acceptReply(reply);
  if (!result.ok()) {
    switch (result.status().code()) {
      case StatusCode::NotFound:
        return refuse(422, "in_reply_to names no message");
      case StatusCode::PermissionDenied:
        return refuse(403, "sender is not the recipient of that message");
      case StatusCode::InvalidArgument:
        return refuse(400, "reply refused");
      default:
        break;
    }
    if (result.status().isRetryable()) {
      poco_warning(logger(), "inbound reply not stored: " +
                                 std::string(statusCodeName(result.status().code())));
      http::HttpResponse response = json(503, "error", "try again later");
      response.headers.emplace_back("Retry-After", "30");
      return response;
    }
    poco_error(logger(),
               "inbound reply failed: " + std::string(statusCodeName(result.status().code())));
    return json(500, "error", "internal error");
  }
  poco_debug(logger(), std::string("inbound reply handled: ") + outcomeName(result->kind));
  return json(200, "outcome", outcomeName(result->kind));
}

}  // namespace gw
