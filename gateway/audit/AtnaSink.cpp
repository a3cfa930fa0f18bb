// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AtnaSink.h"

#include <Poco/Logger.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <sstream>

#include "gateway/crypto/OpenSslError.h"
#include "gateway/crypto/SecretFile.h"

namespace gw {
namespace {

constexpr const char* kCursorWhat = "ATNA cursor file";

Poco::Logger& logger() {
  return Poco::Logger::get("gw.audit.atna");
}

std::string localHostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') {
    return "-";
  }
  return name;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

bool isIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// Syslog over TLS with OpenSSL on a blocking socket with send/receive timeouts.
class TlsSyslogTransport final : public AtnaTransport {
 public:
  TlsSyslogTransport(const AtnaSettings& settings, std::unique_ptr<SSL_CTX, SslCtxFree> ctx)
      : host_(settings.host),
        port_(settings.port),
        timeout_ms_(settings.io_timeout_ms),
        ctx_(std::move(ctx)) {}
  ~TlsSyslogTransport() override { close(); }

  Status connect() override {
    close();
    GW_RETURN_IF_ERROR(openSocket());
    ssl_.reset(SSL_new(ctx_.get()));
    if (ssl_ == nullptr || SSL_set_fd(ssl_.get(), fd_) != 1) {
      const Status s = opensslError(StatusCode::Unavailable, "cannot set up TLS");
      close();
      return s;
    }
    // The collector's certificate must name the host we were told to reach.
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
    if (isIpLiteral(host_)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, host_.c_str(), host_.size());
      SSL_set_tlsext_host_name(ssl_.get(), host_.c_str());
    }
    if (SSL_connect(ssl_.get()) != 1) {
      const long verify = SSL_get_verify_result(ssl_.get());
      Status s =
          verify != X509_V_OK
              ? Status::unavailable(
                    "TLS handshake with " + peer() +
                    " failed: certificate not accepted: " + X509_verify_cert_error_string(verify))
              : opensslError(StatusCode::Unavailable, "TLS handshake with " + peer() + " failed");
      clearOpensslErrors();
      close();
      return s;
    }
    return Status::ok();
  }

  Status send(std::string_view bytes) override {
    if (ssl_ == nullptr) {
      return Status::unavailable("not connected");
    }
    while (!bytes.empty()) {
      const int chunk = static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20));
      const int n = SSL_write(ssl_.get(), bytes.data(), chunk);
      if (n <= 0) {
        const int saved_errno = errno;
        const int err = SSL_get_error(ssl_.get(), n);
        // SO_SNDTIMEO expiring shows as a retryable write (or as EAGAIN from the socket).
        const bool timed_out =
            err == SSL_ERROR_WANT_WRITE ||
            (err == SSL_ERROR_SYSCALL && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK));
        clearOpensslErrors();
        close();
        return timed_out ? Status::deadlineExceeded("write to " + peer() + " timed out")
                         : Status::unavailable("write to " + peer() + " failed");
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::ok();
  }

  bool healthy() override {
    if (ssl_ == nullptr) {
      return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) < 0) {
      return errno == EINTR;
    }
    if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) {
      return false;
    }
    if ((p.revents & POLLIN) == 0) {
      return true;
    }
    // Readable: TLS 1.3 session tickets, an alert, close_notify, EOF or a reset. Read without
    // blocking to tell them apart; a syslog collector sends no application data, so any is
    // discarded.
    const int flags = ::fcntl(fd_, F_GETFL);
    ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    bool alive = true;
    for (int reads = 0; reads < 64; ++reads) {  // a chatty peer cannot keep us here
      char buffer[4096];
      const int n = SSL_read(ssl_.get(), buffer, sizeof(buffer));
      if (n > 0) {
        continue;
      }
      const int err = SSL_get_error(ssl_.get(), n);
      alive = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
      break;
    }
    clearOpensslErrors();
    ::fcntl(fd_, F_SETFL, flags);
    return alive;
  }

  void close() override {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_.get());  // best effort close_notify (bounded by the send timeout)
      clearOpensslErrors();
      ssl_.reset();
    }
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  bool isConnected() const override { return ssl_ != nullptr; }
  std::string peer() const override { return host_ + ":" + std::to_string(port_); }

 private:
  Status openSocket() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(port_);
    const int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      return Status::unavailable("cannot resolve " + host_ + ": " + ::gai_strerror(rc));
    }
    std::string error = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) {
        error = std::strerror(errno);
        continue;
      }
      if (connectWithTimeout(fd, a->ai_addr, a->ai_addrlen, error)) {
        timeval tv{};
        tv.tv_sec = timeout_ms_ / 1000;
        tv.tv_usec = (timeout_ms_ % 1000) * 1000;
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        fd_ = fd;
        break;
      }
      ::close(fd);
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) {
      return Status::unavailable("cannot connect to " + peer() + ": " + error);
    }
    return Status::ok();
  }

  bool connectWithTimeout(int fd, const sockaddr* address, socklen_t length, std::string& error) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (::connect(fd, address, length) != 0) {
      if (errno != EINPROGRESS) {
        error = std::strerror(errno);
        return false;
      }
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, timeout_ms_);
      if (ready <= 0) {
        error = ready == 0 ? "timed out" : std::strerror(errno);
        return false;
      }
      int so_error = 0;
      socklen_t size = sizeof(so_error);
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &size);
      if (so_error != 0) {
        error = std::strerror(so_error);
        return false;
      }
    }
    ::fcntl(fd, F_SETFL, flags);
    return true;
  }

  const std::string host_;
  const int port_;
  const int timeout_ms_;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  int fd_ = -1;
};

Result<std::int64_t> parseCursor(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line;
  std::optional<std::int64_t> cursor;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    std::int64_t value = 0;
    const auto parsed = std::from_chars(line.data(), line.data() + line.size(), value);
    if (cursor || parsed.ec != std::errc() || parsed.ptr != line.data() + line.size() ||
        value < 0) {
      return Status::invalidArgument(std::string(kCursorWhat) + " " + path +
                                     " is malformed (expected one audit seq); remove it to "
                                     "resend the whole audit trail");
    }
    cursor = value;
  }
  return cursor.value_or(0);
}

}  // namespace

std::vector<std::string> atnaSettingsErrors(const AtnaSettings& s) {
  std::vector<std::string> errors;
  if (s.host.empty()) {
    errors.push_back("audit.atna.host is required when audit.atna is enabled");
  }
  if (s.port < 1 || s.port > 65535) {
    errors.push_back("audit.atna.port must be 1..65535");
  }
  if (s.certificate_file.empty() != s.private_key_file.empty()) {
    errors.push_back("audit.atna.certificate_file and audit.atna.private_key_file go together");
  }
  if (s.cursor_file.empty()) {
    errors.push_back("audit.atna.cursor_file is required");
  }
  if (const Status app = atna::checkHeaderField("audit.atna.app_name", s.app_name, 48);
      !app.isOk()) {
    errors.push_back(app.message());
  }
  if (!s.hostname.empty()) {
    if (const Status host = atna::checkHeaderField("audit.atna.hostname", s.hostname, 255);
        !host.isOk()) {
      errors.push_back(host.message());
    }
  }
  if (s.poll_interval_ms < 1 || s.reconnect_min_ms < 0 || s.io_timeout_ms < 1 || s.max_batch < 1) {
    errors.push_back("audit.atna: poll_interval_ms, io_timeout_ms and max_batch must be positive");
  }
  if (s.reconnect_max_ms < s.reconnect_min_ms) {
    errors.push_back("audit.atna.reconnect_max_ms must not be below reconnect_min_ms");
  }
  return errors;
}

Status checkAtnaSettings(const AtnaSettings& s) {
  const std::vector<std::string> errors = atnaSettingsErrors(s);
  return errors.empty() ? Status::ok() : Status::invalidArgument(errors.front());
}

Result<std::unique_ptr<AtnaTransport>> makeTlsSyslogTransport(const AtnaSettings& settings) {
  GW_RETURN_IF_ERROR(checkAtnaSettings(settings));
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return opensslError(StatusCode::Internal, "cannot create a TLS context");
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = settings.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                              : SSL_CTX_load_verify_locations(
                                                    ctx.get(), settings.ca_file.c_str(), nullptr);
  if (loaded != 1) {
    return opensslError(StatusCode::InvalidArgument,
                        "audit.atna.ca_file " + settings.ca_file + " cannot be loaded");
  }
  if (!settings.certificate_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), settings.certificate_file.c_str()) != 1) {
      return opensslError(
          StatusCode::InvalidArgument,
          "audit.atna.certificate_file " + settings.certificate_file + " cannot be loaded");
    }
    GW_ASSIGN_OR_RETURN(std::string pem,
                        readSecretFile(settings.private_key_file, "ATNA client private key",
                                       1 << 20, SymlinkPolicy::Follow));
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        bio == nullptr ? nullptr : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    OPENSSL_cleanse(pem.data(), pem.size());
    if (key == nullptr || SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return opensslError(StatusCode::InvalidArgument,
                          "audit.atna.private_key_file " + settings.private_key_file +
                              " cannot be loaded or does not match the certificate");
    }
  }
  return std::unique_ptr<AtnaTransport>(new TlsSyslogTransport(settings, std::move(ctx)));
}

Result<std::int64_t> AtnaSink::readCursor(const std::string& path) {
  Result<std::string> text = readSecretFile(path, kCursorWhat, 4096, SymlinkPolicy::Refuse);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::NotFound) {
      return std::int64_t{0};
    }
    return text.status();
  }
  return parseCursor(*text, path);
}

Result<std::unique_ptr<AtnaSink>> AtnaSink::create(AuditStorePtr store, AtnaSettings settings,
                                                   std::unique_ptr<AtnaTransport> transport) {
  GW_RETURN_IF_ERROR(checkAtnaSettings(settings));
  if (store == nullptr || transport == nullptr) {
    return Status::invalidArgument("ATNA sink needs a store and a transport");
  }
  GW_ASSIGN_OR_RETURN(std::int64_t cursor, readCursor(settings.cursor_file));
  if (cursor > 0) {
    // A cursor past the end of the store belongs to another database (or the table was cut):
    // starting over resends (at least once) rather than skipping the records this store has.
    GW_ASSIGN_OR_RETURN(const std::vector<AuditRecord> at_cursor, store->listAudit(cursor - 1, 1));
    if (at_cursor.empty()) {
      poco_error(logger(), "ATNA cursor file " + settings.cursor_file + " says audit seq " +
                               std::to_string(cursor) +
                               " was delivered, but the store has no record from there on; "
                               "sending its audit trail from the start");
      cursor = 0;
    }
  }
  atna::SyslogHeader header;
  header.hostname = settings.hostname.empty() ? localHostName() : settings.hostname;
  header.app_name = settings.app_name;
  header.procid = std::to_string(::getpid());
  return std::unique_ptr<AtnaSink>(new AtnaSink(std::move(store), std::move(settings),
                                                std::move(transport), std::move(header), cursor));
}

AtnaSink::AtnaSink(AuditStorePtr store, AtnaSettings settings,
                   std::unique_ptr<AtnaTransport> transport, atna::SyslogHeader header,
                   std::int64_t cursor)
    : store_(std::move(store)),
      settings_(std::move(settings)),
      transport_(std::move(transport)),
      header_(std::move(header)),
      persisted_(cursor) {
  stats_.cursor = cursor;
  stats_.sent_seq = cursor;
  stats_.latest_seq = cursor;
}

AtnaSink::~AtnaSink() {
  stop();
}

void AtnaSink::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) {
    return;
  }
  running_ = true;
  stopping_ = false;
  poco_information(logger(), "ATNA sink started: collector " + transport_->peer() +
                                 ", resuming after audit seq " + std::to_string(stats_.cursor));
  thread_ = std::thread([this] { run(); });
}

void AtnaSink::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) {
      return;
    }
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
  poco_information(logger(), "ATNA sink stopped: " + std::to_string(stats_.records_sent) +
                                 " records sent, cursor at audit seq " +
                                 std::to_string(stats_.cursor) + ", " +
                                 std::to_string(stats_.pending) + " pending");
}

void AtnaSink::run() {
  for (;;) {
    bool more = false;
    try {
      more = pumpOnce();
    } catch (const std::exception& e) {  // only a bug gets here; the thread must survive it
      poco_error(logger(), std::string("BUG: exception in the ATNA sink: ") + e.what());
    }
    std::unique_lock<std::mutex> lock(mu_);
    if (stopping_) {
      break;
    }
    if (more) {
      continue;
    }
    auto wait = std::chrono::milliseconds(settings_.poll_interval_ms);
    if (!stats_.connected) {
      const auto until_retry = std::chrono::duration_cast<std::chrono::milliseconds>(
          next_attempt_ - std::chrono::steady_clock::now());
      wait = std::max(std::chrono::milliseconds(1), std::min(wait, until_retry));
    }
    cv_.wait_for(lock, wait, [this] { return stopping_; });
    if (stopping_) {
      break;
    }
  }
  // What the live connection took is confirmed (if it is still healthy) before it is closed.
  if (transport_->isConnected()) {
    confirmOrRewind();
    transport_->close();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.connected = false;
}

bool AtnaSink::pumpOnce() {
  if (transport_->isConnected()) {
    confirmOrRewind();
  }
  if (!transport_->isConnected()) {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) {
      scanForPending();
      return false;
    }
    const Status connected = transport_->connect();
    if (!connected.isOk()) {
      backoff_ =
          backoff_.count() == 0
              ? std::chrono::milliseconds(settings_.reconnect_min_ms)
              : std::min(backoff_ * 2, std::chrono::milliseconds(settings_.reconnect_max_ms));
      next_attempt_ = now + backoff_;
      scanForPending();
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.connect_failures;
      const bool news = stats_.last_error != connected.message();
      stats_.last_error = connected.message();
      stats_.connected = false;
      const std::string line =
          "collector unreachable: " + connected.message() + "; " + std::to_string(stats_.pending) +
          " audit records pending, retry in " + std::to_string(backoff_.count()) + " ms";
      if (news) {
        poco_warning(logger(), line);
      } else {
        poco_debug(logger(), line);
      }
      return false;
    }
    backoff_ = std::chrono::milliseconds(0);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.connects;
    stats_.connected = true;
    stats_.last_error.clear();
    poco_information(logger(), "connected to collector " + transport_->peer() +
                                   ", sending after audit seq " + std::to_string(stats_.cursor));
  }

  std::int64_t after = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    after = stats_.sent_seq;
  }
  Result<std::vector<AuditRecord>> page =
      store_->listAudit(after, static_cast<std::size_t>(settings_.max_batch));
  if (!page.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.last_error = page.status().message();
    poco_warning(logger(), "cannot read audit records after seq " + std::to_string(after) + ": " +
                               page.status().toString());
    return false;
  }
  if (page->empty()) {
    scanForPending();
    return false;
  }
  frames_.clear();
  std::int64_t expected = after + 1;
  for (const AuditRecord& record : *page) {
    if (record.seq != expected) {
      // Sent anyway, in order: the gap is in the store (audit verify names it), not ours.
      poco_error(logger(), "audit seq " + std::to_string(expected) + ".." +
                               std::to_string(record.seq - 1) + " missing from the store");
    }
    expected = record.seq + 1;
    frames_ += atna::octetCountedFrame(atna::toSyslogMessage(
        record, header_, atna::toAuditMessageXml(record, settings_.audit_source_id)));
  }
  const Status sent = transport_->send(frames_);
  if (!sent.isOk()) {
    connectionLost(sent);
    return false;
  }
  const std::int64_t last = page->back().seq;
  std::uint64_t resent = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (const AuditRecord& record : *page) {
    if (record.seq <= max_sent_) {
      ++resent;
    }
  }
  max_sent_ = std::max(max_sent_, last);
  stats_.sent_seq = last;
  stats_.latest_seq = std::max(stats_.latest_seq, last);
  stats_.pending = stats_.latest_seq - stats_.cursor;
  stats_.records_sent += page->size();
  stats_.resends += resent;
  return page->size() == static_cast<std::size_t>(settings_.max_batch);
}

void AtnaSink::confirmOrRewind() {
  if (!transport_->healthy()) {
    connectionLost(
        Status::unavailable("collector " + transport_->peer() + " closed the connection"));
    return;
  }
  std::int64_t sent = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    sent = stats_.sent_seq;
    stats_.cursor = std::max(stats_.cursor, sent);
    stats_.pending = stats_.latest_seq - stats_.cursor;
  }
  if (sent > persisted_) {
    const Status written = persistCursor(sent);
    if (!written.isOk()) {
      // Delivery goes on; after a restart the records since the file's cursor are resent.
      poco_error(logger(), "cannot write the ATNA cursor: " + written.toString());
    }
  }
}

void AtnaSink::connectionLost(const Status& why) {
  transport_->close();
  next_attempt_ =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.reconnect_min_ms);
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.send_failures;
  stats_.connected = false;
  stats_.last_error = why.message();
  // Not confirmed: everything after the cursor goes again on the next connection.
  stats_.sent_seq = stats_.cursor;
  poco_warning(logger(), "lost the collector connection (" + why.message() +
                             "); will resend after audit seq " + std::to_string(stats_.cursor));
}

Status AtnaSink::persistCursor(std::int64_t seq) {
  const std::string content =
      "# ATNA sink cursor: seq of the last audit record delivered to the collector\n" +
      std::to_string(seq) + "\n";
  GW_RETURN_IF_ERROR(replaceSecretFile(settings_.cursor_file, content, kCursorWhat));
  persisted_ = seq;
  return Status::ok();
}

void AtnaSink::scanForPending() {
  std::int64_t from = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    from = stats_.latest_seq;
  }
  Result<std::vector<AuditRecord>> page = store_->listAudit(from, 4096);
  if (!page.ok() || page->empty()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.latest_seq = std::max(stats_.latest_seq, page->back().seq);
  stats_.pending = stats_.latest_seq - stats_.cursor;
}

AtnaSinkStats AtnaSink::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace gw
