// SPDX-License-Identifier: Apache-2.0
// outbound_driver: drives the email channel/notifier or the messaging API channel from the
// Python integration tests (tests/integration/test_email_delivery.py, test_messaging_api.py),
// which start the real peers (aiosmtpd with STARTTLS, an HTTPS server) and check what arrived.
//
//   outbound_driver --config settings.json --messages items.jsonl [--threads N]
//
// settings.json: {"email": {...outbound.email...}} or {"messaging_api": {...}}.
// items.jsonl: one object per line, either a message
//   {"message_id": 1, "idempotency_key": "k1", "purpose": "result", "contains_phi": true,
//    "plain_email_consented": false, "content": {...MessageContent JSON...}}
// or a notification {"notification": {"to", "subject", "text", "html", "language",
// "idempotency_key"}}, or a pause {"pause_ms": N} (with one thread: lets a peer close an idle
// connection between two messages). Prints one line per item in input order:
//   ok<TAB>method<TAB>detail  |  error<TAB>status_code_name<TAB>message
// then "connections<TAB>N" for the SMTP transport. Exit status 0 when every line was read.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/outbound/email/EmailChannel.h"
#include "adapters/outbound/messaging_api/MessagingApiChannel.h"
#include "gateway/configuration/ConfigParser.h"

namespace {

std::string str(const rapidjson::Value& object, const char* key) {
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

bool boolean(const rapidjson::Value& object, const char* key, bool fallback) {
  const auto it = object.FindMember(key);
  return it != object.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : fallback;
}

struct Item {
  bool is_notification = false;
  int pause_ms = -1;
  gw::OutboundMessage message;
  gw::Notification notification;
  std::string parse_error;
};

Item parseItem(const std::string& line) {
  Item item;
  rapidjson::Document doc;
  doc.Parse(line.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    item.parse_error = "line is not a JSON object";
    return item;
  }
  if (doc.HasMember("pause_ms") && doc["pause_ms"].IsInt()) {
    item.pause_ms = doc["pause_ms"].GetInt();
    return item;
  }
  if (doc.HasMember("notification")) {
    const rapidjson::Value& n = doc["notification"];
    item.is_notification = true;
    item.notification.to = str(n, "to");
    item.notification.subject = str(n, "subject");
    item.notification.text = str(n, "text");
    item.notification.html = str(n, "html");
    item.notification.language = str(n, "language");
    item.notification.idempotency_key = str(n, "idempotency_key");
    return item;
  }
  gw::OutboundMessage& m = item.message;
  m.message_id =
      doc.HasMember("message_id") && doc["message_id"].IsInt64() ? doc["message_id"].GetInt64() : 0;
  m.idempotency_key = str(doc, "idempotency_key");
  m.purpose = str(doc, "purpose");
  m.contains_phi = boolean(doc, "contains_phi", true);
  m.plain_email_consented = boolean(doc, "plain_email_consented", false);
  if (doc.HasMember("content")) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    doc["content"].Accept(writer);
    gw::Result<gw::MessageContent> content =
        gw::parseMessageContent(std::string(buffer.GetString(), buffer.GetSize()));
    if (!content.ok()) {
      item.parse_error = content.status().toString();
      return item;
    }
    m.content = std::move(*content);
  }
  return item;
}

std::string line(const gw::Status& status) {
  return "error\t" + std::string(gw::statusCodeName(status.code())) + "\t" + status.message();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  std::string items_path;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--config") {
      config_path = argv[i + 1];
    } else if (flag == "--messages") {
      items_path = argv[i + 1];
    } else if (flag == "--threads") {
      threads = std::max(1, std::atoi(argv[i + 1]));
    }
  }
  if (config_path.empty() || items_path.empty()) {
    std::cerr << "usage: outbound_driver --config FILE --messages FILE [--threads N]\n";
    return 64;
  }
  gw::Result<gw::ConfigNode> root = gw::config::parseJsonFile(config_path);
  if (!root.ok()) {
    std::cerr << root.status().toString() << "\n";
    return 78;
  }
  gw::ConfigErrors errors;
  std::shared_ptr<gw::OutboundChannel> channel;
  std::shared_ptr<gw::Notifier> notifier;
  std::shared_ptr<gw::email::SmtpTransport> smtp;
  gw::EmailOutbound email;
  if (const gw::ConfigNode* node = root->find("email")) {
    gw::EmailSettings settings;
    gw::readEmailSettings(*node, errors, "email", settings);
    if (!errors.empty()) {
      std::cerr << errors.toString();
      return 78;
    }
    gw::Result<gw::EmailOutbound> made = gw::makeEmailOutbound(settings, nullptr);
    if (!made.ok()) {
      std::cerr << "setup: " << made.status().toString() << "\n";
      return 78;
    }
    email = std::move(*made);
    channel = email.channel;
    notifier = email.notifier;
  } else if (const gw::ConfigNode* api = root->find("messaging_api")) {
    gw::MessagingApiSettings settings;
    gw::readMessagingApiSettings(*api, errors, "messaging_api", settings);
    if (!errors.empty()) {
      std::cerr << errors.toString();
      return 78;
    }
    gw::Result<std::shared_ptr<gw::MessagingApiChannel>> made =
        gw::MessagingApiChannel::create(settings);
    if (!made.ok()) {
      std::cerr << "setup: " << made.status().toString() << "\n";
      return 78;
    }
    channel = *made;
  } else {
    std::cerr << "config has neither \"email\" nor \"messaging_api\"\n";
    return 78;
  }

  std::vector<Item> items;
  std::ifstream in(items_path);
  for (std::string text; std::getline(in, text);) {
    if (!text.empty()) {
      items.push_back(parseItem(text));
    }
  }
  std::vector<std::string> results(items.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < items.size(); i = next++) {
      const Item& item = items[i];
      const gw::Deadline deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      if (item.pause_ms >= 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(item.pause_ms));
        results[i] = "ok\tpause\t";
      } else if (!item.parse_error.empty()) {
        results[i] = "error\tparse_error\t" + item.parse_error;
      } else if (item.is_notification) {
        if (!notifier) {
          results[i] = "error\tinvalid_argument\tno notifier for this channel";
          continue;
        }
        const gw::Status status = notifier->notify(item.notification, deadline);
        results[i] = status.isOk() ? "ok\tnotification\t" : line(status);
      } else {
        gw::Result<gw::DeliveryReceipt> receipt = channel->deliver(item.message, deadline);
        results[i] = receipt.ok() ? "ok\t" + receipt->method + "\t" + receipt->detail
                                  : line(receipt.status());
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back(work);
  }
  for (std::thread& t : pool) {
    t.join();
  }
  for (const std::string& result : results) {
    std::cout << result << "\n";
  }
  if (auto* transport = dynamic_cast<gw::email::SmtpTransport*>(email.transport.get())) {
    std::cout << "connections\t" << transport->connectionsOpened() << "\n";
  }
  return 0;
}
