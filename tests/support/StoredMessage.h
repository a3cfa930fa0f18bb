// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "gateway/api/MessageStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Store.h"

namespace gw::test {

// Commits one inbound event (dedupe key "event-" + the message's idempotency key) and `message`
// for it, as the mapper would: the event id is filled in, `content` is sealed with `aad` (the
// idempotency key when empty), not_before defaults to now and expires_at to a day later.
// Returns the message id (0, with a test failure, when a step fails).
inline std::int64_t storeMessage(Store& store, MessageStore& messages, PayloadCipher& cipher,
                                 const Clock& clock, NewPatientMessage message,
                                 const MessageContent& content, const std::string& aad = "") {
  NewInboundEvent event;
  event.dedupe_key = "event-" + message.idempotency_key;
  event.received_at = clock.now();
  event.sealed_payload = "x";
  const Result<IntakeReceipt> receipt =
      store.commitInbound(event, clock.steadyNow() + std::chrono::minutes(1));
  EXPECT_TRUE(receipt.ok()) << receipt.status().toString();
  if (!receipt.ok()) {
    return 0;
  }
  message.event_id = receipt->event_id;
  if (message.not_before == SystemTime()) {
    message.not_before = clock.now();
  }
  if (message.expires_at == SystemTime()) {
    message.expires_at = clock.now() + std::chrono::hours(24);
  }
  const Result<std::string> sealed =
      cipher.seal(serializeMessageContent(content), aad.empty() ? message.idempotency_key : aad);
  EXPECT_TRUE(sealed.ok()) << sealed.status().toString();
  message.sealed_content = sealed.ok() ? *sealed : "";
  MappingOutcome outcome;
  outcome.event_id = receipt->event_id;
  outcome.messages = {message};
  const Result<MappingCommit> commit = messages.commitMapping(outcome);
  EXPECT_TRUE(commit.ok()) << commit.status().toString();
  return commit.ok() ? commit->message_ids.at(0) : 0;
}

}  // namespace gw::test
