// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/MessageStore.h"
#include "gateway/api/PayloadCipher.h"
#include "gateway/api/Store.h"

namespace gw {

// One message the mapping engine wants created; the content is sealed by MapperService.
struct DraftMessage {
  NewPatientMessage message;  // sealed_content is filled in by MapperService
  MessageContent content;     // PHI
};

// What the mapping engine decided for one event (see MappingOutcome).
struct MappingDraft {
  InboundState state = InboundState::Ignored;
  std::string reason;  // no PHI
  std::vector<DraftMessage> messages;
  std::vector<MessageTransition> transitions;
};

// The mapping engine as the mapper thread sees it. Must not keep `payload`.
// Errors: any code; the event is then held for an operator with the error text (no PHI).
class EventMapper {
 public:
  virtual ~EventMapper() = default;
  virtual Result<MappingDraft> map(const InboundEventRecord& event, std::string_view payload) = 0;
  // As map(), given also the parsed form intake stored with the event (InboundEvent::parsed_form,
  // opened; "" when there is none or it could not be opened). A mapper that can load it skips
  // parsing `payload`; the default ignores it.
  virtual Result<MappingDraft> mapStored(const InboundEventRecord& event, std::string_view payload,
                                         std::string_view parsed_form) {
    (void)parsed_form;
    return map(event, payload);
  }
};

using EventMapperPtr = std::shared_ptr<EventMapper>;

struct MapperStats {
  std::uint64_t mapped = 0;
  std::uint64_t held = 0;
  std::uint64_t ignored = 0;
  std::uint64_t messages = 0;  // patient messages created
  std::uint64_t errors = 0;    // store errors (the event stays received and is retried)
};

// The mapper thread (DESIGN.md section 1 step 3): takes committed events in receive order,
// opens their payload, runs the current EventMapper, seals each message's content (associated
// data = its idempotency key) and commits the outcome with its audit records in one transaction.
// An event the engine cannot map is held with the reason; a store failure leaves the event
// `received` and the pass is retried later, so nothing accepted is lost.
//
// Thread-safety: setMapper() and wake() from any thread (SIGHUP reload swaps the mapper between
// events); start()/stop() from one thread.
class MapperService {
 public:
  MapperService(StorePtr store, MessageStorePtr messages, PayloadCipherPtr cipher, ClockPtr clock,
                EventMapperPtr mapper, std::function<void(ChannelKind)> on_messages = {});
  ~MapperService();
  MapperService(const MapperService&) = delete;
  MapperService& operator=(const MapperService&) = delete;

  void start(std::chrono::milliseconds idle_poll = std::chrono::milliseconds(500));
  void stop();
  void wake();
  void setMapper(EventMapperPtr mapper);

  // Maps every `received` event on the calling thread; returns how many were handled.
  Result<std::size_t> runOnce();

  MapperStats stats() const;

 private:
  Status mapOne(const InboundEventRecord& event);
  void loop(std::chrono::milliseconds idle_poll);

  const StorePtr store_;
  const MessageStorePtr messages_;
  const PayloadCipherPtr cipher_;
  const ClockPtr clock_;
  // Called after a commit that created messages, once per channel they go to.
  const std::function<void(ChannelKind)> on_messages_;

  std::mutex mapper_mu_;
  EventMapperPtr mapper_;

  std::mutex run_mu_;  // one pass at a time (thread and runOnce callers)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::uint64_t wakeups_ = 0;
  std::thread thread_;

  std::atomic<std::uint64_t> mapped_{0};
  std::atomic<std::uint64_t> held_{0};
  std::atomic<std::uint64_t> ignored_{0};
  std::atomic<std::uint64_t> messages_created_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace gw
