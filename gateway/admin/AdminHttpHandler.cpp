// SPDX-License-Identifier: Apache-2.0
#include "gateway/admin/AdminHttpHandler.h"

#include <Poco/Logger.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <charconv>
#include <vector>

namespace gw::admin {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Largest JSON body the API reads (a login, a reason, a user change).
constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr std::size_t kDefaultLimit = 100;
constexpr std::size_t kMaxLimit = 1000;

Poco::Logger& logger() {
  return Poco::Logger::get("gw.admin");
}

HttpResponse json(int status, const rapidjson::StringBuffer& body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.body.assign(body.GetString(), body.GetSize());
  return response;
}

void str(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void time(Writer& w, const char* key, SystemTime t) {
  if (t == SystemTime()) {
    w.Key(key);
    w.Null();
    return;
  }
  str(w, key, formatIsoTime(t));
}

void writeEvent(Writer& w, const InboundEventRecord& r) {
  w.StartObject();
  w.Key("id");
  w.Int64(r.id);
  time(w, "received_at", r.received_at);
  str(w, "source", eventSourceName(r.source));
  str(w, "listener", r.listener);
  str(w, "peer", r.peer);
  str(w, "message_type", r.message_type);
  str(w, "control_id", r.control_id);
  str(w, "sending_application", r.sending_application);
  str(w, "sending_facility", r.sending_facility);
  str(w, "version", r.version);
  str(w, "state", inboundStateName(r.state));
  w.Key("payload_bytes");
  w.Uint64(r.payload_bytes);
  w.Key("duplicates");
  w.Int64(r.duplicates);
  w.EndObject();
}

void writePatientMessage(Writer& w, const PatientMessageRecord& r) {
  w.StartObject();
  w.Key("id");
  w.Int64(r.id);
  w.Key("event_id");
  w.Int64(r.event_id);
  str(w, "mapping", r.mapping);
  str(w, "channel", channelName(r.channel));
  str(w, "purpose", r.purpose);
  str(w, "state", messageStateName(r.state));
  str(w, "reason", r.reason);
  w.Key("attempts");
  w.Int(r.attempts);
  str(w, "delivery_method", r.delivery_method);
  time(w, "created_at", r.created_at);
  time(w, "updated_at", r.updated_at);
  time(w, "not_before", r.not_before);
  time(w, "expires_at", r.expires_at);
  w.EndObject();
}

void writeUser(Writer& w, const AdminUser& u, SystemTime now) {
  w.StartObject();
  str(w, "username", u.username);
  str(w, "role", adminRoleName(u.role));
  w.Key("disabled");
  w.Bool(u.disabled);
  w.Key("failed_logins");
  w.Int(u.failed_logins);
  w.Key("locked");
  w.Bool(u.locked_until != SystemTime() && u.locked_until > now);
  time(w, "locked_until", u.locked_until);
  time(w, "created_at", u.created_at);
  time(w, "updated_at", u.updated_at);
  w.EndObject();
}

// Status -> HTTP status. PermissionDenied is 401 during authentication, 403 after it.
int httpStatus(const Status& status, bool authenticating) {
  switch (status.code()) {
    case StatusCode::PermissionDenied:
      return authenticating ? 401 : 403;
    case StatusCode::InvalidArgument:
    case StatusCode::ParseError:
      return 400;
    case StatusCode::NotFound:
      return 404;
    case StatusCode::AlreadyExists:
    case StatusCode::FailedPrecondition:
      return 409;
    case StatusCode::Unavailable:
    case StatusCode::DeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

HttpResponse fromStatus(const Status& status, bool authenticating = false) {
  const int code = httpStatus(status, authenticating);
  if (code == 500) {
    poco_error(logger(), "admin API: internal error: " + status.toString());
    return jsonError(500, "internal error");
  }
  if (code == 503) {
    poco_warning(logger(), "admin API: unavailable: " + status.toString());
    HttpResponse response = jsonError(503, "temporarily unavailable, retry later");
    response.headers.emplace_back("Retry-After", "5");
    return response;
  }
  HttpResponse response = jsonError(code, status.message());
  if (code == 401) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gateway-admin\"");
  }
  return response;
}

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty()) {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash + 1);
  }
  return parts;
}

std::optional<std::int64_t> parseId(std::string_view text) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return std::nullopt;
  }
  return value;
}

std::string bearerToken(const HttpRequest& request) {
  const std::string_view header = request.header("authorization");
  if (header.size() < 7) {
    return "";
  }
  std::string scheme(header.substr(0, 7));
  for (char& c : scheme) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (scheme != "bearer ") {
    return "";
  }
  std::string_view token = header.substr(7);
  while (!token.empty() && token.front() == ' ') {
    token.remove_prefix(1);
  }
  return std::string(token);
}

// The JSON object body of a request (an empty body is an empty object).
class Body {
 public:
  Status parse(const HttpRequest& request, int& http_status) {
    doc_.SetObject();
    if (request.body.empty()) {
      return Status::ok();
    }
    if (request.header("content-type").substr(0, 16) != "application/json") {
      http_status = 415;
      return Status::invalidArgument("the body must be application/json");
    }
    if (request.body.size() > kMaxBodyBytes) {
      http_status = 413;
      return Status::invalidArgument("the body is larger than 64 KiB");
    }
    doc_.Parse(request.body.data(), request.body.size());
    if (doc_.HasParseError() || !doc_.IsObject()) {
      http_status = 400;
      return Status::invalidArgument("the body must be a JSON object");
    }
    return Status::ok();
  }

  // A string member; InvalidArgument when present with another type.
  Result<std::optional<std::string>> string(const char* key) const {
    const auto it = doc_.FindMember(key);
    if (it == doc_.MemberEnd() || it->value.IsNull()) {
      return std::optional<std::string>();
    }
    if (!it->value.IsString()) {
      return Status::invalidArgument(std::string("\"") + key + "\" must be a string");
    }
    return std::optional<std::string>(
        std::string(it->value.GetString(), it->value.GetStringLength()));
  }
  Result<std::optional<bool>> boolean(const char* key) const {
    const auto it = doc_.FindMember(key);
    if (it == doc_.MemberEnd() || it->value.IsNull()) {
      return std::optional<bool>();
    }
    if (!it->value.IsBool()) {
      return Status::invalidArgument(std::string("\"") + key + "\" must be true or false");
    }
    return std::optional<bool>(it->value.GetBool());
  }
  // Names of members not in `known`, for a clear error.
  Status onlyKeys(std::initializer_list<std::string_view> known) const {
    for (auto it = doc_.MemberBegin(); it != doc_.MemberEnd(); ++it) {
      const std::string_view key(it->name.GetString(), it->name.GetStringLength());
      bool found = false;
      for (const std::string_view k : known) {
        found = found || k == key;
      }
      if (!found) {
        return Status::invalidArgument("unknown field \"" + std::string(key) + "\"");
      }
    }
    return Status::ok();
  }

 private:
  rapidjson::Document doc_;
};

// The reason of an operator action: the "reason" query parameter or JSON field.
Result<std::string> reasonOf(const HttpRequest& request, const Body& body) {
  if (const std::string* q = request.queryParam("reason")) {
    return *q;
  }
  GW_ASSIGN_OR_RETURN(std::optional<std::string> r, body.string("reason"));
  return r.value_or("");
}

Result<std::size_t> limitOf(const HttpRequest& request) {
  const std::string* text = request.queryParam("limit");
  if (text == nullptr) {
    return kDefaultLimit;
  }
  const std::optional<std::int64_t> n = parseId(*text);
  if (!n || *n > static_cast<std::int64_t>(kMaxLimit)) {
    return Status::invalidArgument("limit must be 1..1000");
  }
  return static_cast<std::size_t>(*n);
}

Result<std::int64_t> afterIdOf(const HttpRequest& request) {
  const std::string* text = request.queryParam("after_id");
  if (text == nullptr || *text == "0") {
    return std::int64_t{0};
  }
  const std::optional<std::int64_t> n = parseId(*text);
  if (!n) {
    return Status::invalidArgument("after_id must be a non-negative integer");
  }
  return *n;
}

Result<std::optional<SystemTime>> timeParam(const HttpRequest& request, const char* name) {
  const std::string* text = request.queryParam(name);
  if (text == nullptr) {
    return std::optional<SystemTime>();
  }
  const std::optional<SystemTime> t = parseIsoTime(*text);
  if (!t) {
    return Status::invalidArgument(std::string(name) +
                                   " must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.fff]Z");
  }
  return t;
}

HttpResponse methodNotAllowed(const char* allow) {
  HttpResponse response =
      jsonError(405, std::string("method not allowed (allowed: ") + allow + ")");
  response.headers.emplace_back("Allow", allow);
  return response;
}

HttpResponse okJson(const std::function<void(Writer&)>& fill) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  fill(w);
  w.EndObject();
  return json(200, buffer);
}

// One page of a keyset-paginated list: {"<key>": [...], "next_after_id": id or null}.
template <typename T, typename WriteOne>
HttpResponse pageJson(const Result<std::vector<T>>& found, const char* key, std::size_t limit,
                      WriteOne write_one) {
  if (!found.ok()) {
    return fromStatus(found.status());
  }
  return okJson([&](Writer& w) {
    w.Key(key);
    w.StartArray();
    for (const T& item : *found) {
      write_one(w, item);
    }
    w.EndArray();
    w.Key("next_after_id");
    if (found->size() == limit && limit != 0) {
      w.Int64(found->back().id);
    } else {
      w.Null();
    }
  });
}

// The reason of an operator action from a body that may hold nothing else.
Result<std::string> reasonOnly(const HttpRequest& request, const Body& body) {
  GW_RETURN_IF_ERROR(body.onlyKeys({"reason"}));
  return reasonOf(request, body);
}

}  // namespace

HttpResponse jsonError(int status, std::string_view message) {
  rapidjson::StringBuffer buffer;
  Writer w(buffer);
  w.StartObject();
  str(w, "error", message);
  w.EndObject();
  return json(status, buffer);
}

AdminHttpHandler::AdminHttpHandler(std::shared_ptr<AdminService> service)
    : service_(std::move(service)), prefix_(service_->settings().path_prefix) {
  while (prefix_.size() > 1 && prefix_.back() == '/') {
    prefix_.pop_back();
  }
}

HttpResponse AdminHttpHandler::reject(int status, std::string_view reason, const HttpRequest&) {
  return jsonError(status, reason);
}

HttpResponse AdminHttpHandler::handle(const HttpRequest& request) {
  try {
    return route(request);
  } catch (const std::exception& e) {  // only a bug gets here
    poco_error(logger(), std::string("BUG: exception in the admin API: ") + e.what());
    return jsonError(500, "internal error");
  }
}

HttpResponse AdminHttpHandler::route(const HttpRequest& request) {
  if (request.path.compare(0, prefix_.size(), prefix_) != 0) {
    return jsonError(404, "no such endpoint");
  }
  const std::vector<std::string_view> parts =
      splitPath(std::string_view(request.path).substr(prefix_.size()));
  const std::string source = http::peerHost(request.peer);
  const std::string& method = request.method;
  const bool get = method == "GET";
  const bool post = method == "POST";
  int body_status = 400;
  Body body;
  if (Status parsed = body.parse(request, body_status); !parsed.isOk()) {
    return jsonError(body_status, parsed.message());
  }
  if (parts.empty()) {
    return jsonError(404, "no such endpoint");
  }
  const std::string_view top = parts[0];

  if (top == "login" && parts.size() == 1) {
    if (!post) {
      return methodNotAllowed("POST");
    }
    if (Status s = body.onlyKeys({"username", "password"}); !s.isOk()) {
      return fromStatus(s);
    }
    Result<std::optional<std::string>> username = body.string("username");
    Result<std::optional<std::string>> password = body.string("password");
    if (!username.ok() || !password.ok() || !*username || !*password) {
      return jsonError(400, "login needs \"username\" and \"password\" strings");
    }
    Result<bool> admitted = service_->admitLogin(source);
    if (!admitted.ok()) {
      return fromStatus(admitted.status());
    }
    if (!*admitted) {
      HttpResponse response = jsonError(429, "too many login attempts, retry in a minute");
      response.headers.emplace_back("Retry-After", "60");
      return response;
    }
    Result<LoginResult> login = service_->login(**username, **password, source);
    if (!login.ok()) {
      return fromStatus(login.status(), true);
    }
    return okJson([&](Writer& w) {
      str(w, "token", login->token);
      str(w, "token_type", "Bearer");
      str(w, "role", adminRoleName(login->role));
      time(w, "expires_at", login->expires_at);
      w.Key("idle_timeout_seconds");
      w.Int(service_->settings().session_idle_seconds);
    });
  }
  const std::string token = bearerToken(request);
  if (top == "logout" && parts.size() == 1) {
    if (!post) {
      return methodNotAllowed("POST");
    }
    const Status done = service_->logout(token, source);
    if (!done.isOk()) {
      return fromStatus(done, done.code() == StatusCode::PermissionDenied);
    }
    return okJson([](Writer& w) { str(w, "status", "logged out"); });
  }

  // Every other endpoint needs a live session.
  // Names the call in the audit record of a refused request (bounded: the path is the client's).
  const std::string action = method.substr(0, 16) + " " + std::string(top.substr(0, 64));
  // A bearer token wins; without one, a verified client certificate when that login is on.
  Result<Principal> who =
      token.empty() && !request.client_common_name.empty() &&
              service_->settings().client_certificate_login
          ? service_->authenticateCertificate(request.client_common_name, source, action)
          : service_->authenticate(token, source, action);
  if (!who.ok()) {
    return fromStatus(who.status(), true);
  }
  const Principal& p = *who;

  if (top == "session" && parts.size() == 1) {
    if (!get) {
      return methodNotAllowed("GET");
    }
    return okJson([&](Writer& w) {
      str(w, "username", p.username);
      str(w, "role", adminRoleName(p.role));
    });
  }

  if (top == "messages") {
    if (parts.size() == 1) {
      if (!get) {
        return methodNotAllowed("GET");
      }
      InboundQuery query;
      if (const std::string* c = request.queryParam("control_id")) {
        query.control_id = *c;
      }
      if (const std::string* s = request.queryParam("state")) {
        query.state = parseInboundState(*s);
        if (!query.state) {
          return jsonError(400, "state must be received, mapped, held or ignored");
        }
      }
      Result<std::optional<SystemTime>> from = timeParam(request, "from");
      Result<std::optional<SystemTime>> to = timeParam(request, "to");
      Result<std::size_t> limit = limitOf(request);
      Result<std::int64_t> after = afterIdOf(request);
      for (const Status& s : {from.status(), to.status(), limit.status(), after.status()}) {
        if (!s.isOk()) {
          return fromStatus(s);
        }
      }
      query.received_from = *from;
      query.received_before = *to;
      query.limit = *limit;
      query.after_id = *after;
      return pageJson(service_->searchMessages(p, query), "messages", query.limit, writeEvent);
    }
    const std::optional<std::int64_t> id = parseId(parts[1]);
    if (!id) {
      return jsonError(404, "no such message");
    }
    if (parts.size() == 2) {
      if (!get) {
        return methodNotAllowed("GET");
      }
      Result<MessageDetail> detail = service_->messageDetail(p, *id);
      if (!detail.ok()) {
        return fromStatus(detail.status());
      }
      return okJson([&](Writer& w) {
        w.Key("message");
        writeEvent(w, detail->record);
        w.Key("patient_messages");
        w.StartArray();
        for (const PatientMessageRecord& m : detail->patient_messages) {
          writePatientMessage(w, m);
        }
        w.EndArray();
      });
    }
    if (parts.size() == 3 && parts[2] == "payload") {
      if (!get && !post) {
        return methodNotAllowed("GET, POST");
      }
      Result<std::string> reason = reasonOnly(request, body);
      if (!reason.ok()) {
        return fromStatus(reason.status());
      }
      Result<std::string> payload = service_->messagePayload(p, *id, *reason);
      if (!payload.ok()) {
        return fromStatus(payload.status());
      }
      return okJson([&](Writer& w) {
        w.Key("id");
        w.Int64(*id);
        str(w, "reason", *reason);
        str(w, "payload", *payload);
      });
    }
    return jsonError(404, "no such endpoint");
  }

  if (top == "outbox") {
    if (parts.size() == 1) {
      if (!get) {
        return methodNotAllowed("GET");
      }
      MessageQuery query;
      if (const std::string* s = request.queryParam("state")) {
        query.state = parseMessageState(*s);
        if (!query.state) {
          return jsonError(400, "unknown patient message state");
        }
      }
      if (const std::string* e = request.queryParam("event_id")) {
        query.event_id = parseId(*e);
        if (!query.event_id) {
          return jsonError(400, "event_id must be a positive integer");
        }
      }
      Result<std::size_t> limit = limitOf(request);
      Result<std::int64_t> after = afterIdOf(request);
      if (!limit.ok() || !after.ok()) {
        return fromStatus(!limit.ok() ? limit.status() : after.status());
      }
      query.limit = *limit;
      query.after_id = *after;
      return pageJson(service_->searchOutbox(p, query), "patient_messages", query.limit,
                      writePatientMessage);
    }
    const std::optional<std::int64_t> id = parseId(parts[1]);
    if (id && parts.size() == 3 && parts[2] == "content") {
      if (!get && !post) {
        return methodNotAllowed("GET, POST");
      }
      Result<std::string> reason = reasonOnly(request, body);
      if (!reason.ok()) {
        return fromStatus(reason.status());
      }
      Result<MessageContent> content = service_->messageContent(p, *id, *reason);
      if (!content.ok()) {
        return fromStatus(content.status());
      }
      return okJson([&](Writer& w) {
        w.Key("id");
        w.Int64(*id);
        str(w, "reason", *reason);
        str(w, "language", content->language);
        str(w, "recipient_name", content->recipient_name);
        str(w, "email", content->email);
        str(w, "phone", content->phone);
        str(w, "subject", content->subject);
        str(w, "text", content->text);
        w.Key("quick_replies");
        w.StartArray();
        for (const QuickReply& q : content->quick_replies) {
          w.StartObject();
          str(w, "id", q.id);
          str(w, "label", q.label);
          w.EndObject();
        }
        w.EndArray();
      });
    }
    if (id && parts.size() == 3 && parts[2] == "replay") {
      if (!post) {
        return methodNotAllowed("POST");
      }
      Result<std::string> reason = reasonOnly(request, body);
      if (!reason.ok()) {
        return fromStatus(reason.status());
      }
      if (Status done = service_->replay(p, *id, *reason); !done.isOk()) {
        return fromStatus(done);
      }
      return okJson([&](Writer& w) {
        w.Key("id");
        w.Int64(*id);
        str(w, "state", "pending");
      });
    }
    return jsonError(404, "no such endpoint");
  }

  if (top == "work" && parts.size() == 1) {
    if (!get) {
      return methodNotAllowed("GET");
    }
    Result<std::vector<WorkItem>> work = service_->workList(p);
    if (!work.ok()) {
      return fromStatus(work.status());
    }
    return okJson([&](Writer& w) {
      w.Key("work");
      w.StartArray();
      for (const WorkItem& item : *work) {
        w.StartObject();
        str(w, "kind", item.kind);
        w.Key("id");
        w.Int64(item.id);
        str(w, "object", item.object);
        str(w, "detail", item.detail);
        time(w, "since", item.created_at);
        w.EndObject();
      }
      w.EndArray();
    });
  }

  if (top == "audit" && parts.size() == 2 && parts[1] == "verify") {
    if (!get && !post) {
      return methodNotAllowed("GET, POST");
    }
    Result<AuditVerifyOutcome> outcome = service_->verifyAudit(p);
    if (!outcome.ok()) {
      return fromStatus(outcome.status());
    }
    return okJson([&](Writer& w) {
      w.Key("ok");
      w.Bool(outcome->ok);
      if (outcome->ok) {
        w.Key("records");
        w.Int64(outcome->records);
        str(w, "root", outcome->root);
        w.Key("checkpoints");
        w.Int64(outcome->checkpoints);
        w.Key("checkpoint_size");
        w.Int64(outcome->checkpoint_size);
      } else {
        str(w, "error", outcome->error);
        w.Key("first_bad_seq");
        if (outcome->first_bad_seq > 0) {
          w.Int64(outcome->first_bad_seq);
        } else {
          w.Null();
        }
      }
    });
  }

  if ((top == "config" && parts.size() == 2 && parts[1] == "reload") ||
      (top == "keys" && parts.size() == 2 && parts[1] == "rotate")) {
    if (!post) {
      return methodNotAllowed("POST");
    }
    Result<std::string> reason = reasonOnly(request, body);
    if (!reason.ok()) {
      return fromStatus(reason.status());
    }
    if (top == "config") {
      if (Status done = service_->reloadConfig(p, *reason); !done.isOk()) {
        return fromStatus(done);
      }
      return okJson([](Writer& w) { str(w, "status", "reloaded"); });
    }
    Result<std::string> key_id = service_->rotateKeys(p, *reason);
    if (!key_id.ok()) {
      return fromStatus(key_id.status());
    }
    return okJson([&](Writer& w) {
      str(w, "key_id", *key_id);
      str(w, "note", "new writes use the new key once the gateway restarts");
    });
  }

  if (top == "users") {
    if (parts.size() == 1) {
      if (get) {
        Result<std::vector<AdminUser>> users = service_->listUsers(p);
        if (!users.ok()) {
          return fromStatus(users.status());
        }
        return okJson([&](Writer& w) {
          w.Key("users");
          w.StartArray();
          const SystemTime now = service_->now();
          for (const AdminUser& u : *users) {
            writeUser(w, u, now);
          }
          w.EndArray();
        });
      }
      if (!post) {
        return methodNotAllowed("GET, POST");
      }
      if (Status s = body.onlyKeys({"username", "role", "password"}); !s.isOk()) {
        return fromStatus(s);
      }
      Result<std::optional<std::string>> username = body.string("username");
      Result<std::optional<std::string>> role = body.string("role");
      Result<std::optional<std::string>> password = body.string("password");
      if (!username.ok() || !role.ok() || !password.ok() || !*username || !*role || !*password) {
        return jsonError(400, "a new user needs \"username\", \"role\" and \"password\" strings");
      }
      const std::optional<AdminRole> parsed = parseAdminRole(**role);
      if (!parsed) {
        return jsonError(400, "role must be viewer, operator or admin");
      }
      if (Status done = service_->createUser(p, **username, *parsed, **password); !done.isOk()) {
        return fromStatus(done);
      }
      HttpResponse created = okJson([&](Writer& w) {
        str(w, "username", **username);
        str(w, "role", adminRoleName(*parsed));
      });
      created.status = 201;
      return created;
    }
    if (parts.size() == 2) {
      if (!post && method != "PATCH") {
        return methodNotAllowed("POST, PATCH");
      }
      if (Status s = body.onlyKeys({"role", "password", "disabled", "unlock"}); !s.isOk()) {
        return fromStatus(s);
      }
      UserChange change;
      Result<std::optional<std::string>> role = body.string("role");
      Result<std::optional<std::string>> password = body.string("password");
      Result<std::optional<bool>> disabled = body.boolean("disabled");
      Result<std::optional<bool>> unlock = body.boolean("unlock");
      for (const Status& s :
           {role.status(), password.status(), disabled.status(), unlock.status()}) {
        if (!s.isOk()) {
          return fromStatus(s);
        }
      }
      if (*role) {
        change.role = parseAdminRole(**role);
        if (!change.role) {
          return jsonError(400, "role must be viewer, operator or admin");
        }
      }
      change.password = *password;
      change.disabled = *disabled;
      change.unlock = unlock->value_or(false);
      const std::string username(parts[1]);
      if (Status done = service_->updateUser(p, username, change); !done.isOk()) {
        return fromStatus(done);
      }
      return okJson([&](Writer& w) { str(w, "username", username); });
    }
  }
  return jsonError(404, "no such endpoint");
}

}  // namespace gw::admin
