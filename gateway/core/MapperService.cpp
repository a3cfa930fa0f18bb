// SPDX-License-Identifier: Apache-2.0
#include "gateway/core/MapperService.h"

#include <set>
#include <utility>

namespace gw {

MapperService::MapperService(StorePtr store, MessageStorePtr messages, PayloadCipherPtr cipher,
                             ClockPtr clock, EventMapperPtr mapper,
                             std::function<void(ChannelKind)> on_messages)
    : store_(std::move(store)),
      messages_(std::move(messages)),
      cipher_(std::move(cipher)),
      clock_(std::move(clock)),
      on_messages_(std::move(on_messages)),
      mapper_(std::move(mapper)) {}

MapperService::~MapperService() {
  stop();
}

void MapperService::start(std::chrono::milliseconds idle_poll) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this, idle_poll] { loop(idle_poll); });
}

void MapperService::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void MapperService::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  cv_.notify_all();
}

void MapperService::setMapper(EventMapperPtr mapper) {
  std::lock_guard<std::mutex> lock(mapper_mu_);
  mapper_ = std::move(mapper);
}

void MapperService::loop(std::chrono::milliseconds idle_poll) {
  for (;;) {
    std::uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return;
      }
      seen = wakeups_;
    }
    const Result<std::size_t> handled = runOnce();
    std::unique_lock<std::mutex> lock(mu_);
    if (handled.ok() && *handled > 0) {
      continue;
    }
    cv_.wait_for(lock, idle_poll, [&] { return stopping_ || wakeups_ != seen; });
  }
}

Result<std::size_t> MapperService::runOnce() {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  std::size_t handled = 0;
  InboundQuery query;
  query.state = InboundState::Received;
  query.limit = 256;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        return handled;
      }
    }
    GW_ASSIGN_OR_RETURN(std::vector<InboundEventRecord> page, store_->listInbound(query));
    for (const InboundEventRecord& event : page) {
      const Status status = mapOne(event);
      if (!status.isOk()) {
        // The event stays received; the next pass tries again from here (receive order kept).
        ++errors_;
        return status;
      }
      ++handled;
      query.after_id = event.id;
    }
    if (page.size() < query.limit) {
      return handled;
    }
  }
}

Status MapperService::mapOne(const InboundEventRecord& event) {
  MappingOutcome outcome;
  outcome.event_id = event.id;
  const auto hold = [&](std::string reason) {
    outcome.state = InboundState::Held;
    outcome.reason = std::move(reason);
    outcome.messages.clear();
    outcome.transitions.clear();
  };

  Result<MessageStore::SealedEventForms> sealed = messages_->sealedEventForMapping(event.id);
  if (!sealed.ok() && sealed.status().code() != StatusCode::NotFound) {
    return sealed.status();
  }
  Result<std::string> payload = sealed.ok() ? cipher_->open(sealed->payload, event.dedupe_key)
                                            : Result<std::string>(sealed.status());
  // The parsed form only saves work: one that cannot be opened is ignored (the payload is parsed).
  std::string parsed_form;
  if (payload.ok() && !sealed->parsed_form.empty()) {
    Result<std::string> opened =
        cipher_->open(sealed->parsed_form, parsedFormAssociatedData(event.dedupe_key));
    if (opened.ok()) {
      parsed_form = std::move(opened).value();
    }
  }
  EventMapperPtr mapper;
  {
    std::lock_guard<std::mutex> lock(mapper_mu_);
    mapper = mapper_;
  }
  if (!payload.ok()) {
    hold("payload cannot be opened: " + std::string(statusCodeName(payload.status().code())));
  } else if (!mapper) {
    hold("no mappings are loaded");
  } else {
    Result<MappingDraft> draft = mapper->mapStored(event, *payload, parsed_form);
    if (!draft.ok()) {
      hold("mapping error: " + draft.status().message());
    } else {
      outcome.state = draft->state;
      outcome.reason = std::move(draft->reason);
      outcome.transitions = std::move(draft->transitions);
      for (DraftMessage& d : draft->messages) {
        d.message.event_id = event.id;
        Result<std::string> sealed_content =
            cipher_->seal(serializeMessageContent(d.content), d.message.idempotency_key);
        if (!sealed_content.ok()) {
          return sealed_content.status();  // key unavailable: retry the event later
        }
        d.message.sealed_content = std::move(*sealed_content);
        outcome.messages.push_back(std::move(d.message));
      }
    }
  }
  if (outcome.state == InboundState::Received) {
    hold("the mapping engine left the event unmapped");
  }

  Result<MappingCommit> commit = messages_->commitMapping(outcome);
  if (!commit.ok()) {
    if (commit.status().code() == StatusCode::FailedPrecondition) {
      return Status::ok();  // mapped meanwhile by another instance/pass
    }
    return commit.status();
  }
  switch (outcome.state) {
    case InboundState::Mapped:
      ++mapped_;
      break;
    case InboundState::Held:
      ++held_;
      break;
    case InboundState::Ignored:
      ++ignored_;
      break;
    case InboundState::Received:
      break;
  }
  std::size_t created = 0;
  std::set<ChannelKind> channels;
  for (std::size_t i = 0; i < commit->duplicate.size(); ++i) {
    if (!commit->duplicate[i]) {
      ++created;
      if (i < outcome.messages.size()) {
        channels.insert(outcome.messages[i].channel);
      }
    }
  }
  messages_created_ += created;
  if (on_messages_) {
    for (const ChannelKind channel : channels) {
      on_messages_(channel);
    }
  }
  return Status::ok();
}

MapperStats MapperService::stats() const {
  MapperStats s;
  s.mapped = mapped_.load();
  s.held = held_.load();
  s.ignored = ignored_.load();
  s.messages = messages_created_.load();
  s.errors = errors_.load();
  return s;
}

}  // namespace gw
