// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/api/ConfigNode.h"
#include "gateway/api/Result.h"

namespace gw::http {

// TLS of an HTTP server (config object "tls").
struct HttpTlsSettings {
  // Serve HTTPS. Without it the server only starts on a loopback address and only when
  // allow_plain_http is set.
  bool enabled = false;
  // PEM server certificate chain and unencrypted private key. Required when enabled.
  std::string certificate;
  std::string private_key;
  // PEM CA bundle that client certificates must chain to. Required for mutual TLS.
  std::string ca;
  // Mutual TLS: the handshake fails without a client certificate signed by `ca`.
  bool require_client_certificate = false;
  // Lowest protocol version: "1.2" or "1.3".
  std::string min_version = "1.2";
};

// One HTTP(S) server: where it listens and the limits it applies before any handler runs.
struct HttpServerSettings {
  // Address to bind (IP or host name).
  std::string host = "127.0.0.1";
  // TCP port; 0 binds any free port (read it back with boundAddress()).
  int port = 8443;
  // Plain HTTP is allowed only with this set AND a loopback host (for a local demo or a TLS
  // proxy on the same machine); start() refuses anything else without TLS.
  bool allow_plain_http = false;
  // Largest request body in bytes; a larger one is answered 413 by the mounted handler's
  // reject() without reading it (Content-Length) or as soon as it passes the limit (chunked).
  std::int64_t max_request_bytes = 10 * 1024 * 1024;
  // Requests served at once (worker threads); connections beyond max_queued are closed.
  int max_threads = 16;
  int max_queued = 64;
  // Seconds an idle keep-alive connection is kept open; also bounds how long stop() waits for it.
  int keep_alive_timeout_seconds = 5;
  // Seconds a started request (headers or body) may take to arrive.
  int request_timeout_seconds = 30;
  HttpTlsSettings tls;
};

// Reads the keys of an HTTP server object (host, port, allow_plain_http, max_request_bytes,
// max_threads, max_queued, keep_alive_timeout_seconds, request_timeout_seconds, tls{...}).
// Does not call reader.finish(): the caller reads its own keys from the same object first.
// Cross-field errors (TLS without certificate, mutual TLS without ca) are added to
// reader.errors(). Whether plain HTTP is allowed is checked by the caller (plainHttpAllowed())
// when the server is enabled, and again by HttpServer::create().
// `node` is the object `reader` reads (for positions of cross-field errors).
void readHttpServerSettings(ConfigReader& reader, const ConfigNode& node,
                            HttpServerSettings& settings);

// Header names are compared case-insensitively (stored lower-case).
struct HttpRequest {
  std::string method;                                      // "GET", "POST", ...
  std::string path;                                        // percent-decoded, no query
  std::vector<std::pair<std::string, std::string>> query;  // decoded name/value pairs
  std::map<std::string, std::string> headers;              // lower-case name -> value
  std::string body;
  std::string peer;     // "ip:port"
  bool secure = false;  // came over TLS
  // Verified client certificate (mutual TLS): RFC 2253 subject and common name; empty if none.
  std::string client_subject;
  std::string client_common_name;

  // The header's value or "".
  std::string_view header(std::string_view lower_case_name) const;
  // The first query parameter with that name, or nullptr.
  const std::string* queryParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;                                  // empty: no body type
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, ...)
  std::string body;
};

// A text/plain response with `reason` and a newline as its body.
HttpResponse plainText(int status, std::string_view reason);

// Serves requests under a mounted path prefix. Called concurrently from the server's worker
// threads. Must not throw (the server still catches and answers 500 through reject()).
class HttpHandler {
 public:
  HttpHandler() = default;
  virtual ~HttpHandler() = default;
  HttpHandler(const HttpHandler&) = delete;
  HttpHandler& operator=(const HttpHandler&) = delete;

  virtual HttpResponse handle(const HttpRequest& request) = 0;
  // The answer for a request the server refused before handle(): 413 (too large), 400
  // (malformed body framing), 408 (timeout), 500 (a bug escaped handle()). `request` has the
  // method, path, query and headers but no body. `reason` never holds request content.
  virtual HttpResponse reject(int status, std::string_view reason, const HttpRequest& request);
};

// Counters since start (monotonic).
struct HttpServerStats {
  std::uint64_t requests = 0;
  std::uint64_t rejected = 0;  // answered by the server itself (413, 404 no mount, 400, 500)
};

// A small HTTPS server (POCO HTTPServer on a SecureServerSocket; TLS 1.2+, optional mutual TLS
// with OpenSSL's own verification; plain HTTP only on loopback when allowed). Requests are routed
// to the handler mounted at the longest matching path prefix ("/fhir" matches "/fhir" and
// "/fhir/..." but not "/fhirx"); no match is answered 404 text/plain.
//
// Lifecycle: create() validates TLS files (errors before binding); mount() before start();
// start() binds; stop() stops accepting, lets in-flight requests finish and be answered, then
// returns (idle keep-alive connections close within keep_alive_timeout_seconds). Handlers must
// outlive the server's running time. start()/stop() from one thread.
class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> create(std::string name, HttpServerSettings settings);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void mount(std::string prefix, HttpHandler& handler);
  // Unavailable when the address cannot be bound; InvalidArgument for plain HTTP where it is
  // not allowed.
  Status start();
  void stop();
  // "host:port" after start().
  std::string boundAddress() const;
  bool tls() const;
  HttpServerStats stats() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// True when TLS is enabled, or plain HTTP is allowed and the host is loopback.
inline bool plainHttpAllowed(const HttpServerSettings& s);

// True for 127.0.0.0/8, ::1 and "localhost".
bool isLoopbackHost(std::string_view host);

// The address part of a peer "ip:port" or "[v6]:port" (HttpRequest::peer).
std::string peerHost(const std::string& peer);

inline bool plainHttpAllowed(const HttpServerSettings& s) {
  return s.tls.enabled || (s.allow_plain_http && isLoopbackHost(s.host));
}

}  // namespace gw::http
