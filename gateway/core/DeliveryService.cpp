// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/DeliveryService.h"

#include <algorithm>
#include <utility>

#include "gateway/api/PatientStore.h"

namespace gw {
namespace {

// Consent purpose under which a patient allows PHI in plain (non-S/MIME) email.
constexpr const char* kPlainEmailPurpose = "plain_email";

std::string describe(const Status& status) {
  return std::string(statusCodeName(status.code())) + ": " + status.message();
}

}  // namespace

DeliveryService::DeliveryService(MessageStorePtr store, PayloadCipherPtr cipher, ClockPtr clock,
                                 std::vector<OutboundChannelPtr> channels,
                                 DeliverySettings settings)
    : store_(std::move(store)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)),
      settings_(settings),
      rng_(std::random_device{}()) {
  for (OutboundChannelPtr& channel : channels) {
    const ChannelKind kind = channel->kind();
    channels_[kind] = std::move(channel);
    wakeups_[kind] = std::make_unique<Wakeup>();
  }
}

DeliveryService::~DeliveryService() {
  stop();
}

void DeliveryService::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!workers_.empty() || stopping_) {
    return;
  }
  for (const auto& [kind, channel] : channels_) {
    for (int i = 0; i < std::max(1, settings_.workers_per_channel); ++i) {
      workers_.emplace_back([this, kind = kind] { workerLoop(kind); });
    }
  }
}

void DeliveryService::stop() {
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    workers.swap(workers_);
  }
  for (auto& [kind, wakeup] : wakeups_) {
    wakeup->cv.notify_all();
  }
  for (std::thread& worker : workers) {
    worker.join();
  }
}

void DeliveryService::wake() {
  for (const auto& [kind, channel] : channels_) {
    wake(kind);
  }
}

void DeliveryService::wake(ChannelKind channel) {
  const auto it = wakeups_.find(channel);
  if (it == wakeups_.end()) {
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++it->second->wakeups;
  }
  it->second->cv.notify_one();
}

std::chrono::milliseconds DeliveryService::backoff(int attempt) {
  using std::chrono::milliseconds;
  const int doublings = std::clamp(attempt - 1, 0, 30);
  const auto initial = std::max<std::int64_t>(1, settings_.initial_backoff.count());
  const std::int64_t cap = std::max<std::int64_t>(initial, settings_.max_backoff.count());
  const std::int64_t full = std::min<std::int64_t>(cap, initial << std::min(doublings, 40));
  // "Equal jitter": half fixed, half random, so retries of many messages spread out but never
  // come sooner than half the nominal backoff.
  std::uniform_int_distribution<std::int64_t> jitter(0, full / 2);
  std::lock_guard<std::mutex> lock(rng_mu_);
  return milliseconds(full - full / 2 + jitter(rng_));
}

Result<std::size_t> DeliveryService::runOnce(ChannelKind kind) {
  const auto it = channels_.find(kind);
  if (it == channels_.end()) {
    return Status::notFound("no channel " + std::string(channelName(kind)) + " is configured");
  }
  const SystemTime now = clock_->now();
  ++claims_;
  GW_ASSIGN_OR_RETURN(std::vector<ClaimedMessage> claimed,
                      store_->claimDue(kind, now, now + settings_.lease, settings_.claim_batch));
  const std::size_t count = claimed.size();
  for (ClaimedMessage& message : claimed) {
    handle(it->second, std::move(message));
  }
  return count;
}

void DeliveryService::workerLoop(ChannelKind kind) {
  Wakeup& wakeup = *wakeups_.at(kind);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return;
      }
    }
    std::uint64_t seen_wakeups = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_wakeups = wakeup.wakeups;
    }
    const Result<std::size_t> handled = runOnce(kind);
    if (handled.ok() && *handled > 0) {
      if (*handled >= settings_.claim_batch) {
        wake(kind);  // a full batch: more may be due, so an idle worker helps
      }
      continue;  // there may be more due right now
    }
    // Sleep until the next message is due, a wake-up, or the idle poll.
    auto sleep = settings_.idle_poll;
    if (handled.ok()) {
      const Result<std::optional<SystemTime>> due = store_->nextDue(kind);
      if (due.ok() && due->has_value()) {
        const auto until =
            std::chrono::duration_cast<std::chrono::milliseconds>(**due - clock_->now());
        sleep = std::clamp(until, std::chrono::milliseconds(1), settings_.idle_poll);
      }
    }
    std::unique_lock<std::mutex> lock(mu_);
    wakeup.cv.wait_for(lock, sleep, [&] { return stopping_ || wakeup.wakeups != seen_wakeups; });
  }
}

void DeliveryService::handle(const OutboundChannelPtr& channel, ClaimedMessage claimed) {
  const PatientMessageRecord& record = claimed.record;
  DeliveryOutcome outcome;
  outcome.message_id = record.id;

  const auto record_outcome = [&] {
    // If this write fails the lease expires and the message is retried with the same
    // idempotency key; nothing is lost.
    (void)store_->recordDelivery(outcome);
  };
  const auto dead = [&](std::string detail) {
    outcome.kind = DeliveryOutcome::Kind::Dead;
    outcome.detail = std::move(detail);
    ++dead_;
    record_outcome();
  };

  Result<std::string> plaintext = cipher_->open(claimed.sealed_content, record.idempotency_key);
  if (!plaintext.ok()) {
    dead("content cannot be opened: " + describe(plaintext.status()));
    return;
  }
  Result<MessageContent> content = parseMessageContent(*plaintext);
  if (!content.ok()) {
    dead("content is unreadable: " + std::string(statusCodeName(content.status().code())));
    return;
  }

  // Consent may have changed since the message was created (a STOP reply meanwhile).
  const Result<std::optional<ConsentRecord>> consent =
      store_->latestConsent(record.patient_key, record.channel, record.purpose);
  if (!consent.ok()) {
    outcome.kind = DeliveryOutcome::Kind::Retry;
    outcome.detail = "consent ledger unavailable: " + describe(consent.status());
    outcome.retry_at = clock_->now() + backoff(record.attempts);
    ++retried_;
    record_outcome();
    return;
  }
  // The answer to the patient's own HELP goes out even after a STOP (carrier rules: HELP is
  // always answered).
  if (consent->has_value() && !(*consent)->opted_in && record.purpose != kHelpAnswerPurpose) {
    ++suppressed_;
    (void)store_->transitionMessage(
        {record.id,
         {MessageState::Sending},
         MessageState::Suppressed,
         "patient opted out (" + (*consent)->source + ")"},
        {SystemTime(), "system:delivery", "suppressed",
         "patient_message:" + std::to_string(record.id), "ok", "",
         "consent ledger: opted out of " + std::string(channelName(record.channel)) + " for " +
             (*consent)->purpose});
    return;
  }

  OutboundMessage message;
  message.message_id = record.id;
  message.idempotency_key = record.idempotency_key;
  message.purpose = record.purpose;
  message.contains_phi = record.contains_phi;
  message.attempt = record.attempts;
  message.content = std::move(*content);
  if (record.channel == ChannelKind::Email) {
    const Result<std::optional<ConsentRecord>> plain =
        store_->latestConsent(record.patient_key, ChannelKind::Email, kPlainEmailPurpose);
    message.plain_email_consented = plain.ok() && plain->has_value() &&
                                    (*plain)->purpose == kPlainEmailPurpose && (*plain)->opted_in;
  }

  const Deadline deadline = clock_->steadyNow() + settings_.attempt_timeout;
  Result<DeliveryReceipt> receipt = channel->deliver(message, deadline);
  if (receipt.ok()) {
    outcome.kind = DeliveryOutcome::Kind::Sent;
    outcome.method = receipt->method;
    outcome.detail = receipt->detail;
    ++sent_;
    record_outcome();
    return;
  }
  const Status& error = receipt.status();
  switch (error.code()) {
    case StatusCode::Unavailable:
    case StatusCode::DeadlineExceeded:
      if (record.attempts >= settings_.max_attempts) {
        dead("attempt limit " + std::to_string(settings_.max_attempts) + " reached; last error " +
             describe(error));
        return;
      }
      outcome.kind = DeliveryOutcome::Kind::Retry;
      outcome.detail = describe(error);
      outcome.retry_at = clock_->now() + backoff(record.attempts);
      ++retried_;
      record_outcome();
      return;
    case StatusCode::FailedPrecondition:
      if (record.channel != ChannelKind::SecureInbox &&
          channels_.count(ChannelKind::SecureInbox) != 0) {
        outcome.kind = DeliveryOutcome::Kind::Fallback;
        outcome.fallback_channel = ChannelKind::SecureInbox;
        outcome.detail = error.message();
        ++fallbacks_;
        record_outcome();
        wake(ChannelKind::SecureInbox);
        return;
      }
      dead(describe(error));
      return;
    default:
      dead(describe(error));
      return;
  }
}

DeliveryStats DeliveryService::stats() const {
  DeliveryStats s;
  s.sent = sent_.load();
  s.retried = retried_.load();
  s.dead = dead_.load();
  s.fallbacks = fallbacks_.load();
  s.suppressed = suppressed_.load();
  s.claims = claims_.load();
  return s;
}

}  // namespace gw
