// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>

namespace gw {

using SystemTime = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

// A point on the steady clock after which the caller stops waiting.
using Deadline = SteadyTime;

// Time source, so tests drive time instead of sleeping. Thread-safe.
class Clock {
 public:
  Clock() = default;
  virtual ~Clock() = default;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  // Wall-clock time for records (received_at, audit).
  virtual SystemTime now() const = 0;
  // Monotonic time for deadlines and timeouts.
  virtual SteadyTime steadyNow() const = 0;
};

using ClockPtr = std::shared_ptr<Clock>;

// The real clocks.
class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
  SteadyTime steadyNow() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace gw
