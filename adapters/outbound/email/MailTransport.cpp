// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/email/MailTransport.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureSMTPClientSession.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <filesystem>
#include <system_error>

#include "gateway/crypto/SecretFile.h"

namespace gw::email {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD; TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kCipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP:!kRSA";
constexpr std::size_t kMaxPasswordBytes = 4096;

bool isHexName(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// "250 2.0.0" from "250 2.0.0 Ok: queued as 12345": the code and the enhanced status code (RFC
// 3463) only, because the rest of a reply may quote the recipient's address.
std::string replySummary(int status, const std::string& response) {
  std::string out = std::to_string(status);
  const std::size_t space = response.find(' ');
  if (space != std::string::npos) {
    const std::size_t end = response.find_first_of(" \r\n", space + 1);
    const std::string word =
        response.substr(space + 1, end == std::string::npos ? std::string::npos : end - space - 1);
    const bool enhanced = word.size() >= 5 && word.size() <= 11 &&
                          std::isdigit(static_cast<unsigned char>(word[0])) && word[1] == '.' &&
                          std::all_of(word.begin(), word.end(), [](char c) {
                            return c == '.' || std::isdigit(static_cast<unsigned char>(c));
                          });
    if (enhanced) {
      out += " " + word;
    }
  }
  return out;
}

// Status of a negative reply in a mail transaction: 4xx is transient, 5xx permanent; no reply
// at all (POCO reads status 0 at end of stream) is a lost connection.
Status replyError(std::string_view step, int status, const std::string& response) {
  if (status < 400 || status >= 600) {  // 0: the connection closed before a reply
    return Status::unavailable("SMTP connection closed or unreadable reply after " +
                               std::string(step));
  }
  const std::string text =
      "SMTP server refused " + std::string(step) + " (" + replySummary(status, response) + ")";
  if (status >= 400 && status < 500) {
    return Status::unavailable(text);
  }
  return Status::invalidArgument(text);
}

// Whether an EHLO answer lists `keyword` (e.g. "STARTTLS", "PIPELINING") as an extension: the
// first word of one of its lines after the code ("250-PIPELINING", "250 STARTTLS").
bool offersExtension(const std::string& ehlo_response, std::string_view keyword) {
  std::size_t start = 0;
  while (start < ehlo_response.size()) {
    std::size_t end = ehlo_response.find('\n', start);
    if (end == std::string::npos) {
      end = ehlo_response.size();
    }
    std::string line = ehlo_response.substr(start, end - start);
    if (line.size() > 4 && std::isdigit(static_cast<unsigned char>(line[0]))) {
      line = line.substr(4);  // "250-" or "250 "
    }
    std::string word = line.substr(0, line.find_first_of(" \r"));
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (word == keyword) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// RFC 5321 section 4.5.2: a line starting with "." gets one more; the data ends in CRLF.CRLF.
std::string dotStuffed(const std::string& data) {
  std::string out;
  out.reserve(data.size() + 64);
  bool line_start = true;
  for (const char c : data) {
    if (line_start && c == '.') {
      out += '.';
    }
    out += c;
    line_start = c == '\n';
  }
  if (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0) {
    out += "\r\n";
  }
  out += ".\r\n";
  return out;
}

Poco::Timespan timeoutFor(int timeout_ms, Deadline deadline) {
  const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(
      deadline - std::chrono::steady_clock::now());
  const std::int64_t limit = static_cast<std::int64_t>(timeout_ms) * 1000;
  return Poco::Timespan(
      std::max<std::int64_t>(1000, std::min<std::int64_t>(limit, remaining.count())));
}

}  // namespace

// One SMTP connection. POCO's SecureSMTPClientSession gives the dialog; STARTTLS is done here so
// the TLS socket gets the peer name (SNI) and the handshake completes, with OpenSSL verifying the
// chain and the host name, before the session is used for anything else.
class SmtpSession final : public Poco::Net::SecureSMTPClientSession {
 public:
  SmtpSession(const Poco::Net::StreamSocket& socket, std::string host)
      : Poco::Net::SecureSMTPClientSession(socket), host_(std::move(host)) {}

  Status start(Poco::Net::Context::Ptr context, const SmtpSettings& settings,
               const std::string& password) {
    std::string response;
    try {
      open();
      int status = sendCommand("EHLO", settings.helo_name, response);
      if (!isPositiveCompletion(status) || !offersExtension(response, "STARTTLS")) {
        return Status::failedPrecondition("the SMTP server does not offer STARTTLS");
      }
      status = sendCommand("STARTTLS", response);
      if (!isPositiveCompletion(status)) {
        return Status::failedPrecondition("the SMTP server refused STARTTLS (" +
                                          replySummary(status, response) + ")");
      }
    } catch (const Poco::TimeoutException&) {
      return Status::deadlineExceeded("SMTP server did not answer in time");
    } catch (const Poco::Exception& e) {
      return Status::unavailable("SMTP greeting failed: " + e.displayText());
    }
    try {
      Poco::Net::SecureStreamSocket secure =
          Poco::Net::SecureStreamSocket::attach(socket(), host_, context);
      secure.completeHandshake();
      socket() = secure;
    } catch (const Poco::TimeoutException&) {
      return Status::failedPrecondition("TLS handshake with the SMTP server timed out");
    } catch (const Poco::Exception& e) {
      ERR_clear_error();
      return Status::failedPrecondition("TLS with the SMTP server not verified: " +
                                        e.displayText());
    }
    try {
      // RFC 3207 section 4.2: forget what was said before TLS and ask again.
      const int status = sendCommand("EHLO", settings.helo_name, response);
      if (!isPositiveCompletion(status)) {
        return Status::unavailable("SMTP server refused EHLO after STARTTLS (" +
                                   replySummary(status, response) + ")");
      }
      pipelining_ = offersExtension(response, "PIPELINING");
      if (!settings.username.empty()) {
        const LoginMethod method = settings.auth_method == "login" ? AUTH_LOGIN : AUTH_PLAIN;
        try {
          login(settings.helo_name, method, settings.username, password);
        } catch (const Poco::Net::SMTPException& e) {
          return Status::permissionDenied("SMTP authentication failed: " + e.displayText());
        }
      }
    } catch (const Poco::TimeoutException&) {
      return Status::deadlineExceeded("SMTP server did not answer in time");
    } catch (const Poco::Exception& e) {
      return Status::unavailable("SMTP session failed: " + e.displayText());
    }
    return Status::ok();
  }

  // Checks that a pooled connection still works and clears any transaction state.
  bool reset() {
    try {
      std::string response;
      return isPositiveCompletion(sendCommand("RSET", response));
    } catch (const Poco::Exception&) {
      broken_ = true;
      return false;
    }
  }

  Result<std::string> transaction(const OutgoingMail& mail) {
    stale_ = false;
    try {
      std::string response;
      if (pipelining_) {
        GW_RETURN_IF_ERROR(pipelinedEnvelope(mail));
      } else {
        int status = 0;
        try {
          status = sendCommand("MAIL FROM:<" + mail.from + ">", response);
        } catch (const Poco::Exception&) {
          status = 0;
        }
        if (status == 0) {
          // The server closed the connection while it was idle; nothing of this message left.
          stale_ = true;
          broken_ = true;
          return Status::unavailable("SMTP connection closed before MAIL FROM");
        }
        if (!isPositiveCompletion(status)) {
          return abandon(status, replyError("the sender", status, response));
        }
        status = sendCommand("RCPT TO:<" + mail.to + ">", response);
        if (!isPositiveCompletion(status)) {
          return abandon(status, replyError("the recipient", status, response));
        }
        status = sendCommand("DATA", response);
        if (!isPositiveIntermediate(status)) {
          return abandon(status, replyError("DATA", status, response));
        }
      }
      if (!sendAll(dotStuffed(mail.data))) {
        return Status::unavailable("SMTP connection closed while sending the message");
      }
      const int status = socket().receiveStatusMessage(response);
      if (!isPositiveCompletion(status)) {
        // 421 and friends close the connection; only a clean refusal keeps it for reuse.
        broken_ = broken_ || status < 200 || status == 421;
        return replyError("the message", status, response);
      }
      return replySummary(status, response);
    } catch (const Poco::TimeoutException&) {
      broken_ = true;
      return Status::deadlineExceeded("SMTP server did not answer in time");
    } catch (const Poco::Exception& e) {
      broken_ = true;
      return Status::unavailable("SMTP connection failed: " + e.displayText());
    }
  }

  void quit() {
    try {
      close();
    } catch (const Poco::Exception&) {  // the server went away first: nothing to clean up
    }
  }

  void setTimeouts(Poco::Timespan timeout) {
    try {
      setTimeout(timeout);
    } catch (const Poco::Exception&) {
      broken_ = true;
    }
  }

  bool broken() const { return broken_; }
  // The last transaction found the connection closed before its first command was answered.
  bool stale() const { return stale_; }

 private:
  bool sendAll(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const int n = socket().sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) {
        broken_ = true;
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // RFC 2920: MAIL, RCPT and DATA in one write, then their three replies in order. Returns OK
  // when DATA was answered 354 (the message text may follow).
  Status pipelinedEnvelope(const OutgoingMail& mail) {
    const std::string commands =
        "MAIL FROM:<" + mail.from + ">\r\nRCPT TO:<" + mail.to + ">\r\nDATA\r\n";
    std::string mail_reply;
    std::string rcpt_reply;
    std::string data_reply;
    int mail_status = 0;
    try {
      if (sendAll(commands)) {
        mail_status = socket().receiveStatusMessage(mail_reply);
      }
    } catch (const Poco::Exception&) {
      mail_status = 0;
    }
    if (mail_status == 0) {
      // Closed while idle: the server read nothing it could act on (no reply to MAIL FROM).
      stale_ = true;
      broken_ = true;
      return Status::unavailable("SMTP connection closed before MAIL FROM");
    }
    const int rcpt_status = socket().receiveStatusMessage(rcpt_reply);
    const int data_status = socket().receiveStatusMessage(data_reply);
    if (isPositiveCompletion(mail_status) && isPositiveCompletion(rcpt_status) &&
        isPositiveIntermediate(data_status)) {
      return Status::ok();
    }
    if (isPositiveIntermediate(data_status)) {
      // DATA was accepted although MAIL or RCPT was not: end the empty message at once.
      sendAll(".\r\n");
      std::string ignored;
      socket().receiveStatusMessage(ignored);
    }
    if (!isPositiveCompletion(mail_status)) {
      return abandon(mail_status, replyError("the sender", mail_status, mail_reply));
    }
    if (!isPositiveCompletion(rcpt_status)) {
      return abandon(rcpt_status, replyError("the recipient", rcpt_status, rcpt_reply));
    }
    return abandon(data_status, replyError("DATA", data_status, data_reply));
  }

  // After a refused step: a session that got a real reply is reset and stays usable; one whose
  // connection closed is dropped.
  Status abandon(int reply, Status status) {
    if (reply < 200 || !reset()) {
      broken_ = true;
    }
    return status;
  }

  std::string host_;
  bool broken_ = false;
  bool stale_ = false;
  bool pipelining_ = false;  // the server offered PIPELINING after STARTTLS
};

// ---------------------------------------------------------------------------------------------
// PickupTransport

Result<std::unique_ptr<PickupTransport>> PickupTransport::create(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return Status::invalidArgument("pickup.directory \"" + directory +
                                   "\" cannot be created: " + ec.message());
  }
  if (!std::filesystem::is_directory(directory, ec)) {
    return Status::invalidArgument("pickup.directory \"" + directory + "\" is not a directory");
  }
  std::filesystem::permissions(directory, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  return std::unique_ptr<PickupTransport>(new PickupTransport(directory));
}

Result<std::string> PickupTransport::send(const OutgoingMail& mail, Deadline /*deadline*/) {
  if (!isHexName(mail.key)) {
    return Status::internal("pickup file name is not a hex digest");
  }
  static std::atomic<std::uint64_t> counter{0};
  const std::string name = mail.key + ".eml";
  const std::filesystem::path final_path = std::filesystem::path(directory_) / name;
  const std::filesystem::path temp_path =
      std::filesystem::path(directory_) /
      ("." + mail.key + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(++counter));
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return secretFileError(temp_path.string(), errno, "create", "pickup file");
  }
  FileDescriptor file(fd);
  const Status written = writeSyncAndClose(file, mail.data, temp_path.string(), "pickup file");
  if (!written.isOk()) {
    ::unlink(temp_path.c_str());
    return written;
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path.c_str());
    return secretFileError(final_path.string(), err, "rename to", "pickup file");
  }
  const int dir_fd = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    FileDescriptor dir(dir_fd);
    if (::fsync(dir_fd) != 0) {
      return secretFileError(directory_, errno, "sync", "pickup directory");
    }
  }
  return name;
}

// ---------------------------------------------------------------------------------------------
// SmtpTransport

struct SmtpTransport::Tls {
  Poco::Net::Context::Ptr context;
};

SmtpTransport::SmtpTransport(SmtpSettings settings, std::unique_ptr<Tls> tls, std::string password)
    : settings_(std::move(settings)), tls_(std::move(tls)), password_(std::move(password)) {}

SmtpTransport::~SmtpTransport() {
  std::vector<std::unique_ptr<SmtpSession>> idle;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle.swap(idle_);
  }
  for (auto& session : idle) {
    session->quit();
  }
  std::fill(password_.begin(), password_.end(), '\0');
}

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::create(const SmtpSettings& settings) {
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] {
    Poco::Net::initializeSSL();
    // A peer closing first must cost one failed write (EPIPE), not the process (as the MLLP
    // adapter does).
    std::signal(SIGPIPE, SIG_IGN);
  });
  if (settings.host.empty()) {
    return Status::invalidArgument("smtp.host is required");
  }
  auto tls = std::make_unique<Tls>();
  try {
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    params.caLocation = settings.ca;
    params.loadDefaultCAs = settings.ca.empty();
    params.cipherList = kCipherList;
    tls->context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    tls->context->requireMinimumProtocol(settings.min_tls_version == "1.3"
                                             ? Poco::Net::Context::PROTO_TLSV1_3
                                             : Poco::Net::Context::PROTO_TLSV1_2);
    // OpenSSL checks chain and name itself (below); POCO's extended check is not needed.
    tls->context->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("smtp: cannot create the TLS context (smtp.ca \"" + settings.ca +
                                   "\"): " + e.displayText());
  }
  SSL_CTX* ssl_context = tls->context->sslContext();
  // Replace POCO's verify callback (which defers to SSLManager handlers) by OpenSSL's own, and
  // make OpenSSL check the server's name during the handshake: an IP literal against the
  // certificate's IP SANs, a host name against its DNS names (as mllp-send does).
  SSL_CTX_set_verify(ssl_context, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ssl_context);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (X509_VERIFY_PARAM_set1_ip_asc(param, settings.host.c_str()) != 1) {
    ERR_clear_error();
    if (X509_VERIFY_PARAM_set1_host(param, settings.host.c_str(), settings.host.size()) != 1) {
      ERR_clear_error();
      return Status::invalidArgument("smtp.host \"" + settings.host +
                                     "\" cannot be used to verify a certificate");
    }
  }
  std::string password;
  if (!settings.username.empty()) {
    GW_ASSIGN_OR_RETURN(password, readSecretFile(settings.password_file, "SMTP password file",
                                                 kMaxPasswordBytes, SymlinkPolicy::Follow));
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
  }
  return std::unique_ptr<SmtpTransport>(
      new SmtpTransport(settings, std::move(tls), std::move(password)));
}

Result<std::unique_ptr<SmtpSession>> SmtpTransport::connect(Deadline deadline) {
  const Poco::Timespan timeout = timeoutFor(settings_.timeout_ms, deadline);
  std::unique_ptr<SmtpSession> session;
  try {
    Poco::Net::StreamSocket socket;
    socket.connect(
        Poco::Net::SocketAddress(settings_.host, static_cast<Poco::UInt16>(settings_.port)),
        timeout);
    socket.setNoDelay(true);
    session = std::make_unique<SmtpSession>(socket, settings_.host);
    session->setTimeouts(timeout);
  } catch (const Poco::TimeoutException&) {
    return Status::deadlineExceeded("cannot connect to the SMTP server in time");
  } catch (const Poco::Exception& e) {
    return Status::unavailable("cannot connect to the SMTP server " + settings_.host + ":" +
                               std::to_string(settings_.port) + ": " + e.displayText());
  }
  ++connections_opened_;
  const Status started = session->start(tls_->context, settings_, password_);
  if (!started.isOk()) {
    return started;
  }
  return session;
}

std::unique_ptr<SmtpSession> SmtpTransport::takeIdle() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.empty()) {
    return nullptr;
  }
  std::unique_ptr<SmtpSession> session = std::move(idle_.back());
  idle_.pop_back();
  return session;
}

void SmtpTransport::giveBack(std::unique_ptr<SmtpSession> session) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < static_cast<std::size_t>(settings_.pool_size)) {
      idle_.push_back(std::move(session));
      return;
    }
  }
  session->quit();
}

Result<std::string> SmtpTransport::send(const OutgoingMail& mail, Deadline deadline) {
  if (std::chrono::steady_clock::now() >= deadline) {
    return Status::deadlineExceeded("deadline passed before the message was sent");
  }
  // A pooled connection goes straight to MAIL FROM (no RSET round trip: the previous transaction
  // ended cleanly). If the server closed it meanwhile, that shows before any byte of this
  // message was sent, and the message goes once more on a fresh connection.
  std::unique_ptr<SmtpSession> session = takeIdle();
  const bool reused = session != nullptr;
  if (reused) {
    session->setTimeouts(timeoutFor(settings_.timeout_ms, deadline));
  } else {
    GW_ASSIGN_OR_RETURN(session, connect(deadline));
  }
  Result<std::string> result = session->transaction(mail);
  if (reused && session->stale()) {
    GW_ASSIGN_OR_RETURN(session, connect(deadline));
    result = session->transaction(mail);
  }
  if (!session->broken()) {
    giveBack(std::move(session));
  }
  return result;
}

Result<std::shared_ptr<MailTransport>> makeMailTransport(const EmailSettings& settings) {
  if (settings.transport == "smtp") {
    GW_ASSIGN_OR_RETURN(std::unique_ptr<SmtpTransport> smtp, SmtpTransport::create(settings.smtp));
    return std::shared_ptr<MailTransport>(std::move(smtp));
  }
  if (settings.transport == "pickup") {
    GW_ASSIGN_OR_RETURN(std::unique_ptr<PickupTransport> pickup,
                        PickupTransport::create(settings.pickup_directory));
    return std::shared_ptr<MailTransport>(std::move(pickup));
  }
  return Status::invalidArgument("outbound.email.transport \"" + settings.transport +
                                 "\" is not \"pickup\" or \"smtp\"");
}

}  // namespace gw::email
