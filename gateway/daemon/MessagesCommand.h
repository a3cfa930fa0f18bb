// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gw {

struct MessagesListOptions {
  std::string config_path;
  std::string format = "table";  // "table" or "tsv"
  std::optional<std::string> state;
  std::optional<std::string> control_id;
  std::size_t limit = 0;  // 0 = all
};

// `gateway messages list`: one line per stored inbound message: id, received time (UTC),
// MSH-9, MSH-10, sending facility, state. Metadata only, never PHI.
int listMessages(const MessagesListOptions& options);

struct MessagesShowOptions {
  std::string config_path;
  std::int64_t id = 0;
  bool payload = false;  // decrypt and print the message (PHI): needs a reason, audited
  std::string reason;
  std::string actor;  // operator name for the audit record
};

// `gateway messages show ID`: metadata, and with --payload the decrypted message.
int showMessage(const MessagesShowOptions& options);

struct OutboxListOptions {
  std::string config_path;
  std::string format = "table";  // "table" or "tsv"
  std::optional<std::string> state;
  std::optional<std::int64_t> event_id;
  std::size_t limit = 0;  // 0 = all
};

// `gateway messages outbox`: one line per patient message: id, inbound event id, created time,
// mapping, channel, purpose, state, attempts, delivery method, reason. Metadata only, no PHI.
int listOutbox(const OutboxListOptions& options);

struct MessagesReplayOptions {
  std::string config_path;
  std::int64_t id = 0;  // patient message id from `messages outbox`
  std::string reason;   // audited
  std::string actor;    // operator name for the audit record
};

// `gateway messages replay ID`: a dead-lettered patient message goes back to pending (due now);
// the running gateway's delivery workers pick it up. Audited as "replayed".
int replayMessage(const MessagesReplayOptions& options);

// `gateway work list`: what needs an operator: held events with the mapper's reason, then open
// work items (patients' quick replies). No PHI. `gateway work done ID --reason` closes an item.
int listWork(const std::string& config_path, const std::string& format);
int closeWork(const std::string& config_path, std::int64_t id, const std::string& reason,
              const std::string& actor);
// `gateway work show ID --reason`: the text of a patient's typed reply behind a "reply_text" work
// item, decrypted; the view is audited ("viewed_reply"). Exit 3 when the item is not open or
// not a reply text, or the text was deleted with its message.
int showWork(const std::string& config_path, std::int64_t id, const std::string& reason,
             const std::string& actor);

// `gateway subscriptions list`: the FHIR Subscriptions (R5 Backport) the gateway has heard of,
// per client: highest event number (eventsSinceSubscriptionStart), gaps and missed events, the
// latest gap warning, notification type and status. Metadata only (no PHI).
int listSubscriptions(const std::string& config_path, const std::string& format);

}  // namespace gw
