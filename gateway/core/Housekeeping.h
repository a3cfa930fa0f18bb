// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"

namespace gw {

// "retention" in gateway.json.
struct RetentionSettings {
  // Inbound payloads (the EHR's original message) of mapped/ignored events are deleted this long
  // after receipt; metadata and audit records stay. 0 keeps them forever.
  std::chrono::hours payload_retention{24 * 30};
  std::chrono::milliseconds interval{60'000};  // how often housekeeping runs
  std::size_t batch = 1000;                    // rows per transaction
};

struct HousekeepingStats {
  std::uint64_t messages_expired = 0;
  std::uint64_t payloads_purged = 0;
  std::uint64_t leases_released = 0;
};

// Periodic retention work: expires patient messages past their expiry (content shredded),
// purges old inbound payloads, and releases delivery leases left by a crash. Each step is its
// own transaction of at most `batch` rows, so it never holds the writer for long.
class Housekeeping {
 public:
  Housekeeping(MessageStorePtr store, ClockPtr clock, RetentionSettings settings);
  ~Housekeeping();
  Housekeeping(const Housekeeping&) = delete;
  Housekeeping& operator=(const Housekeeping&) = delete;

  void start();
  void stop();
  // One full pass on the calling thread.
  Status runOnce();
  HousekeepingStats stats() const;

 private:
  const MessageStorePtr store_;
  const ClockPtr clock_;
  const RetentionSettings settings_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  HousekeepingStats stats_;
};

}  // namespace gw
