// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpAdapter.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <Poco/ThreadPool.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <utility>

#include "adapters/inbound/mllp/MllpConnection.h"
#include "adapters/inbound/mllp/MllpReactor.h"
#include "adapters/inbound/mllp/MllpTls.h"

namespace gw {
namespace {

// Pending connections the kernel keeps before accept().
constexpr int kListenBacklog = 64;
// Most accepted connections waiting for a pool thread at once.
constexpr int kMaxQueued = 16;
// Pool threads beyond max_connections. Served connections never use them (MllpConnection counts
// itself), so a connection that slipped past AdmissionFilter in a burst always gets a thread that
// refuses it at once instead of waiting in the queue until a served connection ends.
constexpr int kRefusalThreads = 2;
// Idle pool threads wait this long for the next connection before exiting; also bounds how
// long stop() can wait for a thread that started just as the listener stopped.
constexpr long kThreadIdleSeconds = 1;

class ConnectionFactory final : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(std::shared_ptr<mllp::MllpListenerState> state)
      : state_(std::move(state)) {}

  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new mllp::MllpConnection(socket, state_);
  }

 private:
  std::shared_ptr<mllp::MllpListenerState> state_;
};

// Runs on the acceptor thread: a connection over max_connections is closed at once instead of
// waiting in POCO's queue, so a sender learns immediately that it must retry later. Connections
// that slip through in a burst are refused by MllpConnection itself.
class AdmissionFilter final : public Poco::Net::TCPServerConnectionFilter {
 public:
  explicit AdmissionFilter(std::shared_ptr<mllp::MllpListenerState> state)
      : state_(std::move(state)) {}

  bool accept(const Poco::Net::StreamSocket& socket) override {
    std::string peer = "unknown";
    try {
      peer = socket.peerAddress().toString();
    } catch (const Poco::Exception&) {  // already gone; the count still decides
    }
    return state_->admit(peer);
  }

 private:
  std::shared_ptr<mllp::MllpListenerState> state_;
};

Status validate(const MllpSettings& s) {
  const auto invalid = [&s](const std::string& what) {
    return Status::invalidArgument("inbound.mllp \"" + s.name + "\": " + what);
  };
  if (s.name.empty()) {
    return Status::invalidArgument("inbound.mllp: the listener name must not be empty");
  }
  if (s.host.empty()) {
    return invalid("host must not be empty");
  }
  if (s.port < 0 || s.port > 65535) {
    return invalid("port " + std::to_string(s.port) + " is outside 0..65535");
  }
  if (s.max_frame_bytes < 1024 || s.max_frame_bytes > 64 * 1024 * 1024) {
    return invalid("max_frame_bytes " + std::to_string(s.max_frame_bytes) +
                   " is outside 1024..67108864");
  }
  if (s.idle_timeout_seconds < 1 || s.partial_frame_timeout_seconds < 1 ||
      s.commit_timeout_ms < 1) {
    return invalid("timeouts must be positive");
  }
  if (s.max_connections < 1) {
    return invalid("max_connections must be at least 1");
  }
  if (s.io_model != "auto" && s.io_model != "reactor" && s.io_model != "threads") {
    return invalid("io_model must be \"auto\", \"reactor\" or \"threads\"");
  }
  if (s.tls.min_version != "1.2" && s.tls.min_version != "1.3") {
    return invalid("tls.min_version must be \"1.2\" or \"1.3\"");
  }
  if (s.tls.enabled && (s.tls.certificate.empty() || s.tls.private_key.empty())) {
    return invalid("tls.certificate and tls.private_key are required when TLS is enabled");
  }
  if (s.tls.require_client_certificate && s.tls.ca.empty()) {
    return invalid("tls.require_client_certificate needs tls.ca");
  }
  if (!s.tls.allowed_client_subjects.empty() && !s.tls.require_client_certificate) {
    return invalid("tls.allowed_client_subjects needs tls.require_client_certificate");
  }
  if (s.io_model == "reactor" && s.tls.enabled) {
    return invalid(
        "io_model \"reactor\" serves plain TCP only; with TLS use \"auto\" or "
        "\"threads\"");
  }
  return Status::ok();
}

}  // namespace

struct MllpAdapter::Impl {
  Impl(MllpSettings s, InboundSink& k) : settings(std::move(s)), sink(k) {}

  const MllpSettings settings;
  InboundSink& sink;
  Poco::Net::Context::Ptr tls_context;  // null without TLS
  Poco::Logger& logger = Poco::Logger::get("gw.inbound.mllp");
  // Kept across start()/stop() so stats() keeps counting.
  std::shared_ptr<mllp::MllpCounters> counters = std::make_shared<mllp::MllpCounters>();
  // While started. The server is destroyed before the pool its threads come from.
  std::shared_ptr<mllp::MllpListenerState> state;
  std::unique_ptr<Poco::ThreadPool> pool;
  mutable std::mutex server_mutex;  // guards `server` against stats() from other threads
  std::unique_ptr<Poco::Net::TCPServer> server;
  // Instead of `server` with the reactor I/O model.
  std::unique_ptr<mllp::MllpReactor> reactor;
  std::string bound_address;
};

Result<InboundAdapterPtr> makeMllpAdapter(const MllpSettings& settings, InboundSink& sink) {
  GW_RETURN_IF_ERROR(validate(settings));
  auto impl = std::make_unique<MllpAdapter::Impl>(settings, sink);
  if (settings.tls.enabled) {
    Result<Poco::Net::Context::Ptr> context = mllp::makeServerTlsContext(settings.tls);
    if (!context.ok()) {
      return context.status().withContext("inbound.mllp \"" + settings.name + "\"");
    }
    impl->tls_context = *context;
  }
  impl->bound_address = settings.host + ":" + std::to_string(settings.port);
  return InboundAdapterPtr(new MllpAdapter(std::move(impl)));
}

MllpAdapter::MllpAdapter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MllpAdapter::~MllpAdapter() {
  stop();
}

std::string_view MllpAdapter::name() const {
  return impl_->settings.name;
}

std::string MllpAdapter::boundAddress() const {
  return impl_->bound_address;
}

MllpStats MllpAdapter::stats() const {
  MllpStats stats = impl_->counters->snapshot();
  std::lock_guard<std::mutex> lock(impl_->server_mutex);
  if (impl_->server) {
    // Connections POCO closed because its queue was full (a burst of connects).
    stats.connections_refused += static_cast<std::uint64_t>(impl_->server->refusedConnections());
  }
  return stats;
}

Status MllpAdapter::start() {
  // A peer that closes while an ACK is written must cost one connection, not the process
  // (OpenSSL writes with write(2), so MSG_NOSIGNAL cannot help). The daemon ignores it too.
  static std::once_flag sigpipe_ignored;
  std::call_once(sigpipe_ignored, [] { std::signal(SIGPIPE, SIG_IGN); });
  Impl& m = *impl_;
  const MllpSettings& s = m.settings;
  if (m.server || m.reactor) {
    return Status::internal("listener \"" + s.name + "\" is already started");
  }
  const std::string wanted = s.host + ":" + std::to_string(s.port);
  const bool tls = !m.tls_context.isNull();
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  try {
    const Poco::Net::SocketAddress address(s.host, static_cast<Poco::UInt16>(s.port));
    socket = tls ? std::make_unique<Poco::Net::SecureServerSocket>(m.tls_context)
                 : std::make_unique<Poco::Net::ServerSocket>();
    // SO_REUSEADDR survives TIME_WAIT after a restart; SO_REUSEPORT would let a second process
    // share the port silently, so it stays off.
    socket->bind(address, /*reuseAddress=*/true, /*reusePort=*/false);
    socket->listen(kListenBacklog);
  } catch (const Poco::Exception& e) {
    return Status::unavailable("listener \"" + s.name + "\": cannot listen on " + wanted + ": " +
                               e.displayText());
  }

  if (!tls && s.io_model != "threads") {
    return startReactor(*socket);
  }
  try {
    m.bound_address = socket->address().toString();
    const bool loopback = socket->address().host().isLoopback();
    auto params = Poco::AutoPtr<Poco::Net::TCPServerParams>(new Poco::Net::TCPServerParams);
    const int threads = s.max_connections + kRefusalThreads;
    params->setMaxThreads(threads);
    // Connections waiting for a pool thread; in a burst beyond this POCO closes them (counted
    // as refused). Admission is decided by AdmissionFilter and MllpConnection.
    params->setMaxQueued(std::min(s.max_connections, kMaxQueued));
    params->setThreadIdleTime(Poco::Timespan(kThreadIdleSeconds, 0));
    m.state = std::make_shared<mllp::MllpListenerState>(s, m.sink, m.counters, tls);
    m.pool = std::make_unique<Poco::ThreadPool>("mllp-" + s.name, 1, threads,
                                                /*idleTime=*/60);
    auto server = std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(m.state), *m.pool,
                                                         *socket, params);
    server->setConnectionFilter(new AdmissionFilter(m.state));
    server->start();
    std::lock_guard<std::mutex> lock(m.server_mutex);
    m.server = std::move(server);

    std::string mode = "plain TCP";
    if (tls) {
      mode = "TLS " + s.tls.min_version + "+";
      if (s.tls.require_client_certificate) {
        mode += ", client certificate required";
      }
    }
    poco_information(m.logger, "[listener=" + s.name + "] listening on " + m.bound_address + " (" +
                                   mode + ", max " + std::to_string(s.max_connections) +
                                   " connections)");
    if (!loopback && !tls) {
      poco_warning(m.logger, "[listener=" + s.name + "] listening on " + m.bound_address +
                                 " without TLS: HL7 messages cross the network in clear text;"
                                 " enable tls or bind to loopback behind a TLS proxy");
    }
  } catch (const Poco::Exception& e) {
    m.pool.reset();
    m.state.reset();
    return Status::unavailable("listener \"" + s.name + "\": cannot serve on " + wanted + ": " +
                               e.displayText());
  }
  return Status::ok();
}

Status MllpAdapter::startReactor(Poco::Net::ServerSocket& socket) {
  Impl& m = *impl_;
  const MllpSettings& s = m.settings;
  std::string address;
  bool loopback = false;
  int fd = -1;
  try {
    address = socket.address().toString();
    loopback = socket.address().host().isLoopback();
    // The reactor gets a descriptor of its own; POCO's socket object closes the original.
    fd = ::dup(socket.impl()->sockfd());
    if (fd < 0) {
      return Status::unavailable("listener \"" + s.name + "\": cannot serve on " + address +
                                 ": dup: " + std::strerror(errno));
    }
    socket.close();
  } catch (const Poco::Exception& e) {
    if (fd >= 0) {
      ::close(fd);
    }
    return Status::unavailable("listener \"" + s.name + "\": cannot serve: " + e.displayText());
  }
  auto state = std::make_shared<mllp::MllpListenerState>(s, m.sink, m.counters, /*tls=*/false);
  Result<std::unique_ptr<mllp::MllpReactor>> reactor = mllp::MllpReactor::start(state, fd);
  if (!reactor.ok()) {
    return Status::unavailable(reactor.status().message());
  }
  m.state = std::move(state);
  m.bound_address = address;
  m.reactor = std::move(reactor).value();
  poco_information(m.logger, "[listener=" + s.name + "] listening on " + m.bound_address +
                                 " (plain TCP, epoll reactor, max " +
                                 std::to_string(s.max_connections) + " connections)");
  if (!loopback) {
    poco_warning(m.logger, "[listener=" + s.name + "] listening on " + m.bound_address +
                               " without TLS: HL7 messages cross the network in clear text;"
                               " enable tls or bind to loopback behind a TLS proxy");
  }
  return Status::ok();
}

void MllpAdapter::stop() {
  Impl& m = *impl_;
  if (m.reactor) {
    m.state->beginStop();
    m.reactor->stop();  // answers the frames in flight, closes every connection
    m.reactor.reset();
    m.state.reset();
    poco_information(m.logger, "[listener=" + m.settings.name + "] stopped");
    return;
  }
  if (!m.server) {
    return;
  }
  m.state->beginStop();
  try {
    m.server->stop();  // joins the acceptor; connections still queued are dropped (closed)
    Poco::Net::ServerSocket listening = m.server->socket();
    listening.close();  // new connection attempts are refused rather than left in the backlog
  } catch (const Poco::Exception& e) {
    poco_warning(m.logger, "[listener=" + m.settings.name + "] while stopping: " + e.displayText());
  }
  // Serving connections notice the stop within ~200 ms, or once the frame in flight has been
  // committed and answered.
  m.pool->joinAll();
  {
    std::lock_guard<std::mutex> lock(m.server_mutex);
    m.counters->connections_refused += static_cast<std::uint64_t>(m.server->refusedConnections());
    m.server.reset();
  }
  m.pool.reset();
  m.state.reset();
  poco_information(m.logger, "[listener=" + m.settings.name + "] stopped");
}

}  // namespace gw
