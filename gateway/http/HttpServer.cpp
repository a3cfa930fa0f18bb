// SPDX-License-Identifier: Apache-2.0
#include "gateway/http/HttpServer.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <istream>
#include <mutex>

namespace gw::http {
namespace {

Poco::Logger& logger() {
  return Poco::Logger::get("gw.http");
}

constexpr const char* kCipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP:!kRSA";
constexpr unsigned char kSessionContext[] = "gw-http";
constexpr std::int64_t kMinRequestBytes = 1024;
constexpr std::int64_t kMaxRequestBytes = 256LL * 1024 * 1024;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string openSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += out.empty() ? "" : "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status fileError(const char* setting, const std::string& path, const std::string& what) {
  return Status::invalidArgument("tls." + std::string(setting) + " \"" + path + "\": " + what +
                                 ": " + openSslErrors());
}

int noPassphrase(char*, int, int, void*) {
  return 0;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

Status configureTls(SSL_CTX* ctx, const HttpTlsSettings& tls, int verify_mode) {
  ERR_clear_error();
  const int min_version = tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
    return Status::invalidArgument("tls.min_version: " + openSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1) {
    return fileError("certificate", tls.certificate, "cannot load a PEM certificate chain");
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(tls.private_key.c_str(), "r"));
  if (!bio) {
    return fileError("private_key", tls.private_key, "cannot open");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &noPassphrase, nullptr));
  if (!key) {
    return fileError("private_key", tls.private_key, "not an unencrypted PEM private key");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return fileError("private_key", tls.private_key, "does not match tls.certificate");
  }
  if (!tls.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
      return fileError("ca", tls.ca, "cannot load PEM CA certificates");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str());
    if (names == nullptr) {
      return fileError("ca", tls.ca, "cannot read CA names");
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  // OpenSSL's own chain verification; POCO's SSLManager handlers cannot relax it.
  SSL_CTX_set_verify(ctx, verify_mode, nullptr);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return Status::ok();
}

Result<Poco::Net::Context::Ptr> makeServerContext(const HttpTlsSettings& tls) {
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] { Poco::Net::initializeSSL(); });
  Poco::Net::Context::VerificationMode mode = Poco::Net::Context::VERIFY_NONE;
  if (tls.require_client_certificate) {
    mode = Poco::Net::Context::VERIFY_STRICT;
  } else if (!tls.ca.empty()) {
    mode = Poco::Net::Context::VERIFY_RELAXED;
  }
  Poco::Net::Context::Ptr context;
  try {
    Poco::Net::Context::Params params;
    params.verificationMode = mode;
    params.cipherList = kCipherList;
    params.dhUse2048Bits = true;
    context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                              Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
    context->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("cannot create the TLS context: " + e.displayText());
  }
  GW_RETURN_IF_ERROR(configureTls(context->sslContext(), tls, static_cast<int>(mode)));
  return context;
}

std::string nameText(const X509_NAME* name) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string commonName(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, value);
  if (size < 0) {
    return {};
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(size));
  OPENSSL_free(utf8);
  return out;
}

const SourcePosition& positionOf(const ConfigNode& object, std::string_view key) {
  const ConfigNode* member = object.find(key);
  return member != nullptr ? member->position() : object.position();
}

}  // namespace

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost") {
    return true;
  }
  Poco::Net::IPAddress address;
  if (!Poco::Net::IPAddress::tryParse(std::string(host), address)) {
    return false;
  }
  return address.isLoopback();
}

void readHttpServerSettings(ConfigReader& reader, const ConfigNode& /*object*/,
                            HttpServerSettings& s) {
  reader.readString("host", s.host);
  reader.readInt("port", s.port, 0, 65535);
  reader.readBool("allow_plain_http", s.allow_plain_http);
  reader.readInt("max_request_bytes", s.max_request_bytes, kMinRequestBytes, kMaxRequestBytes);
  reader.readInt("max_threads", s.max_threads, 1, 1024);
  reader.readInt("max_queued", s.max_queued, 1, 65536);
  reader.readInt("keep_alive_timeout_seconds", s.keep_alive_timeout_seconds, 1, 3600);
  reader.readInt("request_timeout_seconds", s.request_timeout_seconds, 1, 3600);
  const std::string where = reader.where().empty() ? "tls" : reader.where() + ".tls";
  const ConfigNode* tls_node = reader.object("tls");
  if (const ConfigNode* node = tls_node) {
    ConfigReader r(*node, reader.errors(), where);
    HttpTlsSettings& tls = s.tls;
    r.readBool("enabled", tls.enabled);
    r.readString("certificate", tls.certificate);
    r.readString("private_key", tls.private_key);
    r.readString("ca", tls.ca);
    r.readBool("require_client_certificate", tls.require_client_certificate);
    r.readEnum("min_version", tls.min_version, {"1.2", "1.3"});
    r.finish();
    if (tls.enabled && (tls.certificate.empty() || tls.private_key.empty())) {
      reader.errors().add(positionOf(*node, "enabled"),
                          "\"" + where + ".certificate\" and \"" + where +
                              ".private_key\" are required when TLS is enabled");
    }
    if (tls.require_client_certificate && tls.ca.empty()) {
      reader.errors().add(positionOf(*node, "require_client_certificate"),
                          "\"" + where + ".require_client_certificate\" needs \"" + where +
                              ".ca\" to verify client certificates");
    }
  }
}

std::string_view HttpRequest::header(std::string_view lower_case_name) const {
  const auto it = headers.find(std::string(lower_case_name));
  return it == headers.end() ? std::string_view() : std::string_view(it->second);
}

const std::string* HttpRequest::queryParam(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

std::string peerHost(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') {
    const std::size_t close = peer.find(']');
    return close == std::string::npos ? peer : peer.substr(1, close - 1);
  }
  const std::size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

HttpResponse plainText(int status, std::string_view reason) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::string(reason) + "\n";
  return response;
}

HttpResponse HttpHandler::reject(int status, std::string_view reason, const HttpRequest&) {
  return plainText(status, reason);
}

struct HttpServer::Impl {
  std::string name;
  HttpServerSettings settings;
  Poco::Net::Context::Ptr context;
  std::vector<std::pair<std::string, HttpHandler*>> mounts;  // longest prefix first
  std::unique_ptr<Poco::ThreadPool> pool;
  std::unique_ptr<Poco::Net::HTTPServer> server;
  std::string bound_address;
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> rejected{0};

  HttpHandler* route(const std::string& path) const {
    for (const auto& [prefix, handler] : mounts) {
      if (path.compare(0, prefix.size(), prefix) == 0 &&
          (path.size() == prefix.size() || path[prefix.size()] == '/' || prefix == "/")) {
        return handler;
      }
    }
    return nullptr;
  }
};

namespace {

void send(Poco::Net::HTTPServerResponse& out, const HttpResponse& response, bool close) {
  out.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(response.status));
  for (const auto& [name, value] : response.headers) {
    out.set(name, value);
  }
  if (!response.content_type.empty()) {
    out.setContentType(response.content_type);
  }
  if (close) {
    out.setKeepAlive(false);
  }
  out.setContentLength64(static_cast<Poco::Int64>(response.body.size()));
  out.sendBuffer(response.body.data(), response.body.size());
}

class RequestHandler final : public Poco::Net::HTTPRequestHandler {
 public:
  explicit RequestHandler(HttpServer::Impl& server) : server_(server) {}

  void handleRequest(Poco::Net::HTTPServerRequest& in,
                     Poco::Net::HTTPServerResponse& out) override {
    server_.requests.fetch_add(1);
    HttpRequest request;
    HttpHandler* handler = nullptr;
    try {
      request.method = in.getMethod();
      request.peer = in.clientAddress().toString();
      for (const auto& [name, value] : in) {
        request.headers[lower(name)] = value;
      }
      try {
        const Poco::URI uri(in.getURI());
        request.path = uri.getPath();
        for (auto& pair : uri.getQueryParameters()) {
          request.query.push_back(std::move(pair));
        }
      } catch (const Poco::Exception&) {
        server_.rejected.fetch_add(1);
        send(out, plainText(400, "malformed request URI"), true);
        return;
      }
      handler = server_.route(request.path);
      if (handler == nullptr) {
        server_.rejected.fetch_add(1);
        send(out, plainText(404, "no service at this path"), false);
        return;
      }
      readClientCertificate(in, request);
      const std::int64_t limit = server_.settings.max_request_bytes;
      const bool declared_too_large = in.hasContentLength() && in.getContentLength64() > limit;
      bool within_limit = false;
      if (!declared_too_large) {
        try {
          within_limit = readBody(in, request.body, limit);
        } catch (const Poco::TimeoutException&) {
          server_.rejected.fetch_add(1);
          request.body.clear();
          send(out, handler->reject(408, "the request body did not arrive in time", request), true);
          return;
        } catch (const Poco::Exception&) {
          // Broken chunked framing and the like: the client's fault, not ours.
          server_.rejected.fetch_add(1);
          request.body.clear();
          send(out, handler->reject(400, "malformed request body framing", request), true);
          return;
        }
      }
      if (within_limit && in.hasContentLength() &&
          static_cast<std::int64_t>(request.body.size()) != in.getContentLength64()) {
        // POCO ends a fixed-length body quietly when the peer closes early. (A chunked body cut
        // inside a chunk also ends quietly; FHIR JSON/XML is self-delimiting, so the parser
        // refuses such a body.)
        server_.rejected.fetch_add(1);
        request.body.clear();
        send(out,
             handler->reject(400, "the request body is shorter than its Content-Length", request),
             true);
        return;
      }
      if (declared_too_large || !within_limit) {
        server_.rejected.fetch_add(1);
        request.body.clear();
        // Read and drop what the client is still sending (up to a bound) so it gets to read the
        // 413 instead of a connection reset; then close.
        discard(in, kDiscardFactor * limit);
        send(out, handler->reject(413, tooLarge(limit), request), true);
        return;
      }
      send(out, handler->handle(request), false);
    } catch (const std::exception& e) {
      // Only a bug or a broken connection gets here: answer if the response is still open.
      poco_error(logger(), "[server=" + server_.name + "] exception while serving " +
                               request.method + " " + request.path + ": " + e.what());
      server_.rejected.fetch_add(1);
      if (!out.sent()) {
        try {
          HttpResponse response = handler != nullptr
                                      ? handler->reject(500, "internal error", request)
                                      : plainText(500, "internal error");
          request.body.clear();
          send(out, response, true);
        } catch (...) {
        }
      }
    } catch (...) {
      poco_error(logger(), "[server=" + server_.name + "] unknown exception while serving");
    }
  }

 private:
  static std::string tooLarge(std::int64_t limit) {
    return "request body is larger than the limit of " + std::to_string(limit) + " bytes";
  }

  static constexpr std::int64_t kDiscardFactor = 4;

  static void discard(Poco::Net::HTTPServerRequest& in, std::int64_t at_most) {
    try {
      std::istream& stream = in.stream();
      char buffer[65536];
      std::int64_t total = 0;
      while (stream && total < at_most) {
        stream.read(buffer, sizeof(buffer));
        const std::streamsize got = stream.gcount();
        if (got <= 0) {
          break;
        }
        total += got;
      }
    } catch (const Poco::Exception&) {
      // The connection is closed after the answer anyway.
    }
  }

  // Reads at most limit bytes; false when the body is longer.
  static bool readBody(Poco::Net::HTTPServerRequest& in, std::string& body, std::int64_t limit) {
    std::istream& stream = in.stream();
    if (in.hasContentLength()) {
      body.reserve(static_cast<std::size_t>(in.getContentLength64()));
    }
    char buffer[65536];
    while (stream) {
      stream.read(buffer, sizeof(buffer));
      const std::streamsize got = stream.gcount();
      if (got <= 0) {
        break;
      }
      if (static_cast<std::int64_t>(body.size()) + got > limit) {
        return false;
      }
      body.append(buffer, static_cast<std::size_t>(got));
    }
    return true;
  }

  void readClientCertificate(Poco::Net::HTTPServerRequest& in, HttpRequest& request) {
    if (!server_.context) {
      return;
    }
    request.secure = true;
    auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&in);
    if (impl == nullptr) {
      return;
    }
    Poco::Net::SecureStreamSocket socket(impl->socket());
    if (!socket.havePeerCertificate()) {
      return;
    }
    const Poco::Net::X509Certificate certificate = socket.peerCertificate();
    // The handshake only completes with a certificate that OpenSSL verified against `ca`
    // (VERIFY_RELAXED / VERIFY_STRICT), so a certificate here is a verified one.
    const X509_NAME* name = X509_get_subject_name(certificate.certificate());
    request.client_subject = nameText(name);
    request.client_common_name = commonName(name);
  }

  HttpServer::Impl& server_;
};

class HandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit HandlerFactory(HttpServer::Impl& server) : server_(server) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new RequestHandler(server_);
  }

 private:
  HttpServer::Impl& server_;
};

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

Result<std::unique_ptr<HttpServer>> HttpServer::create(std::string name,
                                                       HttpServerSettings settings) {
  auto impl = std::make_unique<Impl>();
  impl->name = std::move(name);
  impl->settings = std::move(settings);
  if (impl->settings.tls.enabled) {
    GW_ASSIGN_OR_RETURN(impl->context, makeServerContext(impl->settings.tls));
  } else if (!(impl->settings.allow_plain_http && isLoopbackHost(impl->settings.host))) {
    return Status::invalidArgument("server \"" + impl->name +
                                   "\": plain HTTP is only allowed on a loopback host with "
                                   "allow_plain_http");
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::mount(std::string prefix, HttpHandler& handler) {
  while (prefix.size() > 1 && prefix.back() == '/') {
    prefix.pop_back();
  }
  impl_->mounts.emplace_back(std::move(prefix), &handler);
  std::stable_sort(impl_->mounts.begin(), impl_->mounts.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Status HttpServer::start() {
  Impl& m = *impl_;
  const HttpServerSettings& s = m.settings;
  const std::string wanted = s.host + ":" + std::to_string(s.port);
  try {
    const Poco::Net::SocketAddress address(s.host, static_cast<Poco::UInt16>(s.port));
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    if (m.context) {
      socket = std::make_unique<Poco::Net::SecureServerSocket>(m.context);
    } else {
      socket = std::make_unique<Poco::Net::ServerSocket>();
    }
    socket->bind(address, /*reuseAddress=*/true, /*reusePort=*/false);
    socket->listen(128);
    m.bound_address = socket->address().toString();

    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(s.max_threads);
    params->setMaxQueued(s.max_queued);
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(s.keep_alive_timeout_seconds, 0));
    params->setTimeout(Poco::Timespan(s.request_timeout_seconds, 0));
    params->setServerName("gateway");
    m.pool = std::make_unique<Poco::ThreadPool>("http-" + m.name, 1, s.max_threads, 60);
    m.server =
        std::make_unique<Poco::Net::HTTPServer>(new HandlerFactory(m), *m.pool, *socket, params);
    m.server->start();
  } catch (const Poco::Exception& e) {
    m.server.reset();
    m.pool.reset();
    return Status::unavailable("server \"" + m.name + "\": cannot listen on " + wanted + ": " +
                               e.displayText());
  }
  poco_information(
      logger(),
      "[server=" + m.name + "] listening on " + m.bound_address + " (" +
          (m.context ? "TLS " + s.tls.min_version + "+" +
                           (s.tls.require_client_certificate ? ", client certificate required" : "")
                     : std::string("plain HTTP, loopback")) +
          ")");
  return Status::ok();
}

void HttpServer::stop() {
  Impl& m = *impl_;
  if (!m.server) {
    return;
  }
  try {
    m.server->stopAll(/*abortCurrent=*/false);  // in-flight requests finish and are answered
    Poco::Net::ServerSocket listening = m.server->socket();
    listening.close();
  } catch (const Poco::Exception& e) {
    poco_warning(logger(), "[server=" + m.name + "] while stopping: " + e.displayText());
  }
  m.pool->joinAll();
  m.server.reset();
  m.pool.reset();
  poco_information(logger(), "[server=" + m.name + "] stopped");
}

std::string HttpServer::boundAddress() const {
  return impl_->bound_address;
}

bool HttpServer::tls() const {
  return static_cast<bool>(impl_->context);
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats stats;
  stats.requests = impl_->requests.load();
  stats.rejected = impl_->rejected.load();
  return stats;
}

}  // namespace gw::http
