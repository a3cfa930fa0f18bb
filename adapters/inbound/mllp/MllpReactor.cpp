// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpReactor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/inbound/mllp/MllpFrameAnswers.h"

namespace gw::mllp {
namespace {

using SteadyClock = std::chrono::steady_clock;

// One read() per ready connection and round, so one busy sender cannot starve the others.
constexpr std::size_t kReadChunkBytes = 64 * 1024;
// A connection with this many frames read and not yet answered is not read from until some are
// answered (a pipelining sender cannot queue unbounded work).
constexpr std::size_t kMaxUnansweredFrames = 64;
// ACK bytes the peer has not taken yet; above this the connection is not read from.
constexpr std::size_t kMaxPendingOutputBytes = 256 * 1024;
// Gathering a round: frames that are ready are not handed to the sink at once while
// connections answered within the last kAwaitWindow have not sent their next frame yet, for at
// most kGatherWindow after the round's first frame. Senders that answer each ACK with the next
// message (the usual MLLP pattern) then share one commit (one fsync) instead of splitting into
// groups that each wait for the other's commit. A lone sender, or one whose peers are quiet, is
// never delayed.
constexpr std::chrono::microseconds kGatherWindow(400);
constexpr std::chrono::milliseconds kAwaitWindow(2);
// Most events handed to the sink in one round.
constexpr std::size_t kMaxRoundEvents = 1024;
// How often timeouts (idle, partial frame, ACK write, commit deadline) are checked.
constexpr std::chrono::milliseconds kTimerInterval(100);
constexpr int kMaxEventsPerWait = 256;
// epoll keys of the two non-connection descriptors; connections count up from kFirstConnKey.
constexpr std::uint64_t kListenKey = 0;
constexpr std::uint64_t kWakeKey = 1;
constexpr std::uint64_t kFirstConnKey = 2;

std::string errnoText(int error) {
  return std::strerror(error);
}

// "ip:port" like Poco's SocketAddress::toString() ("[ip6]:port" for IPv6).
std::string addressText(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
  }
  return "unknown";
}

// Where a batch's results land: filled by whatever thread completes the batch, drained by the
// loop. Shared with every callback handed to the sink, so a late result after stop() finds a
// live queue (and a live eventfd: the queue owns it).
class CompletionQueue {
 public:
  explicit CompletionQueue(int wake_fd) : wake_fd_(wake_fd) {}
  ~CompletionQueue() { ::close(wake_fd_); }
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  using Ready = std::vector<std::pair<std::uint64_t, std::vector<Result<IntakeReceipt>>>>;

  void post(std::uint64_t batch, std::vector<Result<IntakeReceipt>> results) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace_back(batch, std::move(results));
    }
    // The loop drains the queue right after handing a batch to the sink, so a result produced
    // on its own thread needs no wake-up (saves an eventfd write, read and epoll return).
    if (std::this_thread::get_id() != loop_thread_.load()) {
      wake();
    }
  }
  // Called by the loop's thread when it starts.
  void setLoopThread() { loop_thread_.store(std::this_thread::get_id()); }
  void wake() {
    const std::uint64_t one = 1;
    // A full counter (never in practice) still leaves the descriptor readable.
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  }
  // Moves everything posted so far into `out` (cleared first).
  void take(Ready& out) {
    out.clear();
    std::lock_guard<std::mutex> lock(mu_);
    out.swap(ready_);
  }
  int fd() const { return wake_fd_; }

 private:
  const int wake_fd_;
  std::atomic<std::thread::id> loop_thread_{};
  std::mutex mu_;
  Ready ready_;
};

// One frame read from a connection and not yet answered, in arrival order.
struct Slot {
  std::uint64_t seq = 0;
  std::string payload;  // kept to build the ACK once the sink's result arrives
  bool ready = false;
  FrameAnswer answer;
};

struct Conn {
  std::uint64_t key = 0;
  int fd = -1;
  std::string id;
  std::unique_ptr<FrameAnswers> answers;
  MllpFramer framer;
  std::deque<Slot> slots;
  std::uint64_t next_seq = 0;
  std::string out;  // framed ACKs not yet written
  std::size_t out_offset = 0;
  SteadyClock::time_point opened;
  SteadyClock::time_point idle_since;
  SteadyClock::time_point frame_started;
  SteadyClock::time_point write_progress;
  std::uint32_t registered = 0;  // epoll events asked for
  bool peer_closed = false;      // EOF read: answer what is pending, then close
  bool close_after_flush = false;
  bool dead = false;      // closed at the end of this round
  bool dirty = false;     // in the round's flush list
  bool awaiting = false;  // answered everything recently; its next frame is expected
  SteadyClock::time_point awaiting_since;
  std::uint64_t frames = 0;
  std::uint64_t skipped = 0;

  explicit Conn(std::size_t max_frame_bytes) : framer(max_frame_bytes) {}
  std::size_t pendingOutput() const { return out.size() - out_offset; }
};

// A batch handed to the sink whose results have not arrived: where each result goes.
struct Batch {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> targets;  // (connection key, slot seq)
  Deadline deadline;
};

}  // namespace

class MllpReactor::Loop {
 public:
  Loop(std::shared_ptr<MllpListenerState> state, int listen_fd, int epoll_fd,
       std::shared_ptr<CompletionQueue> completions)
      : state_(std::move(state)),
        settings_(state_->settings()),
        logger_(state_->logger()),
        listen_socket_(listen_fd),
        listen_fd_(listen_fd),
        epoll_fd_(epoll_fd),
        completions_(std::move(completions)) {}
  ~Loop() {
    if (listen_fd_ >= 0) {
      ::close(listen_fd_);
    }
    ::close(epoll_fd_);
  }

  void run();
  // From stop(): new connections are refused from here on; the loop winds down.
  void requestStop() {
    // Before stopping_ is set the loop never closes the descriptor, so it is still ours here.
    ::shutdown(listen_socket_, SHUT_RDWR);  // refuses new connections at once
    stopping_.store(true);
    completions_->wake();
  }

  std::thread thread;

 private:
  void iterate(std::vector<epoll_event>& events);
  // How long epoll_wait may block: until the next timer check or the end of the gathering.
  std::chrono::nanoseconds waitTime(SteadyClock::time_point now) const;
  // Hands the round to the sink now, or keeps gathering (see kGatherWindow).
  void submitOrGather(SteadyClock::time_point now);
  void setAwaiting(Conn& c, SteadyClock::time_point now);
  void clearAwaiting(Conn& c);
  void expireAwaiting(SteadyClock::time_point now);
  void acceptAll();
  void readFrom(Conn& c);
  void submitRound();
  void failRound(std::uint64_t batch_id, const char* what);
  void drainCompletions();
  void answerSlot(Conn& c, std::uint64_t seq, const Result<IntakeReceipt>& result);
  void flush(Conn& c);
  void writeOut(Conn& c);
  void updateInterest(Conn& c);
  void checkTimers(SteadyClock::time_point now);
  void beginStop();
  void markDirty(Conn& c);
  void markDead(Conn& c);
  void closeDead();
  void closeConn(Conn& c);
  Conn* find(std::uint64_t key);

  const std::shared_ptr<MllpListenerState> state_;
  const MllpSettings& settings_;
  Poco::Logger& logger_;
  const int listen_socket_;  // for requestStop(); the loop owns it through listen_fd_
  int listen_fd_;            // -1 once the loop closed it
  const int epoll_fd_;
  const std::shared_ptr<CompletionQueue> completions_;
  std::atomic<bool> stopping_{false};
  bool stop_begun_ = false;
  bool accepting_paused_ = false;  // out of descriptors: retried at the next timer check

  std::unordered_map<std::uint64_t, std::unique_ptr<Conn>> conns_;
  std::uint64_t next_key_ = kFirstConnKey;
  std::vector<std::uint64_t> dirty_;
  std::vector<std::uint64_t> dead_;
  SteadyClock::time_point next_timers_ = SteadyClock::now() + kTimerInterval;

  // The round being collected: events for the sink and where their results go.
  std::vector<InboundEvent> round_events_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> round_targets_;
  std::unordered_map<std::uint64_t, Batch> in_flight_;
  std::optional<SteadyClock::time_point> gathering_since_;  // first frame of the held round
  std::size_t awaiting_ = 0;                                // connections with Conn::awaiting
  // (awaiting_since, key) in time order, for expiry; entries of answered-again or closed
  // connections are skipped when they reach the front.
  std::deque<std::pair<SteadyClock::time_point, std::uint64_t>> awaiting_order_;
  std::uint64_t next_batch_ = 1;
  CompletionQueue::Ready completed_;
  std::vector<MllpFrame> frames_;
  std::vector<char> buffer_ = std::vector<char>(kReadChunkBytes);
};

void MllpReactor::Loop::run() {
  completions_->setLoopThread();
  std::vector<epoll_event> events(kMaxEventsPerWait);
  for (;;) {
    // Nothing escapes the loop: a bug costs the round it happened in, not the listener.
    try {
      iterate(events);
    } catch (const std::exception& e) {
      ++state_->counters().internal_errors;
      poco_error(logger_,
                 "[listener=" + settings_.name + "] BUG: exception in the I/O loop: " + e.what());
    } catch (...) {
      ++state_->counters().internal_errors;
      poco_error(logger_, "[listener=" + settings_.name + "] BUG: exception in the I/O loop");
    }
    if (stop_begun_ && conns_.empty()) {
      break;
    }
  }
  // Results still in flight find the completion queue alive (shared) and are dropped there.
}

std::chrono::nanoseconds MllpReactor::Loop::waitTime(SteadyClock::time_point now) const {
  SteadyClock::time_point until = next_timers_;
  if (gathering_since_) {
    until = std::min(until, *gathering_since_ + kGatherWindow);
  }
  return until > now ? std::chrono::nanoseconds(until - now) : std::chrono::nanoseconds(0);
}

void MllpReactor::Loop::submitOrGather(SteadyClock::time_point now) {
  if (round_events_.empty()) {
    gathering_since_.reset();
    return;
  }
  expireAwaiting(now);
  if (!gathering_since_) {
    gathering_since_ = now;
  }
  if (awaiting_ == 0 || stop_begun_ || now - *gathering_since_ >= kGatherWindow ||
      round_events_.size() >= kMaxRoundEvents) {
    gathering_since_.reset();
    submitRound();
  }
}

void MllpReactor::Loop::setAwaiting(Conn& c, SteadyClock::time_point now) {
  if (!c.awaiting) {
    c.awaiting = true;
    ++awaiting_;
  }
  c.awaiting_since = now;
  awaiting_order_.emplace_back(now, c.key);
}

void MllpReactor::Loop::clearAwaiting(Conn& c) {
  if (c.awaiting) {
    c.awaiting = false;
    --awaiting_;
  }
}

void MllpReactor::Loop::expireAwaiting(SteadyClock::time_point now) {
  while (!awaiting_order_.empty() && awaiting_order_.front().first + kAwaitWindow <= now) {
    const auto [since, key] = awaiting_order_.front();
    awaiting_order_.pop_front();
    Conn* c = find(key);
    if (c != nullptr && c->awaiting && c->awaiting_since == since) {
      clearAwaiting(*c);
    }
  }
}

void MllpReactor::Loop::iterate(std::vector<epoll_event>& events) {
  if (stopping_.load() && !stop_begun_) {
    beginStop();
  }
  const std::chrono::nanoseconds wait = waitTime(SteadyClock::now());
  timespec timeout{};
  timeout.tv_sec = static_cast<time_t>(wait.count() / 1000000000);
  timeout.tv_nsec = static_cast<long>(wait.count() % 1000000000);
  const int n =
      ::epoll_pwait2(epoll_fd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
  if (n < 0 && errno != EINTR) {
    poco_error(logger_, "[listener=" + settings_.name + "] epoll_wait failed: " + errnoText(errno));
  }
  for (int i = 0; i < n; ++i) {
    const std::uint64_t key = events[i].data.u64;
    const std::uint32_t ready = events[i].events;
    if (key == kListenKey) {
      acceptAll();
      continue;
    }
    if (key == kWakeKey) {
      std::uint64_t count = 0;
      [[maybe_unused]] const ssize_t r = ::read(completions_->fd(), &count, sizeof(count));
      continue;
    }
    Conn* c = find(key);
    if (c == nullptr) {
      continue;
    }
    try {
      if ((ready & EPOLLERR) != 0) {
        int error = 0;
        socklen_t length = sizeof(error);
        ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
        poco_information(logger_, "[conn=" + c->id + "] connection error: " + errnoText(error));
        markDead(*c);
        continue;
      }
      if ((ready & EPOLLIN) != 0 || ((ready & EPOLLHUP) != 0 && (c->registered & EPOLLIN) != 0)) {
        readFrom(*c);
      } else if ((ready & EPOLLHUP) != 0) {
        // Both directions are gone while we were not reading: nothing can be answered.
        c->answers->logDebug("[conn=" + c->id + "] peer closed the connection");
        markDead(*c);
        continue;
      }
      if ((ready & EPOLLOUT) != 0 && !c->dead) {
        writeOut(*c);
      }
    } catch (const std::exception& e) {
      ++state_->counters().internal_errors;
      c->answers->logBug(e.what());
      markDead(*c);
    }
  }
  drainCompletions();
  const auto now = SteadyClock::now();
  submitOrGather(now);
  drainCompletions();  // results the sink produced on this thread
  if (now >= next_timers_) {
    next_timers_ = now + kTimerInterval;
    checkTimers(now);
  }
  for (const std::uint64_t key : dirty_) {
    if (Conn* c = find(key); c != nullptr) {
      c->dirty = false;
      flush(*c);
    }
  }
  dirty_.clear();
  closeDead();
}

void MllpReactor::Loop::acceptAll() {
  for (;;) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EINTR || error == ECONNABORTED || error == EPROTO) {
        continue;
      }
      if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
        // Level-triggered: the pending connection would wake us at once again. Leave it in the
        // backlog until the next timer check.
        poco_warning(logger_, "[listener=" + settings_.name +
                                  "] cannot accept: " + errnoText(error) + "; retrying shortly");
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accepting_paused_ = true;
      }
      return;  // EAGAIN: accepted everything that was waiting
    }
    const std::string peer = addressText(address);
    if (stopping_.load()) {
      ::close(fd);
      continue;
    }
    if (conns_.size() >= static_cast<std::size_t>(settings_.max_connections)) {
      state_->refuse(peer);
      ::close(fd);
      continue;
    }
    // ACKs are small writes answering small requests: never wait for Nagle.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_unique<Conn>(static_cast<std::size_t>(settings_.max_frame_bytes));
    Conn& c = *conn;
    c.key = next_key_++;
    c.fd = fd;
    c.id = state_->nextConnectionId();
    c.answers = std::make_unique<FrameAnswers>(settings_, state_->counters(), logger_, c.id, peer);
    c.opened = SteadyClock::now();
    c.idle_since = c.opened;
    c.write_progress = c.opened;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = c.key;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      poco_warning(logger_, "[conn=" + c.id + "] cannot watch the connection: " + errnoText(errno) +
                                "; closing");
      ::close(fd);
      continue;
    }
    c.registered = EPOLLIN;
    ++state_->counters().connections_accepted;
    poco_information(logger_, "[conn=" + c.id + "] opened from " + peer);
    conns_.emplace(c.key, std::move(conn));
  }
}

void MllpReactor::Loop::readFrom(Conn& c) {
  const ssize_t received = ::read(c.fd, buffer_.data(), buffer_.size());
  if (received < 0) {
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == EINTR) {
      return;
    }
    poco_information(logger_, "[conn=" + c.id + "] connection error: " + errnoText(error));
    markDead(c);
    return;
  }
  if (received == 0) {
    c.answers->logDebug("[conn=" + c.id + "] peer closed the connection");
    c.peer_closed = true;
    updateInterest(c);  // not read again; closed once its frames are answered
    markDirty(c);
    return;
  }
  const bool was_in_frame = c.framer.inFrame();
  frames_.clear();
  const std::uint64_t skipped_before = c.framer.skippedBytes();
  c.framer.feed(std::string_view(buffer_.data(), static_cast<std::size_t>(received)), frames_);
  const std::uint64_t skipped = c.framer.skippedBytes() - skipped_before;
  if (skipped > 0) {
    c.skipped += skipped;
    state_->counters().bytes_skipped += skipped;
    c.answers->noteBadInput("[conn=" + c.id + "] skipped " + std::to_string(skipped) +
                            " byte(s) outside MLLP frames");
  }
  for (MllpFrame& frame : frames_) {
    if (c.close_after_flush) {
      break;  // frames after an oversized one are never answered: the connection closes
    }
    ++c.frames;
    ++state_->counters().frames;
    clearAwaiting(c);
    c.slots.emplace_back();
    Slot& slot = c.slots.back();
    slot.seq = c.next_seq++;
    FrameStep step = c.answers->begin(frame);
    if (step.event) {
      slot.payload = std::move(frame.payload);
      round_events_.push_back(std::move(*step.event));
      round_targets_.emplace_back(c.key, slot.seq);
    } else {
      slot.ready = true;
      slot.answer = std::move(step.answer);
      if (slot.answer.close) {
        c.close_after_flush = true;
      }
      markDirty(c);
    }
  }
  if (c.framer.inFrame() && (!was_in_frame || !frames_.empty())) {
    c.frame_started = SteadyClock::now();
  }
  updateInterest(c);
}

void MllpReactor::Loop::submitRound() {
  if (round_events_.empty()) {
    return;
  }
  const std::uint64_t id = next_batch_++;
  const Deadline deadline =
      SteadyClock::now() + std::chrono::milliseconds(settings_.commit_timeout_ms);
  Batch& batch = in_flight_[id];
  batch.targets = std::move(round_targets_);
  batch.deadline = deadline;
  round_targets_.clear();
  std::vector<InboundEvent> events = std::move(round_events_);
  round_events_.clear();
  std::shared_ptr<CompletionQueue> completions = completions_;
  try {
    state_->sink().acceptBatch(std::move(events), deadline,
                               [completions, id](std::vector<Result<IntakeReceipt>> results) {
                                 completions->post(id, std::move(results));
                               });
  } catch (const std::exception& e) {
    failRound(id, e.what());
  } catch (...) {
    failRound(id, "non-standard exception");
  }
}

void MllpReactor::Loop::failRound(std::uint64_t batch_id, const char* what) {
  // Inside the catch block of submitRound(), so logBug() names the exception's type. A result
  // the sink may still deliver for this batch is ignored (it is no longer in flight).
  const auto it = in_flight_.find(batch_id);
  if (it == in_flight_.end()) {
    return;
  }
  const Batch batch = std::move(it->second);
  in_flight_.erase(it);
  for (const auto& [key, seq] : batch.targets) {
    Conn* c = find(key);
    if (c == nullptr) {
      continue;
    }
    for (Slot& slot : c->slots) {
      if (slot.seq == seq && !slot.ready) {
        ++state_->counters().internal_errors;
        c->answers->logBug(what);
        slot.answer = c->answers->afterBug(slot.payload);
        slot.ready = true;
        if (slot.answer.close) {
          c->close_after_flush = true;
        }
        markDirty(*c);
      }
    }
  }
}

void MllpReactor::Loop::drainCompletions() {
  completions_->take(completed_);
  for (auto& [id, results] : completed_) {
    const auto it = in_flight_.find(id);
    if (it == in_flight_.end()) {
      continue;  // answered already (its deadline passed, or the sink threw)
    }
    const Batch& batch = it->second;
    for (std::size_t i = 0; i < batch.targets.size(); ++i) {
      Conn* c = find(batch.targets[i].first);
      if (c == nullptr) {
        continue;  // the connection went away; its events are committed all the same
      }
      answerSlot(*c, batch.targets[i].second,
                 i < results.size()
                     ? results[i]
                     : Result<IntakeReceipt>(Status::internal("the sink gave no result")));
    }
    in_flight_.erase(it);
  }
  completed_.clear();
}

void MllpReactor::Loop::answerSlot(Conn& c, std::uint64_t seq,
                                   const Result<IntakeReceipt>& result) {
  if (c.slots.empty() || seq < c.slots.front().seq) {
    return;
  }
  const std::size_t index = static_cast<std::size_t>(seq - c.slots.front().seq);
  if (index >= c.slots.size()) {
    return;
  }
  Slot& slot = c.slots[index];
  if (slot.ready) {
    return;
  }
  slot.answer = c.answers->afterCommit(slot.payload, result);
  slot.ready = true;
  slot.payload = std::string();
  if (slot.answer.close) {
    c.close_after_flush = true;
  }
  markDirty(c);
}

void MllpReactor::Loop::flush(Conn& c) {
  if (c.dead) {
    return;
  }
  MllpCounters& counters = state_->counters();
  while (!c.slots.empty() && c.slots.front().ready) {
    Slot& slot = c.slots.front();
    const bool close = slot.answer.close;
    if (slot.answer.ack) {
      c.out.reserve(c.out.size() + slot.answer.ack->size() + 3);
      c.out += kStartBlock;
      c.out += *slot.answer.ack;
      c.out += kEndBlock;
      c.out += kCarriageReturn;
      if (slot.answer.code) {
        counters.countAck(*slot.answer.code);
      }
    } else if (slot.answer.code) {
      ++counters.acks_suppressed;
    }
    c.slots.pop_front();
    c.idle_since = SteadyClock::now();
    if (c.slots.empty() && !c.peer_closed && !c.close_after_flush && !stop_begun_) {
      setAwaiting(c, c.idle_since);
    }
    if (close) {
      c.close_after_flush = true;
      c.slots.clear();  // nothing after the frame that closes the connection is answered
      break;
    }
  }
  writeOut(c);
}

void MllpReactor::Loop::writeOut(Conn& c) {
  if (c.dead) {
    return;
  }
  while (c.out_offset < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_offset, c.out.size() - c.out_offset, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_offset += static_cast<std::size_t>(n);
      c.write_progress = SteadyClock::now();
      continue;
    }
    const int error = errno;
    if (n < 0 && error == EINTR) {
      continue;
    }
    if (n < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
      break;  // the peer is slow to read: EPOLLOUT tells when it can take more
    }
    poco_information(logger_, "[conn=" + c.id + "] cannot send the ACK: " +
                                  (n == 0 ? std::string("connection closed") : errnoText(error)));
    markDead(c);
    return;
  }
  if (c.out_offset == c.out.size()) {
    c.out.clear();
    c.out_offset = 0;
  } else if (c.out_offset > kMaxPendingOutputBytes) {
    c.out.erase(0, c.out_offset);
    c.out_offset = 0;
  }
  if (c.slots.empty() && c.pendingOutput() == 0 &&
      (c.peer_closed || c.close_after_flush || stop_begun_)) {
    markDead(c);  // everything answered and sent
    return;
  }
  updateInterest(c);
}

void MllpReactor::Loop::updateInterest(Conn& c) {
  if (c.dead) {
    return;
  }
  std::uint32_t wanted = 0;
  const bool may_read = !c.peer_closed && !c.close_after_flush && !stop_begun_ &&
                        c.slots.size() < kMaxUnansweredFrames &&
                        c.pendingOutput() < kMaxPendingOutputBytes;
  if (may_read) {
    wanted |= EPOLLIN;
  }
  if (c.pendingOutput() > 0) {
    wanted |= EPOLLOUT;
  }
  if (wanted == c.registered) {
    return;
  }
  epoll_event event{};
  event.events = wanted;
  event.data.u64 = c.key;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event) != 0) {
    poco_warning(logger_, "[conn=" + c.id + "] cannot change what is watched: " + errnoText(errno) +
                              "; closing");
    markDead(c);
    return;
  }
  if ((wanted & EPOLLIN) != 0 && (c.registered & EPOLLIN) == 0 && c.framer.inFrame()) {
    // Paused while a frame was under way: the sender was not at fault for the pause.
    c.frame_started = SteadyClock::now();
  }
  c.registered = wanted;
}

void MllpReactor::Loop::checkTimers(SteadyClock::time_point now) {
  expireAwaiting(now);
  if (accepting_paused_ && !stop_begun_) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kListenKey;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &event) == 0) {
      accepting_paused_ = false;
    }
  }
  // Commits later than commit_timeout_ms are answered AR now; their results are ignored.
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (now < it->second.deadline) {
      ++it;
      continue;
    }
    const Status late = Status::deadlineExceeded(
        "store commit did not finish before the deadline (it may still commit)");
    for (const auto& [key, seq] : it->second.targets) {
      if (Conn* c = find(key); c != nullptr) {
        answerSlot(*c, seq, late);
      }
    }
    it = in_flight_.erase(it);
  }
  const std::chrono::seconds idle_timeout(settings_.idle_timeout_seconds);
  const std::chrono::seconds partial_timeout(settings_.partial_frame_timeout_seconds);
  for (auto& [key, conn] : conns_) {
    Conn& c = *conn;
    if (c.dead) {
      continue;
    }
    if (c.pendingOutput() > 0) {
      if (now - c.write_progress >= partial_timeout) {
        poco_information(logger_, "[conn=" + c.id + "] the peer took no ACK bytes for " +
                                      std::to_string(settings_.partial_frame_timeout_seconds) +
                                      " s: closing");
        markDead(c);
      }
      continue;
    }
    if (!c.slots.empty() || c.peer_closed || c.close_after_flush || stop_begun_) {
      continue;  // waiting for results, not for the peer
    }
    if (c.framer.inFrame()) {
      if ((c.registered & EPOLLIN) != 0 && now - c.frame_started >= partial_timeout) {
        ++state_->counters().partial_frame_timeouts;
        c.answers->noteBadInput("[conn=" + c.id + "] frame not finished within " +
                                std::to_string(settings_.partial_frame_timeout_seconds) +
                                " s: closing");
        markDead(c);
      }
    } else if (now - c.idle_since >= idle_timeout) {
      // Senders reconnect when they have something to send: not worth more than debug.
      ++state_->counters().idle_timeouts;
      c.answers->logDebug("[conn=" + c.id + "] idle for " +
                          std::to_string(settings_.idle_timeout_seconds) + " s: closing");
      markDead(c);
    }
  }
}

void MllpReactor::Loop::beginStop() {
  stop_begun_ = true;
  if (listen_fd_ >= 0) {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  // No more reading. Connections with nothing pending close now; the others once the results of
  // their frames in flight are answered and sent (bounded by the commit deadline and the ACK
  // write timeout).
  for (auto& [key, conn] : conns_) {
    Conn& c = *conn;
    if (c.slots.empty() && c.pendingOutput() == 0) {
      c.answers->logDebug("[conn=" + c.id + "] closing: the listener is stopping");
      markDead(c);
    } else {
      c.answers->logDebug("[conn=" + c.id + "] closing after the frames in flight: stopping");
      updateInterest(c);
    }
  }
}

void MllpReactor::Loop::markDirty(Conn& c) {
  if (!c.dirty && !c.dead) {
    c.dirty = true;
    dirty_.push_back(c.key);
  }
}

void MllpReactor::Loop::markDead(Conn& c) {
  clearAwaiting(c);
  if (!c.dead) {
    c.dead = true;
    dead_.push_back(c.key);
  }
}

void MllpReactor::Loop::closeDead() {
  for (const std::uint64_t key : dead_) {
    const auto it = conns_.find(key);
    if (it != conns_.end()) {
      closeConn(*it->second);
      conns_.erase(it);
    }
  }
  dead_.clear();
}

void MllpReactor::Loop::closeConn(Conn& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  const auto seconds = std::chrono::duration<double>(SteadyClock::now() - c.opened).count();
  char duration[32];
  std::snprintf(duration, sizeof(duration), "%.1f s", seconds);
  poco_information(logger_, "[conn=" + c.id + "] closed after " + duration + ": " +
                                std::to_string(c.frames) + " frame(s), " +
                                std::to_string(c.answers->badInputs()) + " bad input(s), " +
                                std::to_string(c.skipped) + " byte(s) skipped");
}

Conn* MllpReactor::Loop::find(std::uint64_t key) {
  const auto it = conns_.find(key);
  return it == conns_.end() || it->second->dead ? nullptr : it->second.get();
}

MllpReactor::MllpReactor(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

MllpReactor::~MllpReactor() {
  stop();
}

Result<std::unique_ptr<MllpReactor>> MllpReactor::start(std::shared_ptr<MllpListenerState> state,
                                                        int listen_fd) {
  const std::string where = "listener \"" + state->settings().name + "\": ";
  const int flags = ::fcntl(listen_fd, F_GETFL, 0);
  if (flags < 0 || ::fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    const int error = errno;
    ::close(listen_fd);
    return Status::internal(where +
                            "cannot make the listening socket non-blocking: " + errnoText(error));
  }
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) {
    const int error = errno;
    ::close(listen_fd);
    return Status::internal(where + "cannot create an epoll instance: " + errnoText(error));
  }
  const int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd < 0) {
    const int error = errno;
    ::close(listen_fd);
    ::close(epoll_fd);
    return Status::internal(where + "cannot create an eventfd: " + errnoText(error));
  }
  auto completions = std::make_shared<CompletionQueue>(wake_fd);
  auto loop = std::make_unique<Loop>(std::move(state), listen_fd, epoll_fd, completions);
  epoll_event listen_event{};
  listen_event.events = EPOLLIN;
  listen_event.data.u64 = kListenKey;
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeKey;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listen_fd, &listen_event) != 0 ||
      ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake_event) != 0) {
    return Status::internal(where + "cannot watch the listening socket: " + errnoText(errno));
  }
  Loop* raw = loop.get();
  try {
    loop->thread = std::thread([raw] { raw->run(); });
  } catch (const std::system_error& e) {
    return Status::internal(where + "cannot start the I/O thread: " + e.what());
  }
  return std::unique_ptr<MllpReactor>(new MllpReactor(std::move(loop)));
}

void MllpReactor::stop() {
  if (!loop_ || !loop_->thread.joinable()) {
    return;
  }
  loop_->requestStop();
  loop_->thread.join();
}

}  // namespace gw::mllp
