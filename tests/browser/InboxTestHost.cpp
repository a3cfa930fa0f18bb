// SPDX-License-Identifier: Apache-2.0
// A test host for the secure inbox pages (tests only, never shipped): a POCO HTTPServer on
// 127.0.0.1 port 0 serving the inbox handlers over the in-memory InboxStore and the real
// EnvelopeCipher (throwaway key), a Notifier that appends each notification as one JSON line to
// a file (the browser tests read links and codes from it), and test-only endpoints under
// /__test/: deliver a new synthetic message, show a message's stored state, move the clock.
// Prints "PORT <n>" on stdout once listening; stops on end of stdin.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>

#include "adapters/outbound/secure_inbox/InboxChannel.h"
#include "adapters/outbound/secure_inbox/InboxCrypto.h"
#include "adapters/outbound/secure_inbox/InboxHttp.h"
#include "gateway/crypto/EnvelopeCipher.h"
#include "gateway/crypto/KeyRing.h"
#include "gateway/mapping/Keywords.h"
#include "tests/support/InMemoryInboxStore.h"
#include "tests/support/InMemoryPatientStore.h"

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

// The system clock moved forward by what /__test/advance asked for.
class OffsetClock final : public gw::Clock {
 public:
  gw::SystemTime now() const override { return std::chrono::system_clock::now() + offset(); }
  gw::SteadyTime steadyNow() const override { return std::chrono::steady_clock::now() + offset(); }
  void advance(std::chrono::seconds by) { offset_seconds_ += by.count(); }

 private:
  std::chrono::seconds offset() const { return std::chrono::seconds(offset_seconds_.load()); }
  std::atomic<std::int64_t> offset_seconds_{0};
};

class FileNotifier final : public gw::Notifier {
 public:
  explicit FileNotifier(std::string path) : path_(std::move(path)) {}
  gw::Status notify(const gw::Notification& n, gw::Deadline /*deadline*/) override {
    rapidjson::StringBuffer buffer;
    Writer w(buffer);
    w.StartObject();
    put(w, "to", n.to);
    put(w, "subject", n.subject);
    put(w, "text", n.text);
    put(w, "language", n.language);
    put(w, "idempotency_key", n.idempotency_key);
    w.EndObject();
    std::lock_guard<std::mutex> lock(mu_);
    std::ofstream out(path_, std::ios::app);
    out << buffer.GetString() << "\n";
    out.flush();
    return out ? gw::Status::ok() : gw::Status::unavailable("cannot write notification file");
  }

 private:
  std::mutex mu_;
  std::string path_;
};

// Typed replies: the keyword decides the answer as in the gateway (gateway/mapping/Keywords.h);
// the ledger and work items are the gateway's ReplyHandler's (tested against SQLite there).
class KeywordSink final : public gw::ReplySink {
 public:
  gw::Result<gw::ReplyResult> acceptReply(const gw::InboundReply& reply) override {
    std::lock_guard<std::mutex> lock(mu_);
    replies_.push_back(reply);
    switch (gw::mapping::parseKeyword(reply.text)) {
      case gw::mapping::Keyword::Stop:
      case gw::mapping::Keyword::StopAll:
        return gw::ReplyResult{gw::ReplyResult::Kind::OptedOut, ""};
      case gw::mapping::Keyword::Start:
        return gw::ReplyResult{gw::ReplyResult::Kind::OptedIn, ""};
      case gw::mapping::Keyword::Help:
        return gw::ReplyResult{gw::ReplyResult::Kind::Help, "Reply STOP to stop, START to resume."};
      case gw::mapping::Keyword::None:
        break;
    }
    return gw::ReplyResult{gw::ReplyResult::Kind::WorkItem, ""};
  }
  std::vector<gw::InboundReply> replies() {
    std::lock_guard<std::mutex> lock(mu_);
    return replies_;
  }

 private:
  std::mutex mu_;
  std::vector<gw::InboundReply> replies_;
};

struct Host {
  std::shared_ptr<OffsetClock> clock = std::make_shared<OffsetClock>();
  std::shared_ptr<gw::test::InMemoryInboxStore> store =
      std::make_shared<gw::test::InMemoryInboxStore>();
  std::shared_ptr<gw::test::InMemoryPatientStore> patients =
      std::make_shared<gw::test::InMemoryPatientStore>();
  std::shared_ptr<KeywordSink> replies = std::make_shared<KeywordSink>();
  std::shared_ptr<gw::PayloadCipher> cipher;
  std::shared_ptr<gw::inbox::InboxService> service;
  std::shared_ptr<gw::OutboundChannel> channel;
  std::atomic<std::int64_t> next_id{1};
};

// /__test/deliver?email=E&lang=es|en&expires_in=SECONDS: stores a new synthetic message (birth
// date 1980-04-23) and delivers it through the channel. Answers {"message_id": N}.
std::string deliver(Host& host, const Poco::URI::QueryParameters& query, int& status) {
  std::string email = "patient@example.invalid";
  std::string lang = "en";
  std::int64_t expires_in = 0;
  for (const auto& [key, value] : query) {
    if (key == "email") {
      email = value;
    } else if (key == "lang") {
      lang = value;
    } else if (key == "expires_in") {
      expires_in = std::stoll(value);
    }
  }
  if (email.size() < 16 || email.substr(email.size() - 16) != "@example.invalid") {
    status = 400;
    return R"({"error":"synthetic patients only: use an @example.invalid address"})";
  }
  gw::MessageContent content;
  content.language = lang;
  content.recipient_name = "Sam Synthetic";
  content.email = email;
  content.date_of_birth = "1980-04-23";
  if (lang == "es") {
    content.facility_name = "Hospital General de Ejemplo";
    content.subject = "Sus instrucciones de alta";
    content.text =
        "Tome su medicamento dos veces al día.\n\nMás información: "
        "https://education.example.invalid/rodilla\n\nEste mensaje no es para emergencias.";
    content.quick_replies = {{"confirm", "Confirmar la cita"},
                             {"cancel", "Cancelar la cita"},
                             {"question", "Tengo una pregunta"}};
  } else {
    content.facility_name = "Example General Hospital";
    content.subject = "Your discharge instructions";
    content.text =
        "Take your medicine twice a day.\nKeep the dressing dry.\n\nLearn more: "
        "https://education.example.invalid/knee\n\nThis message is not for emergencies.";
    content.quick_replies = {{"confirm", "Confirm appointment"},
                             {"cancel", "Cancel appointment"},
                             {"question", "I have a question"}};
  }
  const std::int64_t id = host.next_id++;
  gw::InboxMessage message;
  message.message_id = id;
  message.state = gw::MessageState::Sending;
  message.patient_key = "patient-" + std::to_string(id);
  if (expires_in > 0) {
    message.expires_at = host.clock->now() + std::chrono::seconds(expires_in);
  }
  message.associated_data = "patient_message:" + std::to_string(id);
  gw::Result<std::string> sealed =
      host.cipher->seal(gw::serializeMessageContent(content), message.associated_data);
  if (!sealed.ok()) {
    status = 500;
    return R"({"error":"seal failed"})";
  }
  message.sealed_content = *sealed;
  host.store->putMessage(message);
  gw::OutboundMessage outbound;
  outbound.message_id = id;
  outbound.content = content;
  const gw::Result<gw::DeliveryReceipt> receipt =
      host.channel->deliver(outbound, host.clock->steadyNow() + std::chrono::seconds(5));
  if (!receipt.ok()) {
    status = 500;
    return R"({"error":"deliver failed"})";
  }
  message = host.store->inboxMessage(id).value();
  message.state = gw::MessageState::Sent;  // the delivery worker's write after a receipt
  host.store->putMessage(message);
  return "{\"message_id\":" + std::to_string(id) + "}";
}

// /__test/state?message=N: state, replies, opt-outs and the audit records of that message.
std::string state(Host& host, std::int64_t id) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  const gw::Result<gw::InboxMessage> message = host.store->inboxMessage(id);
  put(w, "state",
      message.ok() ? std::string(gw::messageStateName(message->state)) : std::string("unknown"));
  w.Key("content_present");
  w.Bool(message.ok() && !message->sealed_content.empty());
  w.Key("replies");
  w.StartArray();
  for (const gw::InboxReply& reply : host.store->replies()) {
    if (reply.message_id == id) {
      w.String(reply.reply_id.c_str());
    }
  }
  w.EndArray();
  w.Key("opt_outs");
  const std::vector<std::int64_t> opt_outs = host.store->optOuts();
  w.Int64(static_cast<std::int64_t>(std::count(opt_outs.begin(), opt_outs.end(), id)));
  const gw::Result<std::optional<gw::PatientPreferenceRecord>> preferences =
      host.patients->preferences("patient-" + std::to_string(id));
  if (preferences.ok() && preferences->has_value()) {
    w.Key("preferences");
    w.StartObject();
    put(w, "time_zone", (*preferences)->time_zone);
    w.Key("result_delay_hours");
    w.Int64((*preferences)->result_delay.count());
    w.EndObject();
  }
  w.Key("typed_replies");
  w.StartArray();
  for (const gw::InboundReply& reply : host.replies->replies()) {
    if (reply.message_id == id) {
      w.String(reply.text.data(), static_cast<rapidjson::SizeType>(reply.text.size()));
    }
  }
  w.EndArray();
  w.Key("audit");
  w.StartArray();
  const std::string object = "patient_message:" + std::to_string(id);
  std::vector<gw::AuditEntry> entries = host.store->audit();
  const std::vector<gw::AuditEntry> preference_entries = host.patients->audit();
  entries.insert(entries.end(), preference_entries.begin(), preference_entries.end());
  for (const gw::AuditEntry& entry : entries) {
    if (entry.object == object) {
      w.StartObject();
      put(w, "actor", entry.actor);
      put(w, "action", entry.action);
      put(w, "object", entry.object);
      put(w, "outcome", entry.outcome);
      put(w, "source", entry.source);
      put(w, "reason", entry.reason);
      w.EndObject();
    }
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

class TestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit TestHandler(Host& host) : host_(host) {}
  void handleRequest(Poco::Net::HTTPServerRequest& request,
                     Poco::Net::HTTPServerResponse& response) override {
    int status = 200;
    std::string body;
    try {
      const Poco::URI uri(request.getURI());
      const auto query = uri.getQueryParameters();
      if (uri.getPath() == "/__test/deliver" && request.getMethod() == "POST") {
        body = deliver(host_, query, status);
      } else if (uri.getPath() == "/__test/state") {
        std::int64_t id = 0;
        for (const auto& [key, value] : query) {
          if (key == "message") {
            id = std::stoll(value);
          }
        }
        body = state(host_, id);
      } else if (uri.getPath() == "/__test/advance" && request.getMethod() == "POST") {
        for (const auto& [key, value] : query) {
          if (key == "seconds") {
            host_.clock->advance(std::chrono::seconds(std::stoll(value)));
          }
        }
        body = "{}";
      } else {
        status = 404;
        body = R"({"error":"not found"})";
      }
    } catch (const std::exception& e) {
      status = 400;
      body = R"({"error":"bad test request"})";
    }
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    response.setContentType("application/json");
    response.sendBuffer(body.data(), body.size());
  }

 private:
  Host& host_;
};

class NotFoundHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  void handleRequest(Poco::Net::HTTPServerRequest& /*request*/,
                     Poco::Net::HTTPServerResponse& response) override {
    response.setStatusAndReason(Poco::Net::HTTPResponse::HTTP_NOT_FOUND);
    response.setContentType("text/plain");
    response.send() << "not found";
  }
};

class HostFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  HostFactory(Host& host, std::shared_ptr<gw::inbox::InboxPages> pages)
      : host_(host), inbox_(std::move(pages)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest& request) override {
    if (Poco::Net::HTTPRequestHandler* handler = inbox_.createRequestHandler(request)) {
      return handler;
    }
    if (request.getURI().rfind("/__test/", 0) == 0) {
      return new TestHandler(host_);
    }
    return new NotFoundHandler;
  }

 private:
  Host& host_;
  gw::inbox::InboxRequestHandlerFactory inbox_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: inbox_test_host NOTIFICATION_FILE\n";
    return 64;
  }
  Host host;
  const std::string key_line =
      "kek-test " + gw::inbox::sha256Hex(gw::inbox::randomToken().value()) + "\n";
  gw::Result<gw::KeyRing> keys = gw::KeyRing::parse(key_line, "test key");
  if (!keys.ok()) {
    std::cerr << "key ring: " << keys.status().toString() << "\n";
    return 1;
  }
  auto cipher = gw::EnvelopeCipher::create(std::move(*keys));
  if (!cipher.ok()) {
    std::cerr << "cipher: " << cipher.status().toString() << "\n";
    return 1;
  }
  host.cipher = *cipher;

  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = socket.address().port();
  gw::InboxSettings settings;
  settings.base_url = "http://127.0.0.1:" + std::to_string(port) + "/inbox/";
  settings.secure_cookies = false;                // loopback plain HTTP only
  settings.requests_per_ip_per_minute = 1000000;  // the load benchmark runs from one address
  settings.requests_per_link_per_minute = 100000;
  if (const gw::Status valid = gw::validateInboxSettings(settings); !valid.isOk()) {
    std::cerr << "settings: " << valid.toString() << "\n";
    return 1;
  }
  host.service = std::make_shared<gw::inbox::InboxService>(settings, host.store, host.cipher,
                                                           std::make_shared<FileNotifier>(argv[1]),
                                                           host.clock, host.patients, host.replies);
  host.channel = gw::makeInboxChannel(host.service, host.store).value();
  auto pages = std::make_shared<gw::inbox::InboxPages>(host.service);

  auto params = Poco::AutoPtr<Poco::Net::HTTPServerParams>(new Poco::Net::HTTPServerParams);
  params->setMaxThreads(16);
  params->setMaxQueued(256);
  Poco::Net::HTTPServer server(new HostFactory(host, pages), socket, params);
  server.start();
  std::cout << "PORT " << port << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  server.stopAll(true);
  return 0;
}
