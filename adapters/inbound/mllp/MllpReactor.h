// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "adapters/inbound/mllp/MllpConnection.h"
#include "gateway/api/Result.h"

namespace gw::mllp {

// Serves every plain-TCP connection of one listener on a single I/O thread (epoll): accepts,
// reads and frames whatever is ready, hands all frames of one round to the sink as one batch
// (InboundSink::acceptBatch(): one transaction, one fsync), and writes each frame's ACK, in
// frame order per connection, only once the sink's result for it has arrived. Results come
// back through an eventfd, so reading continues while a batch commits. Backpressure: a
// connection with many unanswered frames or a slow reader of its ACKs is not read from until
// it catches up. Idle, partial-frame and ACK-write timeouts as for the thread-per-connection
// model; commit_timeout_ms is enforced here (a batch whose result is late is answered AR).
//
// Lifecycle: start() takes the listening socket (bound and listening, any blocking mode) and
// starts the thread; stop() refuses new connections at once (the listening socket is shut
// down), stops reading, waits for the results of the frames in flight (at most until their
// commit deadlines), sends their ACKs (at most partial_frame_timeout_seconds), closes every
// connection and joins the thread. stop() is idempotent and called by the destructor.
// Thread-safety: start()/stop() from one thread.
class MllpReactor {
 public:
  ~MllpReactor();
  MllpReactor(const MllpReactor&) = delete;
  MllpReactor& operator=(const MllpReactor&) = delete;

  // Takes ownership of `listen_fd` (closed by stop()). Internal when epoll or eventfd cannot be
  // set up (`listen_fd` is closed then too).
  static Result<std::unique_ptr<MllpReactor>> start(std::shared_ptr<MllpListenerState> state,
                                                    int listen_fd);
  void stop();

 private:
  class Loop;
  explicit MllpReactor(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace gw::mllp
