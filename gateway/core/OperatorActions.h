// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/api/AuditStore.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Result.h"
#include "gateway/api/Store.h"

namespace gw {

// Operator actions shared by the command line (`gateway messages show|replay`, `gateway work
// done`) and the admin API (gateway/admin), so both change state and audit the same way. Each
// writes its audit record in the same transaction as the change (or the read of PHI) it records.

// Who acts, from where and why (all without PHI).
struct OperatorContext {
  std::string actor;   // "operator:<name>"
  std::string source;  // "cli" or the client address
  std::string reason;  // required wherever PHI is shown or state changes
};

// An audit entry for an operator action (time left at the epoch: the store's clock sets it).
AuditEntry operatorAudit(const OperatorContext& who, std::string action, std::string object,
                         std::string outcome = "ok");

// Decrypts an inbound event's payload (PHI) and audits the view ("viewed_payload") with the read.
// InvalidArgument without a reason; NotFound for an unknown event; DataLoss when the payload
// cannot be opened (shredded or tampered).
Result<std::string> viewEventPayload(Store& store, PayloadCipher& cipher,
                                     const InboundEventRecord& event, const OperatorContext& who);

// Decrypts a patient message's content (PHI) and audits the view ("viewed_message") with the
// read. InvalidArgument without a reason; NotFound for an unknown message or one whose content
// was shredded (expired); DataLoss when it cannot be decrypted.
Result<MessageContent> viewMessageContent(MessageStore& messages, PayloadCipher& cipher,
                                          std::int64_t message_id, const OperatorContext& who);

// A dead-lettered patient message goes back to pending (due now), audited "replayed".
// InvalidArgument without a reason; NotFound; FailedPrecondition when it is not dead.
Status replayDeadMessage(MessageStore& messages, std::int64_t message_id,
                         const OperatorContext& who);

// Closes an operator work item, audited "work_done". InvalidArgument without a reason.
Status completeWorkItem(MessageStore& messages, std::int64_t id, const OperatorContext& who);

// "2026-01-31T12:00:00.000Z" (UTC, milliseconds).
std::string formatIsoTime(SystemTime t);
// Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" or "YYYY-MM-DD" (midnight UTC); nullopt when malformed.
std::optional<SystemTime> parseIsoTime(std::string_view text);

// Inbound event state by name ("received", "mapped", "held", "ignored").
std::optional<InboundState> parseInboundState(std::string_view name);

}  // namespace gw
