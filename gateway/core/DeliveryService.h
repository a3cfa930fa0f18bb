// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/OutboundChannel.h"
#include "gateway/api/PayloadCipher.h"

namespace gw {

// How the delivery queue retries ("delivery" in gateway.json).
struct DeliverySettings {
  int workers_per_channel = 2;
  int max_attempts = 8;                               // then the message is dead
  std::chrono::milliseconds initial_backoff{30'000};  // doubled per attempt, with jitter
  std::chrono::milliseconds max_backoff{3'600'000};
  std::chrono::milliseconds lease{300'000};           // a claimed message's lease (crash recovery)
  std::chrono::milliseconds attempt_timeout{60'000};  // deadline handed to the channel
  std::chrono::milliseconds idle_poll{1'000};         // longest sleep when nothing is due
  std::size_t claim_batch = 16;
};

struct DeliveryStats {
  std::uint64_t sent = 0;
  std::uint64_t retried = 0;
  std::uint64_t dead = 0;
  std::uint64_t fallbacks = 0;
  std::uint64_t suppressed = 0;
  std::uint64_t claims = 0;  // looks for due messages (claimDue calls), empty ones included
};

// The delivery queue's workers (DESIGN.md section 1 step 4): per channel, workers claim due
// messages from the MessageStore (state sending with a lease), open their sealed content,
// re-check consent, hand them to the channel and record the outcome with its audit record:
//   OK                                  sent (with the channel's method, e.g. "smime")
//   Unavailable / DeadlineExceeded      pending again after exponential backoff with jitter,
//                                       dead once max_attempts is reached
//   FailedPrecondition                  nothing with PHI left: re-routed to the secure inbox
//                                       (whose notification carries no PHI)
//   anything else                       dead (an operator may replay it)
// A message whose channel is not configured stays pending. Leases left by a crash are released
// by Housekeeping (at start and every retention interval), so the message is retried with the
// same idempotency key.
//
// Thread-safety: start()/stop() from one thread; wake() and runOnce() from any.
class DeliveryService {
 public:
  DeliveryService(MessageStorePtr store, PayloadCipherPtr cipher, ClockPtr clock,
                  std::vector<OutboundChannelPtr> channels, DeliverySettings settings = {});
  ~DeliveryService();
  DeliveryService(const DeliveryService&) = delete;
  DeliveryService& operator=(const DeliveryService&) = delete;

  void start();
  // Lets in-flight attempts finish, then joins the workers. Idempotent.
  void stop();
  // New messages may be due: one idle worker of every channel looks now instead of at its next
  // poll (not all of them: each look is a write transaction, and a worker that claims a full
  // batch wakes the next one itself).
  void wake();
  // The same for one channel's workers only.
  void wake(ChannelKind channel);

  // Claims and delivers what is due on `channel` now, on the calling thread (tests, tools);
  // returns how many messages were handled.
  Result<std::size_t> runOnce(ChannelKind channel);

  // The backoff before attempt `attempt + 1` (attempt >= 1), jitter included.
  std::chrono::milliseconds backoff(int attempt);

  DeliveryStats stats() const;

 private:
  void workerLoop(ChannelKind channel);
  void handle(const OutboundChannelPtr& channel, ClaimedMessage claimed);

  const MessageStorePtr store_;
  const PayloadCipherPtr cipher_;
  const ClockPtr clock_;
  std::map<ChannelKind, OutboundChannelPtr> channels_;
  const DeliverySettings settings_;

  // Per channel: its workers wait on `cv` for `wakeups` to change.
  struct Wakeup {
    std::condition_variable cv;
    std::uint64_t wakeups = 0;
  };

  std::mutex mu_;
  std::map<ChannelKind, std::unique_ptr<Wakeup>> wakeups_;  // one per channel, fixed at start
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  std::mutex rng_mu_;
  std::mt19937_64 rng_;

  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> retried_{0};
  std::atomic<std::uint64_t> dead_{0};
  std::atomic<std::uint64_t> fallbacks_{0};
  std::atomic<std::uint64_t> suppressed_{0};
  std::atomic<std::uint64_t> claims_{0};
};

}  // namespace gw
