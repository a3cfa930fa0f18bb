// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/OperatorActions.h"

#include <cstdio>
#include <ctime>

namespace gw {
namespace {

Status requireReason(const OperatorContext& who, std::string_view what) {
  if (who.reason.empty()) {
    return Status::invalidArgument(std::string(what) + " needs a reason (it is audited)");
  }
  return Status::ok();
}

}  // namespace

AuditEntry operatorAudit(const OperatorContext& who, std::string action, std::string object,
                         std::string outcome) {
  AuditEntry entry;
  entry.actor = who.actor;
  entry.action = std::move(action);
  entry.object = std::move(object);
  entry.outcome = std::move(outcome);
  entry.source = who.source;
  entry.reason = who.reason;
  return entry;
}

Result<std::string> viewEventPayload(Store& store, PayloadCipher& cipher,
                                     const InboundEventRecord& event, const OperatorContext& who) {
  GW_RETURN_IF_ERROR(requireReason(who, "viewing a payload"));
  GW_ASSIGN_OR_RETURN(const std::string sealed,
                      store.readSealedPayload(
                          event.id, operatorAudit(who, "viewed_payload",
                                                  "inbound_event:" + std::to_string(event.id))));
  Result<std::string> plain = cipher.open(sealed, event.dedupe_key);
  if (!plain.ok()) {
    return Status::dataLoss("cannot decrypt inbound event " + std::to_string(event.id) + ": " +
                            plain.status().message());
  }
  return plain;
}

Result<MessageContent> viewMessageContent(MessageStore& messages, PayloadCipher& cipher,
                                          std::int64_t message_id, const OperatorContext& who) {
  GW_RETURN_IF_ERROR(requireReason(who, "viewing a patient message"));
  GW_ASSIGN_OR_RETURN(const PatientMessageRecord record, messages.getMessage(message_id));
  const std::string object = "patient_message:" + std::to_string(message_id);
  GW_ASSIGN_OR_RETURN(const std::string sealed,
                      messages.sealedMessageContent(
                          message_id, operatorAudit(who, "viewed_message", object)));
  Result<std::string> json = cipher.open(sealed, record.idempotency_key);
  if (!json.ok()) {
    return Status::dataLoss("cannot decrypt patient message " + std::to_string(message_id) + ": " +
                            json.status().message());
  }
  return parseMessageContent(*json);
}

Status replayDeadMessage(MessageStore& messages, std::int64_t message_id,
                         const OperatorContext& who) {
  GW_RETURN_IF_ERROR(requireReason(who, "a replay"));
  return messages.transitionMessage(
      {message_id, {MessageState::Dead}, MessageState::Pending, "replayed by an operator"},
      operatorAudit(who, "replayed", "patient_message:" + std::to_string(message_id)));
}

Status completeWorkItem(MessageStore& messages, std::int64_t id, const OperatorContext& who) {
  GW_RETURN_IF_ERROR(requireReason(who, "closing a work item"));
  return messages.closeWorkItem(id,
                                operatorAudit(who, "work_done", "work_item:" + std::to_string(id)));
}

std::string formatIsoTime(SystemTime t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buffer, static_cast<int>(ms % 1000));
  return out;
}

std::optional<SystemTime> parseIsoTime(std::string_view text) {
  const auto digits = [&](std::size_t at, std::size_t count, int& out) {
    if (at + count > text.size()) {
      return false;
    }
    out = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') {
        return false;
      }
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!digits(0, 4, year) || text.size() < 10 || text[4] != '-' || !digits(5, 2, month) ||
      text[7] != '-' || !digits(8, 2, day)) {
    return std::nullopt;
  }
  if (text.size() > 10) {
    if (text.size() < 20 || text[10] != 'T' || !digits(11, 2, hour) || text[13] != ':' ||
        !digits(14, 2, minute) || text[16] != ':' || !digits(17, 2, second)) {
      return std::nullopt;
    }
    std::size_t at = 19;
    if (text[at] == '.') {
      if (!digits(at + 1, 3, millis)) {
        return std::nullopt;
      }
      at += 4;
    }
    if (at + 1 != text.size() || text[at] != 'Z') {
      return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm);
  if (tm.tm_mday != day) {  // normalised: Feb 30 and the like
    return std::nullopt;
  }
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(millis);
}

std::optional<InboundState> parseInboundState(std::string_view name) {
  for (const InboundState s :
       {InboundState::Received, InboundState::Mapped, InboundState::Held, InboundState::Ignored}) {
    if (inboundStateName(s) == name) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace gw
