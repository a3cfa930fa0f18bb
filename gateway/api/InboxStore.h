// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gateway/api/AuditStore.h"
#include "gateway/api/Clock.h"
#include "gateway/api/PatientMessage.h"
#include "gateway/api/Result.h"

namespace gw {

// What the secure inbox reads about one patient message (DESIGN.md section 1, "Inbox pages").
struct InboxMessage {
  std::int64_t message_id = 0;
  MessageState state = MessageState::Pending;
  SystemTime expires_at;    // content is shredded after this (epoch: no expiry set)
  std::string patient_key;  // pseudonymous (HMAC): whose preferences the inbox may change
  // PayloadCipher output of serializeMessageContent(), and the associated data it was sealed
  // with (whatever the store's writer chose, e.g. the message's idempotency key). Both empty
  // once the content was shredded (state Expired).
  std::string sealed_content;
  std::string associated_data;
};

// A patient's quick-reply answer, stored and turned into an operator work item.
struct InboxReply {
  std::int64_t message_id = 0;
  std::string reply_id;  // QuickReply::id ("confirm", "cancel", "question") or "stop"
  SystemTime received_at;
  // True for STOP: the store also writes an opt-out entry to the consent ledger for the
  // message's patient key (same transaction).
  bool opt_out = false;
};

// An inbox link: the token in the notification is never stored, only its SHA-256 (hex).
// A link is bound to one message. Verification state (attempts, lock-out, the current one-time
// code) lives on the link, so a new browser session does not reset the attempt counter.
struct InboxLink {
  std::string token_hash;  // lower-case hex SHA-256 of the token
  std::int64_t message_id = 0;
  SystemTime created_at;
  SystemTime expires_at;
  int failed_attempts = 0;  // wrong birth dates + wrong codes, reset by a successful code
  bool locked = false;      // failed_attempts reached the limit: the link is dead
  std::string code_mac;     // hex HMAC of the current one-time code (empty: none sent)
  SystemTime code_expires_at;
  std::int64_t version = 0;  // bumped by every saveLink (optimistic concurrency)
};

// A browser session on one link. The session id (in an HttpOnly cookie) is never stored, only
// its SHA-256 (hex). Holds no PHI.
struct InboxSession {
  enum class Stage {
    NeedBirthDate,  // link opened, birth date not yet given
    NeedCode,       // birth date given (right or wrong: the page does not say), code form next
    Verified,       // code accepted: the message may be shown
  };
  std::string id_hash;
  std::string token_hash;  // the link this session acts on
  Stage stage = Stage::NeedBirthDate;
  bool birth_date_matched = false;  // only meaningful in NeedCode
  std::string language;             // page language (from the message), e.g. "es"
  SystemTime created_at;
  SystemTime last_seen_at;
};

// Result of one rate-limit check.
struct RateDecision {
  bool allowed = true;
  int count = 0;                     // hits in the current window, this one included
  std::chrono::seconds retry_after;  // when not allowed: until the window ends
};

// The patient-message side of the store as the inbox sees it: read the sealed content, record
// views and replies, shred on expiry. Implemented by the store that holds patient messages.
//
// Thread-safety: every method may be called concurrently. Each mutating method writes `audit`
// in the same transaction as its change, or neither. Errors: NotFound (unknown message id),
// Unavailable (cannot read or commit now; nothing changed), DataLoss (database corrupt),
// Internal. Never throws.
class InboxMessageAccess {
 public:
  InboxMessageAccess() = default;
  virtual ~InboxMessageAccess() = default;
  InboxMessageAccess(const InboxMessageAccess&) = delete;
  InboxMessageAccess& operator=(const InboxMessageAccess&) = delete;

  virtual Result<InboxMessage> inboxMessage(std::int64_t message_id) = 0;

  // Records that the patient viewed the message (audit on every view). The first view of a
  // message in state Sent or Delivered moves it to Read; returns true when this call did.
  virtual Result<bool> recordView(std::int64_t message_id, SystemTime at,
                                  const AuditEntry& audit) = 0;

  // Stores a quick reply and an operator work item for it (and, for opt_out, the consent ledger
  // entry). FailedPrecondition when the message is Expired.
  virtual Status saveReply(const InboxReply& reply, const AuditEntry& audit) = 0;

  // Shreds the message content (sealed_content and associated_data become empty), moves the
  // message to Expired and drops the one-time codes of its links. Idempotent: an Expired
  // message stays as it is (the audit record is still written).
  virtual Status expireMessage(std::int64_t message_id, const AuditEntry& audit) = 0;
};

// Links, sessions and rate limits of the secure inbox (tokens and codes as hashes only), plus
// the message access above. One SQLite (or PostgreSQL) implementation holds both halves so a
// link change and a message change can share the store.
//
// Thread-safety: every method may be called concurrently. Errors as for InboxMessageAccess;
// additionally AlreadyExists (createLink with a token hash already stored) and Aborted-style
// FailedPrecondition from saveLink when the link changed since it was read (the caller reads it
// again and retries). Never throws.
class InboxStore : public InboxMessageAccess {
 public:
  InboxStore() = default;
  ~InboxStore() override = default;

  // Stores a new link (version 1 is assigned) with `audit` ("inbox_link_created").
  virtual Status createLink(const InboxLink& link, const AuditEntry& audit) = 0;
  virtual Result<InboxLink> findLink(const std::string& token_hash) = 0;

  // One atomic verification step: writes `link` if its stored version is still
  // `link.version` (then bumps it), writes `session` too when given, and `audit` ("inbox_dob",
  // "inbox_code_sent", "inbox_code", "inbox_locked", ...), all in one transaction.
  // FailedPrecondition when the version moved on (nothing written); NotFound for an unknown link.
  virtual Status saveLink(const InboxLink& link, const std::optional<InboxSession>& session,
                          const AuditEntry& audit) = 0;

  // Sessions: create or replace by id_hash (touching last_seen_at on each request is a save too;
  // session bookkeeping is not a PHI state change and carries no audit record: the verification
  // steps that matter go through saveLink). deleteSession of an unknown id is OK.
  virtual Status saveSession(const InboxSession& session) = 0;
  // A patient opened a link: the new session and `audit` ("inbox_opened") in one transaction.
  virtual Status openSession(const InboxSession& session, const AuditEntry& audit) = 0;
  virtual Result<InboxSession> findSession(const std::string& id_hash) = 0;
  virtual Status deleteSession(const std::string& id_hash) = 0;

  // Fixed-window rate limit: counts one hit for `bucket` (e.g. "ip:<addr>", "token:<hash>") in
  // the window of length `window` containing `now`, and says whether it is within `limit`.
  // Denied hits are counted too.
  virtual Result<RateDecision> consumeRate(const std::string& bucket, SystemTime now,
                                           std::chrono::seconds window, int limit) = 0;
};

using InboxStorePtr = std::shared_ptr<InboxStore>;

}  // namespace gw
