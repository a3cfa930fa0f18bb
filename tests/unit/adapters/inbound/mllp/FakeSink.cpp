// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/adapters/inbound/mllp/FakeSink.h"

#include <stdexcept>
#include <utility>

namespace gw::test {

Result<IntakeReceipt> FakeSink::accept(InboundEvent event, Deadline deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  ++calls_;
  last_deadline_ = deadline;
  last_call_time_ = std::chrono::steady_clock::now();
  released_.wait(lock, [this] { return !blocked_; });
  if (throw_) {
    throw std::runtime_error("sink exploded");
  }
  if (fail_with_ != StatusCode::Ok) {
    return Status(fail_with_, "fake sink failure");
  }
  events_.push_back(std::move(event));
  return IntakeReceipt{next_id_++, false};
}

void FakeSink::acceptBatch(std::vector<InboundEvent> events, Deadline deadline, BatchDone done) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch_sizes_.push_back(events.size());
  }
  std::vector<Result<IntakeReceipt>> results;
  results.reserve(events.size());
  for (InboundEvent& event : events) {
    results.push_back(accept(std::move(event), deadline));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (hold_results_) {
      held_.emplace_back(std::move(done), std::move(results));
      return;
    }
  }
  done(std::move(results));
}

std::vector<std::size_t> FakeSink::batchSizes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return batch_sizes_;
}

void FakeSink::holdResults(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  hold_results_ = enabled;
}

std::size_t FakeSink::heldBatches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return held_.size();
}

void FakeSink::completeHeld(std::size_t index) {
  std::pair<BatchDone, std::vector<Result<IntakeReceipt>>> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index >= held_.size()) {
      return;
    }
    batch = std::move(held_[index]);
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(index));
  }
  batch.first(std::move(batch.second));
}

void FakeSink::failWith(StatusCode code) {
  std::lock_guard<std::mutex> lock(mutex_);
  fail_with_ = code;
}

void FakeSink::throwOnAccept(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  throw_ = enabled;
}

void FakeSink::block() {
  std::lock_guard<std::mutex> lock(mutex_);
  blocked_ = true;
}

void FakeSink::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    blocked_ = false;
  }
  released_.notify_all();
}

std::vector<InboundEvent> FakeSink::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::size_t FakeSink::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

std::optional<Deadline> FakeSink::lastDeadline() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_deadline_;
}

std::optional<SteadyTime> FakeSink::lastCallTime() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_call_time_;
}

}  // namespace gw::test
