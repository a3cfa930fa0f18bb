// SPDX-License-Identifier: Apache-2.0
#include "bench/support/SmtpSink.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <utility>

namespace gw::bench {
namespace {

// A line longer than this (commands; RFC 5321 allows 512 octets, text lines 1000) closes the
// connection: a sink that buffered without limit could be made to eat the benchmark's memory.
constexpr std::size_t kMaxLine = 64 * 1024;

std::string upper(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

// "FROM:<a@b>" / "TO: <a@b> SIZE=1" after the verb: the path between the angle brackets.
bool parsePath(const std::string& argument, const std::string& keyword, std::string& path) {
  if (upper(argument.substr(0, keyword.size())) != keyword) {
    return false;
  }
  std::size_t open = keyword.size();
  while (open < argument.size() && argument[open] == ' ') {
    ++open;
  }
  if (open >= argument.size() || argument[open] != '<') {
    return false;
  }
  const std::size_t close = argument.find('>', open);
  if (close == std::string::npos) {
    return false;
  }
  path = argument.substr(open + 1, close - open - 1);
  return true;
}

}  // namespace

struct SmtpSink::Tls {
  SSL_CTX* context = nullptr;
  ~Tls() { SSL_CTX_free(context); }
};

// One connection: reads CRLF lines from the socket or, after STARTTLS, from the TLS session;
// collects replies until flush().
struct SmtpSink::Session {
  int fd = -1;
  SSL* ssl = nullptr;
  std::string in;
  std::string out;

  ~Session() {
    if (ssl != nullptr) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  // False when the peer closed, the connection failed or a line passed kMaxLine.
  bool readLine(std::string& line) {
    for (;;) {
      const std::size_t end = in.find("\r\n");
      if (end != std::string::npos) {
        line.assign(in, 0, end);
        in.erase(0, end + 2);
        return true;
      }
      if (in.size() > kMaxLine) {
        return false;
      }
      // RFC 2920 section 3.2: the replies to a group go out once no complete command is left.
      if (!flush()) {
        return false;
      }
      char chunk[16384];
      const int n = ssl != nullptr ? SSL_read(ssl, chunk, sizeof(chunk))
                                   : static_cast<int>(::recv(fd, chunk, sizeof(chunk), 0));
      if (n <= 0) {
        return false;
      }
      in.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void reply(const std::string& text) { out += text + "\r\n"; }

  bool flush() {
    std::size_t done = 0;
    while (done < out.size()) {
      const int n =
          ssl != nullptr
              ? SSL_write(ssl, out.data() + done, static_cast<int>(out.size() - done))
              : static_cast<int>(::send(fd, out.data() + done, out.size() - done, MSG_NOSIGNAL));
      if (n <= 0) {
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    out.clear();
    return true;
  }
};

Result<std::unique_ptr<SmtpSink>> SmtpSink::start(SmtpSinkSettings settings) {
  auto tls = std::make_unique<Tls>();
  if (!settings.certificate.empty() || !settings.private_key.empty()) {
    tls->context = SSL_CTX_new(TLS_server_method());
    if (tls->context == nullptr) {
      return Status::internal("sink: SSL_CTX_new failed");
    }
    SSL_CTX_set_min_proto_version(tls->context, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(tls->context, settings.certificate.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(tls->context, settings.private_key.c_str(), SSL_FILETYPE_PEM) !=
            1 ||
        SSL_CTX_check_private_key(tls->context) != 1) {
      ERR_clear_error();
      return Status::invalidArgument("sink: cannot use the certificate " + settings.certificate +
                                     " with the key " + settings.private_key);
    }
  } else if (settings.require_tls) {
    return Status::invalidArgument("sink: require_tls needs a certificate and a key");
  }
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 128) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (listener >= 0) {
      ::close(listener);
    }
    return Status::unavailable("sink: cannot listen on 127.0.0.1");
  }
  std::unique_ptr<SmtpSink> sink(
      new SmtpSink(std::move(settings), std::move(tls), listener, ntohs(address.sin_port)));
  sink->acceptor_ = std::thread([s = sink.get()] { s->acceptLoop(); });
  return sink;
}

SmtpSink::SmtpSink(SmtpSinkSettings settings, std::unique_ptr<Tls> tls, int listener, int port)
    : settings_(std::move(settings)), tls_(std::move(tls)), listener_(listener), port_(port) {}

SmtpSink::~SmtpSink() {
  stop();
}

void SmtpSink::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    for (const int fd : open_fds_) {
      ::shutdown(fd, SHUT_RDWR);  // wakes the connection's read
    }
    threads.swap(threads_);
  }
  if (acceptor_.joinable()) {
    acceptor_.join();
  }
  for (std::thread& t : threads) {
    t.join();
  }
  // Threads started between the swap and the acceptor's end.
  std::lock_guard<std::mutex> lock(mu_);
  for (std::thread& t : threads_) {
    t.join();
  }
  threads_.clear();
  ::close(listener_);
}

std::vector<SinkMessage> SmtpSink::messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_;
}

void SmtpSink::acceptLoop() {
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) {
        continue;
      }
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++connections_;
    open_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void SmtpSink::accepted(SinkMessage message) {
  message.received_at = std::chrono::steady_clock::now();
  if (settings_.on_message) {
    settings_.on_message(message);
  }
  ++count_;
  if (settings_.keep_messages) {
    std::lock_guard<std::mutex> lock(mu_);
    kept_.push_back(std::move(message));
  }
}

void SmtpSink::serve(int fd) {
  {
    Session s;
    s.fd = fd;
    bool greeted = false;
    bool in_mail = false;
    SinkMessage message;
    const auto resetTransaction = [&] {
      in_mail = false;
      message = SinkMessage();
    };
    s.reply("220 sink.invalid ESMTP");
    std::string line;
    while (s.readLine(line)) {
      const std::size_t space = line.find(' ');
      const std::string verb = upper(line.substr(0, space));
      const std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
      if (verb == "EHLO" || verb == "HELO") {
        resetTransaction();
        greeted = true;
        if (verb == "HELO") {
          s.reply("250 sink.invalid");
        } else if (tls_->context != nullptr && s.ssl == nullptr) {
          s.reply("250-sink.invalid\r\n250-STARTTLS\r\n250-PIPELINING\r\n250 8BITMIME");
        } else {
          s.reply("250-sink.invalid\r\n250-PIPELINING\r\n250 8BITMIME");
        }
      } else if (verb == "STARTTLS") {
        if (tls_->context == nullptr) {
          s.reply("502 5.5.1 STARTTLS not offered");
        } else if (s.ssl != nullptr) {
          s.reply("503 5.5.1 TLS already active");
        } else {
          s.reply("220 2.0.0 ready to start TLS");
          if (!s.flush()) {
            break;
          }
          // RFC 3207 section 4.2: nothing sent in clear before the handshake counts.
          s.in.clear();
          s.ssl = SSL_new(tls_->context);
          SSL_set_fd(s.ssl, fd);
          if (SSL_accept(s.ssl) != 1) {
            ERR_clear_error();
            break;
          }
          greeted = false;
          resetTransaction();
        }
      } else if (verb == "MAIL") {
        std::string path;
        if (settings_.require_tls && s.ssl == nullptr) {
          s.reply("530 5.7.0 Must issue a STARTTLS command first");
        } else if (!greeted) {
          s.reply("503 5.5.1 EHLO first");
        } else if (in_mail) {
          s.reply("503 5.5.1 nested MAIL command");
        } else if (!parsePath(argument, "FROM:", path)) {
          s.reply("501 5.5.4 syntax: MAIL FROM:<address>");
        } else {
          in_mail = true;
          message.from = path;
          s.reply("250 2.1.0 ok");
        }
      } else if (verb == "RCPT") {
        std::string path;
        if (!in_mail) {
          s.reply("503 5.5.1 need MAIL first");
        } else if (!parsePath(argument, "TO:", path) || path.empty()) {
          s.reply("501 5.5.4 syntax: RCPT TO:<address>");
        } else {
          message.recipients.push_back(path);
          s.reply("250 2.1.5 ok");
        }
      } else if (verb == "DATA") {
        if (!in_mail || message.recipients.empty()) {
          s.reply("503 5.5.1 need RCPT first");
          continue;
        }
        s.reply("354 end data with <CR><LF>.<CR><LF>");
        bool ended = false;
        while (s.readLine(line)) {
          if (line == ".") {
            ended = true;
            break;
          }
          // RFC 5321 section 4.5.2: a leading dot was doubled by the sender.
          if (!line.empty() && line[0] == '.') {
            message.data.append(line, 1, std::string::npos);
          } else {
            message.data += line;
          }
          message.data += "\r\n";
        }
        if (!ended) {
          break;
        }
        const std::uint64_t number = count_.load() + 1;
        accepted(std::move(message));
        resetTransaction();
        s.reply("250 2.0.0 ok: queued as " + std::to_string(number));
      } else if (verb == "RSET") {
        resetTransaction();
        s.reply("250 2.0.0 ok");
      } else if (verb == "NOOP") {
        s.reply("250 2.0.0 ok");
      } else if (verb == "QUIT") {
        s.reply("221 2.0.0 bye");
        s.flush();
        break;
      } else {
        s.reply("500 5.5.2 command not recognized");
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  ::close(fd);
}

Result<TestPki> makeTestPki(const std::string& directory) {
  const auto run = [](const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  };
  const std::string d = directory;
  {
    std::ofstream ext(d + "/server.ext");
    ext << "subjectAltName=IP:127.0.0.1\n";
    if (!ext) {
      return Status::internal("cannot write " + d + "/server.ext");
    }
  }
  if (!run("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + d + "/ca.key -out " + d +
           "/ca.pem -days 2 -subj /CN=bench-ca -addext basicConstraints=critical,CA:TRUE -addext "
           "keyUsage=critical,keyCertSign,cRLSign")) {
    return Status::internal("openssl could not make the test CA in " + d);
  }
  if (!run("openssl req -newkey rsa:2048 -nodes -keyout " + d + "/server.key -out " + d +
           "/server.csr -subj /CN=sink") ||
      !run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
           "/ca.key -set_serial 2 -days 2 -extfile " + d + "/server.ext -out " + d +
           "/server.pem")) {
    return Status::internal("openssl could not make the server certificate in " + d);
  }
  namespace fs = std::filesystem;
  for (const char* key : {"/ca.key", "/server.key"}) {
    std::error_code ec;
    fs::permissions(d + key, fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::replace, ec);
  }
  return TestPki{d + "/ca.pem", d + "/server.pem", d + "/server.key"};
}

}  // namespace gw::bench
