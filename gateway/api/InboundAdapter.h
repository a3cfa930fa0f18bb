// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/Status.h"

namespace gw {

// Owns one listener (a socket) and hands each framed event to an InboundSink, then answers the
// sender. Lifecycle: made by its factory (config validated there), start() binds and serves,
// stop() stops accepting, finishes in-flight frames and returns. start()/stop() are called from
// one thread.
class InboundAdapter {
 public:
  InboundAdapter() = default;
  virtual ~InboundAdapter() = default;
  InboundAdapter(const InboundAdapter&) = delete;
  InboundAdapter& operator=(const InboundAdapter&) = delete;

  // Listener name from config, e.g. "adt".
  virtual std::string_view name() const = 0;
  // Binds and starts serving. Unavailable when the address cannot be bound.
  virtual Status start() = 0;
  // The bound "host:port" after start() (port 0 in config is resolved here).
  virtual std::string boundAddress() const = 0;
  virtual void stop() = 0;
};

using InboundAdapterPtr = std::unique_ptr<InboundAdapter>;

}  // namespace gw
