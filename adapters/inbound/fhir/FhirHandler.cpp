// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/FhirHandler.h"

#include <Poco/Logger.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <fstream>
#include <sstream>

#include "gateway/fhir/CompactTree.h"

namespace gw::fhirin {
namespace {

Poco::Logger& logger() {
  return Poco::Logger::get("gw.inbound.fhir");
}

constexpr const char* kFhirVersion = "4.0.1";

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// A media type (without parameters) or a `_format` shorthand.
std::optional<Format> formatFromMime(std::string_view mime, bool allow_shorthand) {
  const std::string m = lower(trim(mime));
  if (m == "application/fhir+json" || m == "application/json" || m == "application/json+fhir" ||
      (allow_shorthand && m == "json")) {
    return Format::Json;
  }
  if (m == "application/fhir+xml" || m == "application/xml" || m == "text/xml" ||
      m == "application/xml+fhir" || (allow_shorthand && m == "xml")) {
    return Format::Xml;
  }
  return std::nullopt;
}

std::string isoNow(SystemTime now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string newUuid() {
  return Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
}

// The location a parser error names ("invalid JSON at offset 12 (Bundle.entry[3]): ..." or
// "string longer than N bytes at Bundle.entry[0].resource"), or "".
std::string expressionFromParseError(const std::string& message) {
  const std::size_t open = message.find(" (");
  if (message.rfind("invalid JSON", 0) == 0 && open != std::string::npos) {
    const std::size_t close = message.find(')', open);
    if (close != std::string::npos) {
      return message.substr(open + 2, close - open - 2);
    }
  }
  const std::size_t at = message.rfind(" at ");
  if (at != std::string::npos && at + 4 < message.size() &&
      std::isupper(static_cast<unsigned char>(message[at + 4]))) {
    std::string out = message.substr(at + 4);
    return out.substr(0, out.find_first_of(" :"));
  }
  return {};
}

OutElement operationOutcome(std::string_view severity, std::string_view code,
                            const std::string& diagnostics, const std::string& expression) {
  OutElement outcome = resource("OperationOutcome");
  OutElement issue = repeated(element("issue"));
  issue.add(primitive("severity", std::string(severity)));
  issue.add(primitive("code", std::string(code)));
  issue.add(primitive("diagnostics", diagnostics));
  if (!expression.empty()) {
    issue.add(repeated(primitive("expression", expression)));
  }
  outcome.add(std::move(issue));
  return outcome;
}

http::HttpResponse respond(int status, const OutElement& body, Format format) {
  http::HttpResponse response;
  response.status = status;
  response.content_type = std::string(contentType(format));
  response.body = render(body, format);
  return response;
}

RequestProblem makeProblem(int status, std::string code, std::string message,
                           std::string expression = {}) {
  RequestProblem p;
  p.status = status;
  p.issue_code = std::move(code);
  p.message = std::move(message);
  p.expression = std::move(expression);
  return p;
}

bool startsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && lower(text.substr(0, prefix.size())) == prefix;
}

// Used token ids in this process only: without a durable ledger (tests, a store without the
// table), replays are still refused until the process restarts. Bounded by the tokens' lifetime
// (at most max_token_lifetime_seconds plus leeway): expired ids are dropped, oldest first.
class MemoryTokenLedger final : public TokenReplayLedger {
 public:
  Result<bool> firstUse(const std::string& client, const std::string& jti, SystemTime expires_at,
                        SystemTime now) override {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
      seen_.erase(by_expiry_.begin()->second);
      by_expiry_.erase(by_expiry_.begin());
    }
    std::string key = client + '\x1f' + jti;
    if (!seen_.insert(key).second) {
      return false;
    }
    by_expiry_.emplace(expires_at, std::move(key));
    return true;
  }

 private:
  std::mutex mutex_;
  std::set<std::string> seen_;
  std::multimap<SystemTime, std::string> by_expiry_;
};

}  // namespace

int httpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::Ok:
      return 200;
    case StatusCode::InvalidArgument:
      return 422;
    case StatusCode::PermissionDenied:
      return 403;
    case StatusCode::Unavailable:
    case StatusCode::DeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

std::optional<Format> requestFormat(const http::HttpRequest& request, RequestProblem& problem) {
  const std::string_view content_type = request.header("content-type");
  if (content_type.empty()) {
    if (const std::string* format = request.queryParam("_format")) {
      if (std::optional<Format> f = formatFromMime(*format, true)) {
        return f;
      }
    }
    problem = makeProblem(415, "not-supported",
                          "Content-Type is required: application/fhir+json or "
                          "application/fhir+xml");
    return std::nullopt;
  }
  const std::size_t semicolon = content_type.find(';');
  const std::optional<Format> format =
      formatFromMime(content_type.substr(0, semicolon), /*allow_shorthand=*/false);
  if (!format) {
    problem = makeProblem(415, "not-supported",
                          "unsupported Content-Type: send application/fhir+json or "
                          "application/fhir+xml");
    return std::nullopt;
  }
  std::string_view params =
      semicolon == std::string_view::npos ? std::string_view() : content_type.substr(semicolon + 1);
  while (!params.empty()) {
    const std::size_t next = params.find(';');
    const std::string_view param = trim(params.substr(0, next));
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    if (startsWithIgnoreCase(param, "charset=")) {
      std::string charset = lower(trim(param.substr(8)));
      charset.erase(std::remove(charset.begin(), charset.end(), '"'), charset.end());
      if (charset != "utf-8" && charset != "utf8") {
        problem = makeProblem(415, "not-supported", "only the UTF-8 charset is accepted");
        return std::nullopt;
      }
    }
  }
  return format;
}

std::optional<Format> responseFormat(const http::HttpRequest& request) {
  if (const std::string* format = request.queryParam("_format")) {
    const std::string_view value = *format;
    return formatFromMime(value.substr(0, value.find(';')), /*allow_shorthand=*/true);
  }
  std::string_view accept = request.header("accept");
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    const std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    if (std::optional<Format> f = formatFromMime(item.substr(0, item.find(';')), false)) {
      return f;
    }
  }
  const std::string_view content_type = request.header("content-type");
  if (std::optional<Format> f =
          formatFromMime(content_type.substr(0, content_type.find(';')), false)) {
    return f;
  }
  return Format::Json;
}

Result<std::unique_ptr<FhirHandler>> FhirHandler::create(const FhirSettings& settings,
                                                         InboundSink& sink, AuditStore* audit,
                                                         ClockPtr clock, TokenReplayLedger* tokens,
                                                         SubscriptionLedger* subscriptions) {
  std::vector<JwtVerifier::Client> clients;
  for (const FhirClientSettings& c : settings.auth.clients) {
    if (c.public_key_file.empty()) {
      continue;
    }
    std::ifstream in(c.public_key_file, std::ios::binary);
    if (!in) {
      return Status::invalidArgument("client \"" + c.id + "\": cannot read public_key_file \"" +
                                     c.public_key_file + "\"");
    }
    std::ostringstream pem;
    pem << in.rdbuf();
    clients.push_back(JwtVerifier::Client{c.id, c.issuer, pem.str()});
  }
  std::unique_ptr<JwtVerifier> jwt;
  if (!clients.empty()) {
    JwtVerifier::Options options;
    options.audience = settings.auth.audience;
    options.leeway = std::chrono::seconds(settings.auth.leeway_seconds);
    options.max_lifetime = std::chrono::seconds(settings.auth.max_token_lifetime_seconds);
    GW_ASSIGN_OR_RETURN(jwt, JwtVerifier::create(clients, options));
  }
  std::unique_ptr<FhirHandler> handler(new FhirHandler(
      settings, sink, audit, std::move(clock), std::move(jwt), tokens, subscriptions));
  GW_RETURN_IF_ERROR(handler->subscriptions_.load().withContext("reading saved subscriptions"));
  return handler;
}

FhirHandler::FhirHandler(const FhirSettings& settings, InboundSink& sink, AuditStore* audit,
                         ClockPtr clock, std::unique_ptr<JwtVerifier> jwt,
                         TokenReplayLedger* tokens, SubscriptionLedger* subscriptions)
    : settings_(settings),
      sink_(sink),
      audit_(audit),
      clock_(std::move(clock)),
      jwt_(std::move(jwt)),
      memory_tokens_(tokens == nullptr ? std::make_unique<MemoryTokenLedger>() : nullptr),
      tokens_(tokens == nullptr ? memory_tokens_.get() : tokens),
      subscriptions_(subscriptions, audit, clock_),
      started_at_(isoNow(clock_->now())) {}

FhirStats FhirHandler::stats() const {
  FhirStats s;
  s.accepted = accepted_.load();
  s.duplicates = duplicates_.load();
  s.notifications = notifications_.load();
  s.client_errors = client_errors_.load();
  s.unavailable = unavailable_.load();
  s.subscription_gaps = subscriptions_.gaps();
  return s;
}

http::HttpResponse FhirHandler::error(const RequestProblem& problem, Format format) {
  if (problem.status >= 500) {
    if (problem.status == 503) {
      unavailable_.fetch_add(1);
    }
  } else {
    client_errors_.fetch_add(1);
  }
  http::HttpResponse response =
      respond(problem.status,
              operationOutcome(problem.status >= 500 && problem.status != 503 ? "fatal" : "error",
                               problem.issue_code, problem.message, problem.expression),
              format);
  if (problem.status == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"" + settings_.name + "\"");
  } else if (problem.status == 503) {
    response.headers.emplace_back("Retry-After", std::to_string(settings_.retry_after_seconds));
  }
  return response;
}

http::HttpResponse FhirHandler::reject(int status, std::string_view reason,
                                       const http::HttpRequest& request) {
  std::string code = "invalid";
  if (status == 413) {
    code = "too-costly";
  } else if (status >= 500) {
    code = "exception";
  }
  poco_information(logger(), "[conn=" + request.peer + "] " + request.method + " " + request.path +
                                 " refused " + std::to_string(status) + ": " + std::string(reason));
  return error(makeProblem(status, code, std::string(reason)),
               responseFormat(request).value_or(Format::Json));
}

FhirHandler::Authenticated FhirHandler::authenticate(const http::HttpRequest& request) const {
  Authenticated out;
  std::string certificate_client;
  if (!request.client_subject.empty()) {
    for (const FhirClientSettings& c : settings_.auth.clients) {
      for (const std::string& subject : c.certificate_subjects) {
        if (subject == request.client_subject || subject == request.client_common_name) {
          certificate_client = c.id;
        }
      }
    }
  }
  const std::string_view authorization = trim(request.header("authorization"));
  std::string token_client;
  if (!authorization.empty()) {
    if (!startsWithIgnoreCase(authorization, "bearer ")) {
      out.problem = makeProblem(401, "login", "only Bearer tokens are accepted");
      return out;
    }
    if (!jwt_) {
      out.problem = makeProblem(401, "login", "no client is configured for bearer tokens");
      return out;
    }
    const SystemTime now = clock_->now();
    Result<JwtVerifier::Verified> token = jwt_->verifyToken(trim(authorization.substr(7)), now);
    if (!token.ok()) {
      out.problem = makeProblem(401, "login", "invalid bearer token: " + token.status().message());
      return out;
    }
    // SMART Backend Services: a client assertion is used once (jti), within its lifetime.
    const Result<bool> first = tokens_->firstUse(token->client, token->jti, token->expires_at, now);
    if (!first.ok()) {
      poco_warning(logger(), "[conn=" + request.peer + "] cannot check a token id for replay: " +
                                 first.status().toString());
      out.problem = makeProblem(503, "transient",
                                "the gateway cannot check the token now; send it again later");
      return out;
    }
    if (!*first) {
      out.problem = makeProblem(401, "login",
                                "invalid bearer token: token replayed (its jti was used before)");
      return out;
    }
    token_client = std::move(token->client);
  }
  if (!token_client.empty()) {
    if (!certificate_client.empty() && certificate_client != token_client) {
      out.problem = makeProblem(403, "forbidden",
                                "the client certificate and the bearer token name different "
                                "clients");
      return out;
    }
    out.client = token_client;
    return out;
  }
  if (!certificate_client.empty()) {
    out.client = certificate_client;
    return out;
  }
  if (!request.client_subject.empty()) {
    out.problem = makeProblem(403, "forbidden", "the client certificate is not allowed");
    return out;
  }
  if (settings_.auth.allow_unauthenticated) {
    out.client = "local";
    return out;
  }
  out.problem =
      makeProblem(401, "login", "authentication required: a Bearer JWT or a client certificate");
  return out;
}

http::HttpResponse FhirHandler::handle(const http::HttpRequest& request) {
  const std::optional<Format> format = responseFormat(request);
  if (!format) {
    return error(makeProblem(406, "not-supported",
                             "_format must be json or xml (or a FHIR media type)", "_format"),
                 Format::Json);
  }
  std::string_view rel = request.path;
  rel.remove_prefix(std::min(rel.size(), settings_.base_path.size()));
  while (!rel.empty() && rel.back() == '/') {
    rel.remove_suffix(1);
  }
  if (rel == "/metadata") {
    if (request.method != "GET" && request.method != "HEAD") {
      http::HttpResponse response =
          error(makeProblem(405, "not-supported", "metadata supports GET only"), *format);
      response.headers.emplace_back("Allow", "GET, HEAD");
      return response;
    }
    return capabilityStatement(*format);
  }
  Route route = Route::Bundle;
  std::string_view type;
  if (rel.empty() || rel == "/Bundle") {
    route = Route::Bundle;
  } else if (rel == "/$process-message") {
    route = Route::ProcessMessage;
  } else {
    const std::string_view name = rel.substr(1);
    const bool type_like = !name.empty() && std::isupper(static_cast<unsigned char>(name[0])) &&
                           std::all_of(name.begin(), name.end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0;
                           });
    if (type_like && isSupportedResourceType(name)) {
      route = Route::Resource;
      type = name;
    } else if (type_like) {
      return error(makeProblem(404, "not-supported",
                               "this resource type is not accepted; POST Encounter, "
                               "DiagnosticReport, Observation, Appointment, Patient, Bundle or "
                               "$process-message"),
                   *format);
    } else {
      return error(makeProblem(404, "not-found", "no FHIR endpoint at this path"), *format);
    }
  }
  if (request.method != "POST") {
    http::HttpResponse response =
        error(makeProblem(405, "not-supported", "this endpoint accepts POST only"), *format);
    response.headers.emplace_back("Allow", "POST");
    return response;
  }
  return post(request, route, type, *format);
}

http::HttpResponse FhirHandler::post(const http::HttpRequest& request, Route route,
                                     std::string_view type, Format format) {
  const std::string conn = "[conn=" + request.peer + "] ";
  const Authenticated auth = authenticate(request);
  if (auth.problem) {
    poco_information(logger(), conn + "refused " + std::to_string(auth.problem->status) + ": " +
                                   auth.problem->message);
    return error(*auth.problem, format);
  }
  RequestProblem problem;
  const std::optional<Format> body_format = requestFormat(request, problem);
  if (!body_format) {
    return error(problem, format);
  }
  if (request.body.empty()) {
    return error(makeProblem(400, "required", "the request body is empty"), format);
  }
  fhir::ParseLimits limits;
  limits.max_depth = static_cast<std::size_t>(settings_.max_depth);
  limits.max_string_bytes = static_cast<std::size_t>(settings_.max_string_bytes);
  limits.max_total_bytes = static_cast<std::size_t>(settings_.server.max_request_bytes);
  Result<fhir::Resource> parsed = *body_format == Format::Json
                                      ? fhir::parseJson(request.body, limits)
                                      : fhir::parseXml(request.body, limits);
  if (!parsed.ok()) {
    const std::string message = parsed.status().message();
    poco_information(logger(), conn + "client " + auth.client + ": unparseable " +
                                   (*body_format == Format::Json ? "JSON" : "XML") + " (" +
                                   std::to_string(request.body.size()) + " bytes): " + message);
    return error(makeProblem(400, "structure", message, expressionFromParseError(message)), format);
  }
  FhirEventInfo info;
  if (std::optional<RequestProblem> p = classify(*parsed, route, type, info)) {
    poco_information(logger(), conn + "client " + auth.client + ": refused " +
                                   std::to_string(p->status) + " at " + p->expression + ": " +
                                   p->message);
    return error(*p, format);
  }

  if (!info.stored()) {
    observe(auth.client, info, request.peer);
    notifications_.fetch_add(1);
    poco_debug(logger(), conn + "client " + auth.client + ": " + info.message_type);
    return respond(
        200,
        operationOutcome("information", "informational",
                         std::string(notificationTypeName(info.notification)) + " received", ""),
        format);
  }

  InboundEvent event;
  event.source = EventSource::Fhir;
  event.listener = settings_.name;
  event.peer = request.peer;
  event.sending_application = auth.client;
  event.sending_facility = info.sending_facility;
  event.control_id = info.control_id;
  event.message_type = info.message_type;
  event.version = kFhirVersion;
  // New single resources are answered 201 Created, everything else (and every resend) 200.
  event.answer_on_commit = route == Route::Resource ? "HTTP 201" : "HTTP 200";
  event.payload = request.body;
  // The mapper loads this instead of parsing the body again (gw::fhir::CompactTree).
  event.parsed_form = fhir::toCompactTree(*parsed);
  const Deadline deadline =
      clock_->steadyNow() + std::chrono::milliseconds(settings_.commit_timeout_ms);
  const Result<IntakeReceipt> receipt = sink_.accept(std::move(event), deadline);
  if (!receipt.ok()) {
    const int status = httpStatusFor(receipt.status());
    poco_information(logger(), conn + "client " + auth.client + ": " + info.message_type +
                                   " not accepted (" + std::to_string(status) +
                                   "): " + receipt.status().toString());
    switch (status) {
      case 422:
        return error(makeProblem(422, "business-rule", receipt.status().message()), format);
      case 403:
        return error(makeProblem(403, "forbidden", receipt.status().message()), format);
      case 503:
        return error(makeProblem(503, "transient",
                                 "the gateway cannot store the event now; send it again later"),
                     format);
      default:
        return error(makeProblem(500, "exception", "internal error"), format);
    }
  }
  (receipt->duplicate ? duplicates_ : accepted_).fetch_add(1);
  if (info.notification != NotificationType::None) {
    observe(auth.client, info, request.peer);
  }
  poco_debug(logger(), conn + "[msg=" + std::to_string(receipt->event_id) + "] " +
                           (receipt->duplicate ? "resend of " : "accepted ") + info.message_type +
                           " from " + auth.client + " (" + std::to_string(request.body.size()) +
                           " bytes)");

  const std::string event_id = std::to_string(receipt->event_id);
  const std::string note = receipt->duplicate ? "already received as event " + event_id
                                              : "accepted as event " + event_id;
  http::HttpResponse response;
  if (route == Route::ProcessMessage) {
    // FHIR R4 messaging: a response message whose MessageHeader.response names the request.
    OutElement bundle = resource("Bundle");
    bundle.add(primitive("id", newUuid()));
    bundle.add(primitive("type", "message"));
    bundle.add(primitive("timestamp", isoNow(clock_->now())));
    OutElement header = resource("MessageHeader");
    header.name = "resource";
    const std::string header_id = newUuid();
    header.add(primitive("id", header_id));
    if (!info.event_is_uri) {
      OutElement coding = element("eventCoding");
      if (!info.event_system.empty()) {
        coding.add(primitive("system", info.event_system));
      }
      coding.add(primitive("code", info.event_code));
      header.add(std::move(coding));
    } else {
      header.add(primitive("eventUri", info.event_code));
    }
    OutElement source = element("source");
    source.add(primitive("name", "ehr-patient-gateway"));
    source.add(primitive("endpoint", settings_.auth.audience.empty()
                                         ? "urn:ehr-patient-gateway:" + settings_.name
                                         : settings_.auth.audience));
    header.add(std::move(source));
    OutElement reply = element("response");
    reply.add(primitive("identifier",
                        info.message_header_id.empty() ? info.control_id : info.message_header_id));
    reply.add(primitive("code", "ok"));
    header.add(std::move(reply));
    OutElement entry = repeated(element("entry"));
    entry.add(primitive("fullUrl", "urn:uuid:" + header_id));
    entry.add(std::move(header));
    bundle.add(std::move(entry));
    response = respond(200, bundle, format);
  } else if (route == Route::Bundle &&
             (info.bundle_type == "transaction" || info.bundle_type == "batch")) {
    OutElement bundle = resource("Bundle");
    bundle.add(primitive("id", newUuid()));
    bundle.add(primitive("type", info.bundle_type + "-response"));
    for (std::size_t i = 0; i < info.entry_count; ++i) {
      OutElement entry = repeated(element("entry"));
      OutElement entry_response = element("response");
      entry_response.add(primitive("status", "202 Accepted"));
      entry.add(std::move(entry_response));
      bundle.add(std::move(entry));
    }
    response = respond(200, bundle, format);
  } else {
    response = respond(route == Route::Resource && !receipt->duplicate ? 201 : 200,
                       operationOutcome("information", "informational", note, ""), format);
  }
  response.headers.emplace_back("X-Gateway-Event-Id", event_id);
  response.headers.emplace_back("X-Gateway-Duplicate", receipt->duplicate ? "true" : "false");
  return response;
}

void FhirHandler::observe(const std::string& client, const FhirEventInfo& info,
                          const std::string& peer) {
  SubscriptionNotification n;
  n.client = client;
  n.subscription = info.subscription;
  n.type = info.notification;
  n.status = info.subscription_status;
  n.events_since_start = info.events_since_start;
  n.first_event = info.first_event_number;
  n.last_event = info.last_event_number;
  n.peer = peer;
  // A save that fails is logged by the tracker; the notification itself was handled (and a
  // stored one committed), so the answer does not change.
  (void)subscriptions_.observe(n);
}

http::HttpResponse FhirHandler::capabilityStatement(Format format) const {
  OutElement cs = resource("CapabilityStatement");
  cs.add(primitive("status", "active"));
  cs.add(primitive("date", started_at_));
  cs.add(primitive("kind", "instance"));
  OutElement software = element("software");
  software.add(primitive("name", "ehr-patient-gateway"));
  software.add(primitive("version", "0.1.0"));
  cs.add(std::move(software));
  OutElement implementation = element("implementation");
  implementation.add(
      primitive("description",
                "FHIR R4 intake of an EHR-to-patient messaging gateway: events are stored "
                "(encrypted) and answered 2xx only after the commit; nothing can be read "
                "back."));
  cs.add(std::move(implementation));
  cs.add(primitive("fhirVersion", kFhirVersion));
  for (const char* f : {"json", "xml", "application/fhir+json", "application/fhir+xml"}) {
    cs.add(repeated(primitive("format", f)));
  }
  OutElement rest = repeated(element("rest"));
  rest.add(primitive("mode", "server"));
  rest.add(primitive(
      "documentation",
      "POST [base]/$process-message (message Bundle, synchronous response message); POST [base] "
      "or [base]/Bundle (transaction, batch, collection, history; Subscriptions R5 Backport "
      "rest-hook notifications: handshake, heartbeat, event-notification, query-status, "
      "query-event); POST [base]/{type} for the listed types. A resend with the same id is "
      "answered again and stored once."));
  OutElement security = element("security");
  security.add(boolean("cors", false));
  OutElement service = repeated(element("service"));
  OutElement coding = repeated(element("coding"));
  coding.add(primitive("system", "http://terminology.hl7.org/CodeSystem/restful-security-service"));
  coding.add(primitive("code", "SMART-on-FHIR"));
  service.add(std::move(coding));
  security.add(std::move(service));
  security.add(primitive("description",
                         "Authorization: Bearer JWT signed RS384 or ES384 with a key configured "
                         "per client (iss = client, aud, exp at most 5 minutes ahead, jti used "
                         "once), or mutual TLS with a configured client certificate."));
  rest.add(std::move(security));
  for (const char* type :
       {"Appointment", "Bundle", "DiagnosticReport", "Encounter", "Observation", "Patient"}) {
    OutElement r = repeated(element("resource"));
    r.add(primitive("type", type));
    OutElement interaction = repeated(element("interaction"));
    interaction.add(primitive("code", "create"));
    r.add(std::move(interaction));
    r.add(primitive("versioning", "no-version"));
    r.add(boolean("readHistory", false));
    r.add(boolean("updateCreate", false));
    r.add(boolean("conditionalCreate", false));
    rest.add(std::move(r));
  }
  for (const char* code : {"transaction", "batch"}) {
    OutElement interaction = repeated(element("interaction"));
    interaction.add(primitive("code", code));
    rest.add(std::move(interaction));
  }
  OutElement operation = repeated(element("operation"));
  operation.add(primitive("name", "process-message"));
  operation.add(primitive("definition",
                          "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message"));
  rest.add(std::move(operation));
  cs.add(std::move(rest));
  OutElement messaging = repeated(element("messaging"));
  messaging.add(primitive("documentation",
                          "Synchronous $process-message; any event code is accepted and stored."));
  cs.add(std::move(messaging));
  return respond(200, cs, format);
}

}  // namespace gw::fhirin
