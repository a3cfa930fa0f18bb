// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <mutex>

#include "gateway/api/Clock.h"

namespace gw::test {

// A Clock that moves only when a test says so (both wall and steady time advance together).
// Starts at 2026-01-01T00:00:00Z. Thread-safe.
class ManualClock final : public Clock {
 public:
  ManualClock() : now_(std::chrono::system_clock::from_time_t(1767225600)) {}

  SystemTime now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  SteadyTime steadyNow() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return SteadyTime{} + std::chrono::duration_cast<SteadyTime::duration>(offset_) +
           std::chrono::hours(24);
  }
  void advance(std::chrono::system_clock::duration by) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += by;
    offset_ += by;
  }

 private:
  mutable std::mutex mu_;
  SystemTime now_;
  std::chrono::system_clock::duration offset_{0};
};

}  // namespace gw::test
