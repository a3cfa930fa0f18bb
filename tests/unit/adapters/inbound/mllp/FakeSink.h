// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "gateway/api/InboundSink.h"

namespace gw::test {

// An InboundSink for adapter tests: records accepted events, and can be told to fail with a
// code, to throw (a bug in the sink), or to block every accept() until release().
// acceptBatch() runs accept() for each event (so the above apply), records the batch's size and
// either completes at once or, after holdResults(true), keeps the results until completeHeld()
// (a store still committing while the adapter goes on). Thread-safe.
class FakeSink final : public InboundSink {
 public:
  Result<IntakeReceipt> accept(InboundEvent event, Deadline deadline) override;
  void acceptBatch(std::vector<InboundEvent> events, Deadline deadline, BatchDone done) override;

  // Sizes of the batches acceptBatch() received, in order.
  std::vector<std::size_t> batchSizes() const;
  // Later batches keep their results until completeHeld().
  void holdResults(bool enabled);
  std::size_t heldBatches() const;
  // Completes the held batch at `index` (0: the oldest held), on the calling thread.
  void completeHeld(std::size_t index = 0);

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
  std::vector<std::size_t> batch_sizes_;
  bool hold_results_ = false;
  std::deque<std::pair<BatchDone, std::vector<Result<IntakeReceipt>>>> held_;
  std::size_t calls_ = 0;
  std::int64_t next_id_ = 1;
  std::optional<Deadline> last_deadline_;
  std::optional<SteadyTime> last_call_time_;
};

}  // namespace gw::test
