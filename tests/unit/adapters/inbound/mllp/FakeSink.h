// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include "gateway/api/InboundSink.h"

namespace gw::test {

// An InboundSink for adapter tests: records accepted events, and can be told to fail with a
// code, to throw (a bug in the sink), or to block every accept() until release(). Thread-safe.
class FakeSink final : public InboundSink {
 public:
  Result<IntakeReceipt> accept(InboundEvent event, Deadline deadline) override;

  // Later accept() calls return this code (Ok: succeed).
  void failWith(StatusCode code);
  // Later accept() calls throw std::runtime_error.
  void throwOnAccept(bool enabled);
  // Later accept() calls wait until release().
  void block();
  void release();

  // Events that accept() committed (returned OK for), in order.
  std::vector<InboundEvent> events() const;
  // Number of accept() calls entered, whatever their outcome.
  std::size_t calls() const;
  // Deadline and steady time of the last accept() call.
  std::optional<Deadline> lastDeadline() const;
  std::optional<SteadyTime> lastCallTime() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable released_;
  StatusCode fail_with_ = StatusCode::Ok;
  bool throw_ = false;
  bool blocked_ = false;
  std::vector<InboundEvent> events_;
  std::size_t calls_ = 0;
  std::int64_t next_id_ = 1;
  std::optional<Deadline> last_deadline_;
  std::optional<SteadyTime> last_call_time_;
};

}  // namespace gw::test
