// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/MessagesCommand.h"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "gateway/core/OperatorActions.h"
#include "gateway/daemon/Gateway.h"
#include "gateway/daemon/GatewayConfig.h"
#include "gateway/store/sqlite/SqliteFhirClientState.h"
#include "gateway/store/sqlite/SqliteMessageStore.h"
#include "gateway/store/sqlite/SqlitePatientStore.h"

namespace gw {
namespace {

std::string isoTime(SystemTime t) {
  return formatIsoTime(t);
}

// Keeps TSV rows one line each whatever a sender put in a header field.
std::string tsvSafe(std::string value) {
  for (char& c : value) {
    if (c == '\t' || c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return value;
}

Result<StorePtr> openFromConfig(const std::string& path, GatewayConfig& config) {
  std::string diagnostics;
  if (!loadGatewayConfig(path, config, diagnostics)) {
    std::cerr << diagnostics;
    return Status::invalidArgument("invalid configuration");
  }
  return openStore(config, std::make_shared<SystemClock>());
}

}  // namespace

int listMessages(const MessagesListOptions& options) {
  GatewayConfig config;
  Result<StorePtr> store = openFromConfig(options.config_path, config);
  if (!store.ok()) {
    std::cerr << "messages: " << store.status().toString() << "\n";
    return store.status().code() == StatusCode::InvalidArgument ? kExitConfigError : 1;
  }
  InboundQuery query;
  query.control_id = options.control_id;
  if (options.state) {
    query.state = parseInboundState(*options.state);
    if (!query.state) {
      std::cerr << "messages: unknown state \"" << *options.state
                << "\" (received, mapped, held, ignored)\n";
      return 2;
    }
  }
  const bool tsv = options.format == "tsv";
  if (!tsv) {
    std::cout << std::left << std::setw(8) << "ID" << std::setw(26) << "RECEIVED (UTC)"
              << std::setw(18) << "TYPE" << std::setw(24) << "CONTROL ID" << std::setw(20)
              << "FACILITY"
              << "STATE\n";
  }
  std::size_t printed = 0;
  for (;;) {
    query.limit = 1000;
    if (options.limit != 0) {
      query.limit = std::min<std::size_t>(query.limit, options.limit - printed);
    }
    Result<std::vector<InboundEventRecord>> page = (*store)->listInbound(query);
    if (!page.ok()) {
      std::cerr << "messages: " << page.status().toString() << "\n";
      return 1;
    }
    for (const InboundEventRecord& r : *page) {
      if (tsv) {
        std::cout << r.id << '\t' << isoTime(r.received_at) << '\t' << tsvSafe(r.message_type)
                  << '\t' << tsvSafe(r.control_id) << '\t' << tsvSafe(r.sending_facility) << '\t'
                  << inboundStateName(r.state) << '\n';
      } else {
        std::cout << std::left << std::setw(8) << r.id << std::setw(26) << isoTime(r.received_at)
                  << std::setw(18) << r.message_type << std::setw(24) << r.control_id
                  << std::setw(20) << r.sending_facility << inboundStateName(r.state) << '\n';
      }
      query.after_id = r.id;
      ++printed;
    }
    if (page->size() < query.limit || (options.limit != 0 && printed >= options.limit)) {
      break;
    }
  }
  std::cout.flush();
  (*store)->close();
  return 0;
}

int showMessage(const MessagesShowOptions& options) {
  GatewayConfig config;
  Result<StorePtr> store = openFromConfig(options.config_path, config);
  if (!store.ok()) {
    std::cerr << "messages: " << store.status().toString() << "\n";
    return store.status().code() == StatusCode::InvalidArgument ? kExitConfigError : 1;
  }
  Result<InboundEventRecord> record = (*store)->getInbound(options.id);
  if (!record.ok()) {
    std::cerr << "messages: " << record.status().toString() << "\n";
    return record.status().code() == StatusCode::NotFound ? 3 : 1;
  }
  const InboundEventRecord& r = *record;
  std::cout << "id:                  " << r.id << "\n"
            << "source:              " << eventSourceName(r.source) << "\n"
            << "listener:            " << r.listener << "\n"
            << "peer:                " << r.peer << "\n"
            << "received:            " << isoTime(r.received_at) << "\n"
            << "message type:        " << r.message_type << "\n"
            << "control id:          " << r.control_id << "\n"
            << "sending application: " << r.sending_application << "\n"
            << "sending facility:    " << r.sending_facility << "\n"
            << "version:             " << r.version << "\n"
            << "state:               " << inboundStateName(r.state) << "\n"
            << "size:                " << r.payload_bytes << " bytes\n"
            << "resends answered:    " << r.duplicates << "\n";
  if (!options.payload) {
    return 0;
  }
  if (options.reason.empty()) {
    std::cerr << "messages: --payload shows PHI and needs --reason \"...\" (it is audited)\n";
    return 2;
  }
  Result<PayloadCipherPtr> cipher = openCipher(config.keys);
  if (!cipher.ok()) {
    std::cerr << "messages: " << cipher.status().toString() << "\n";
    return 1;
  }
  Result<std::string> plain =
      viewEventPayload(**store, **cipher, r, {"operator:" + options.actor, "cli", options.reason});
  if (!plain.ok()) {
    std::cerr << "messages: " << plain.status().toString() << "\n";
    return 1;
  }
  std::string text = *plain;
  for (char& c : text) {
    if (c == '\r') {
      c = '\n';
    }
  }
  std::cout << "---\n" << text << (text.empty() || text.back() != '\n' ? "\n" : "");
  (*store)->close();
  return 0;
}

namespace {

Result<std::shared_ptr<MessageStore>> openMessageStore(const std::string& config_path) {
  GatewayConfig config;
  GW_ASSIGN_OR_RETURN(StorePtr store, openFromConfig(config_path, config));
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(store);
  if (!sqlite) {
    return Status::internal("the configured store has no patient-message tables");
  }
  return std::shared_ptr<MessageStore>(std::make_shared<SqliteMessageStore>(sqlite));
}

int failWith(const Status& status, const char* command = "messages") {
  std::cerr << command << ": " << status.toString() << "\n";
  switch (status.code()) {
    case StatusCode::InvalidArgument:
      return kExitConfigError;
    case StatusCode::NotFound:
      return 3;
    case StatusCode::FailedPrecondition:
      return 4;
    default:
      return 1;
  }
}

}  // namespace

int listOutbox(const OutboxListOptions& options) {
  Result<std::shared_ptr<MessageStore>> store = openMessageStore(options.config_path);
  if (!store.ok()) {
    return failWith(store.status());
  }
  MessageQuery query;
  query.event_id = options.event_id;
  if (options.state) {
    query.state = parseMessageState(*options.state);
    if (!query.state) {
      std::cerr << "messages: unknown state \"" << *options.state
                << "\" (pending, sending, sent, delivered, read, failed, dead, held, retracted, "
                   "superseded, suppressed, expired)\n";
      return 2;
    }
  }
  const bool tsv = options.format == "tsv";
  if (!tsv) {
    std::cout << std::left << std::setw(8) << "ID" << std::setw(8) << "EVENT" << std::setw(26)
              << "CREATED (UTC)" << std::setw(30) << "MAPPING" << std::setw(14) << "CHANNEL"
              << std::setw(11) << "PURPOSE" << std::setw(12) << "STATE" << std::setw(9)
              << "ATTEMPTS"
              << "REASON\n";
  }
  std::size_t printed = 0;
  for (;;) {
    query.limit = 1000;
    if (options.limit != 0) {
      query.limit = std::min<std::size_t>(query.limit, options.limit - printed);
    }
    Result<std::vector<PatientMessageRecord>> page = (*store)->findMessages(query);
    if (!page.ok()) {
      return failWith(page.status());
    }
    for (const PatientMessageRecord& r : *page) {
      if (tsv) {
        std::cout << r.id << '\t' << r.event_id << '\t' << isoTime(r.created_at) << '\t'
                  << r.mapping << '\t' << channelName(r.channel) << '\t' << r.purpose << '\t'
                  << messageStateName(r.state) << '\t' << r.attempts << '\t'
                  << tsvSafe(r.delivery_method) << '\t' << tsvSafe(r.reason) << '\n';
      } else {
        std::cout << std::left << std::setw(8) << r.id << std::setw(8) << r.event_id
                  << std::setw(26) << isoTime(r.created_at) << std::setw(30) << r.mapping
                  << std::setw(14) << channelName(r.channel) << std::setw(11) << r.purpose
                  << std::setw(12) << messageStateName(r.state) << std::setw(9) << r.attempts
                  << tsvSafe(r.reason) << '\n';
      }
      query.after_id = r.id;
      ++printed;
    }
    if (page->size() < query.limit || (options.limit != 0 && printed >= options.limit)) {
      break;
    }
  }
  std::cout.flush();
  return 0;
}

int replayMessage(const MessagesReplayOptions& options) {
  if (options.reason.empty()) {
    std::cerr << "messages: replay needs --reason \"...\" (it is audited)\n";
    return 2;
  }
  Result<std::shared_ptr<MessageStore>> store = openMessageStore(options.config_path);
  if (!store.ok()) {
    return failWith(store.status());
  }
  const Status replayed =
      replayDeadMessage(**store, options.id, {"operator:" + options.actor, "cli", options.reason});
  if (!replayed.isOk()) {
    return failWith(replayed);
  }
  std::cout << "patient message " << options.id << " is pending again\n";
  return 0;
}

int listWork(const std::string& config_path, const std::string& format) {
  Result<std::shared_ptr<MessageStore>> store = openMessageStore(config_path);
  if (!store.ok()) {
    return failWith(store.status());
  }
  Result<std::vector<WorkItem>> work = (*store)->openWork(100000);
  if (!work.ok()) {
    return failWith(work.status());
  }
  const bool tsv = format == "tsv";
  if (!tsv) {
    std::cout << std::left << std::setw(12) << "KIND" << std::setw(8) << "ID" << std::setw(26)
              << "SINCE (UTC)" << std::setw(24) << "OBJECT"
              << "DETAIL\n";
  }
  for (const WorkItem& item : *work) {
    if (tsv) {
      std::cout << item.kind << '\t' << item.id << '\t' << isoTime(item.created_at) << '\t'
                << item.object << '\t' << tsvSafe(item.detail) << '\n';
    } else {
      std::cout << std::left << std::setw(12) << item.kind << std::setw(8) << item.id
                << std::setw(26) << isoTime(item.created_at) << std::setw(24) << item.object
                << tsvSafe(item.detail) << '\n';
    }
  }
  std::cout.flush();
  return 0;
}

int closeWork(const std::string& config_path, std::int64_t id, const std::string& reason,
              const std::string& actor) {
  Result<std::shared_ptr<MessageStore>> store = openMessageStore(config_path);
  if (!store.ok()) {
    return failWith(store.status());
  }
  const Status closed = completeWorkItem(**store, id, {"operator:" + actor, "cli", reason});
  if (!closed.isOk()) {
    return failWith(closed);
  }
  std::cout << "work item " << id << " done\n";
  return 0;
}

int listSubscriptions(const std::string& config_path, const std::string& format) {
  GatewayConfig config;
  Result<StorePtr> store = openFromConfig(config_path, config);
  if (!store.ok()) {
    return failWith(store.status(), "subscriptions");
  }
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(*store);
  if (!sqlite) {
    return failWith(Status::internal("the configured store keeps no subscription state"),
                    "subscriptions");
  }
  Result<std::vector<SubscriptionRecord>> subscriptions =
      SqliteFhirClientState(sqlite).listSubscriptions();
  if (!subscriptions.ok()) {
    return failWith(subscriptions.status(), "subscriptions");
  }
  const bool tsv = format == "tsv";
  if (tsv) {
    std::cout << "client\tsubscription\tevents\tgaps\tmissed\tlast_type\tstatus\tupdated\t"
                 "last_gap\n";
  } else {
    std::cout << std::left << std::setw(14) << "CLIENT" << std::setw(36) << "SUBSCRIPTION"
              << std::setw(8) << "EVENTS" << std::setw(6) << "GAPS" << std::setw(8) << "MISSED"
              << std::setw(20) << "LAST TYPE" << std::setw(10) << "STATUS" << std::setw(22)
              << "UPDATED (UTC)"
              << "LAST GAP\n";
  }
  for (const SubscriptionRecord& r : *subscriptions) {
    if (tsv) {
      std::cout << tsvSafe(r.client) << '\t' << tsvSafe(r.subscription) << '\t' << r.highest_event
                << '\t' << r.gaps << '\t' << r.missed_events << '\t' << tsvSafe(r.last_type)
                << '\t' << tsvSafe(r.last_status) << '\t' << isoTime(r.updated_at) << '\t'
                << tsvSafe(r.last_gap) << '\n';
    } else {
      std::cout << std::left << std::setw(14) << tsvSafe(r.client) << std::setw(36)
                << tsvSafe(r.subscription) << std::setw(8) << r.highest_event << std::setw(6)
                << r.gaps << std::setw(8) << r.missed_events << std::setw(20)
                << tsvSafe(r.last_type) << std::setw(10)
                << (r.last_status.empty() ? "-" : tsvSafe(r.last_status)) << std::setw(22)
                << isoTime(r.updated_at) << (r.last_gap.empty() ? "-" : tsvSafe(r.last_gap))
                << '\n';
    }
  }
  std::cout.flush();
  return 0;
}

int showWork(const std::string& config_path, std::int64_t id, const std::string& reason,
             const std::string& actor) {
  GatewayConfig config;
  Result<StorePtr> store = openFromConfig(config_path, config);
  if (!store.ok()) {
    return failWith(store.status(), "work");
  }
  auto sqlite = std::dynamic_pointer_cast<SqliteStore>(*store);
  if (!sqlite) {
    return failWith(Status::internal("the configured store has no patient-message tables"), "work");
  }
  Result<std::vector<WorkItem>> work = SqliteMessageStore(sqlite).openWork(100000);
  if (!work.ok()) {
    return failWith(work.status(), "work");
  }
  const std::string prefix = "patient_reply:";
  const auto item = std::find_if(work->begin(), work->end(), [&](const WorkItem& w) {
    return w.kind == "reply_text" && w.id == id;
  });
  if (item == work->end() || item->object.compare(0, prefix.size(), prefix) != 0) {
    return failWith(Status::notFound("no open reply_text work item " + std::to_string(id)), "work");
  }
  const std::int64_t reply_id = std::stoll(item->object.substr(prefix.size()));
  Result<PayloadCipherPtr> cipher = openCipher(config.keys);
  if (!cipher.ok()) {
    return failWith(cipher.status(), "work");
  }
  AuditEntry audit;
  audit.actor = "operator:" + actor;
  audit.action = "viewed_reply";
  audit.object = item->object;
  audit.outcome = "ok";
  audit.source = "cli";
  audit.reason = reason;
  Result<SealedReplyText> sealed = SqlitePatientStore(sqlite).readReplyText(reply_id, audit);
  if (!sealed.ok()) {
    return failWith(sealed.status(), "work");
  }
  Result<std::string> text = (*cipher)->open(sealed->sealed_text, sealed->associated_data);
  if (!text.ok()) {
    return failWith(text.status().withContext("cannot decrypt the reply"), "work");
  }
  std::cout << "work item:  " << id << "\n"
            << "reply:      " << item->object << "\n"
            << "detail:     " << tsvSafe(item->detail) << "\n"
            << "---\n"
            << *text << (text->empty() || text->back() != '\n' ? "\n" : "");
  return 0;
}

}  // namespace gw
