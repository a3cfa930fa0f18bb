// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>

#include "adapters/inbound/fhir/FhirHandler.h"
#include "gateway/core/FhirIntake.h"
#include "gateway/fhir/CompactTree.h"
#include "gateway/store/sqlite/SqliteFhirClientState.h"
#include "tests/support/FailingStore.h"
#include "tests/support/FakeCipher.h"
#include "tests/support/InMemoryStore.h"
#include "tests/support/TestSupport.h"
#include "tests/unit/adapters/inbound/fhir/JwtTestKeys.h"

namespace gw::fhirin {
namespace {

constexpr const char* kAudience = "https://gateway.example.invalid/fhir";

class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t seconds) : now_(std::chrono::seconds(seconds)) {}
  SystemTime now() const override { return now_; }
  SteadyTime steadyNow() const override { return SteadyTime(std::chrono::seconds(1000)); }

 private:
  SystemTime now_;
};

constexpr std::int64_t kNow = 1795000000;

const std::string kMessage = R"({"resourceType":"Bundle","id":"MSG-1","type":"message","entry":[
  {"fullUrl":"urn:uuid:h1","resource":{"resourceType":"MessageHeader","id":"h1",
   "eventCoding":{"system":"http://terminology.hl7.org/CodeSystem/v2-0003","code":"R01"},
   "source":{"name":"SIM_EHR","endpoint":"https://ehr.example.invalid"}}},
  {"resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Testpatient"}]}}]})";
const std::string kObservation =
    R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Hb"}})";

http::HttpRequest post(const std::string& path, const std::string& body,
                       const std::string& content_type = "application/fhir+json") {
  http::HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.body = body;
  r.peer = "127.0.0.1:5000";
  if (!content_type.empty()) {
    r.headers["content-type"] = content_type;
  }
  return r;
}

rapidjson::Document json(const http::HttpResponse& response) {
  rapidjson::Document d;
  d.Parse(response.body.c_str());
  return d;
}

std::string header(const http::HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

// The OperationOutcome's first issue as "code|expression".
std::string issue(const http::HttpResponse& response) {
  const rapidjson::Document d = json(response);
  if (!d.IsObject() || !d.HasMember("issue")) {
    return "not an OperationOutcome: " + response.body;
  }
  const auto& i = d["issue"][0];
  std::string out = i["code"].GetString();
  if (i.HasMember("expression")) {
    out += std::string("|") + i["expression"][0].GetString();
  }
  return out;
}

class FhirHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override { make(); }

  void make(StatusCode fail = StatusCode::Ok) {
    clock_ = std::make_shared<FixedClock>(kNow);
    memory_ = std::make_shared<test::InMemoryStore>(clock_);
    store_ = std::make_shared<test::FailingStore>(memory_, 0);
    if (fail != StatusCode::Ok) {
      store_->failFrom(1, fail);
    }
    intake_ = std::make_unique<FhirIntake>(store_, std::make_shared<test::FakeCipher>(), clock_);
    settings_.auth.allow_unauthenticated = true;
    settings_.retry_after_seconds = 7;
    Result<std::unique_ptr<FhirHandler>> made =
        FhirHandler::create(settings_, *intake_, memory_.get(), clock_);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    handler_ = std::move(made).value();
  }

  std::vector<InboundEventRecord> stored() {
    Result<std::vector<InboundEventRecord>> rows = memory_->listInbound(InboundQuery{});
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<InboundEventRecord>{};
  }

  FhirSettings settings_;
  ClockPtr clock_;
  std::shared_ptr<test::InMemoryStore> memory_;
  std::shared_ptr<test::FailingStore> store_;
  std::unique_ptr<FhirIntake> intake_;
  std::unique_ptr<FhirHandler> handler_;
};

TEST(FhirStatusMappingTest, EachIntakeErrorHasOneHttpStatus) {
  EXPECT_EQ(httpStatusFor(Status::ok()), 200);
  EXPECT_EQ(httpStatusFor(Status::invalidArgument("x")), 422);
  EXPECT_EQ(httpStatusFor(Status::permissionDenied("x")), 403);
  EXPECT_EQ(httpStatusFor(Status::unavailable("x")), 503);
  EXPECT_EQ(httpStatusFor(Status::deadlineExceeded("x")), 503);
  EXPECT_EQ(httpStatusFor(Status::internal("x")), 500);
  EXPECT_EQ(httpStatusFor(Status::dataLoss("x")), 500);
  EXPECT_EQ(httpStatusFor(Status::parseError("x")), 500);
}

// Keeps what the handler hands to intake.
class RecordingSink final : public InboundSink {
 public:
  Result<IntakeReceipt> accept(InboundEvent event, Deadline) override {
    events.push_back(std::move(event));
    return IntakeReceipt{static_cast<std::int64_t>(events.size()), false};
  }
  std::vector<InboundEvent> events;
};

TEST(FhirHandlerParsedFormTest, HandsIntakeTheParsedFormOfTheBody) {
  auto clock = std::make_shared<FixedClock>(kNow);
  FhirSettings settings;
  settings.auth.allow_unauthenticated = true;
  RecordingSink sink;
  Result<std::unique_ptr<FhirHandler>> handler =
      FhirHandler::create(settings, sink, nullptr, clock);
  ASSERT_TRUE(handler.ok()) << handler.status().toString();
  const std::string xml = R"(<Observation xmlns="http://hl7.org/fhir"><id value="o1"/>
      <status value="final"/><code><text value="Hb"/></code></Observation>)";
  ASSERT_EQ((*handler)->handle(post("/fhir/$process-message", kMessage)).status, 200);
  ASSERT_EQ((*handler)->handle(post("/fhir/Observation", xml, "application/fhir+xml")).status,
            201);
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].payload, kMessage);  // the record stays the original bytes
  Result<fhir::Resource> message = fhir::fromCompactTree(sink.events[0].parsed_form);
  ASSERT_TRUE(message.ok()) << message.status().toString();
  EXPECT_TRUE(fhir::equivalent(message->root(), fhir::parseJson(kMessage)->root()));
  EXPECT_EQ(message->resolve("urn:uuid:h1")->resourceType(), "MessageHeader");
  Result<fhir::Resource> observation = fhir::fromCompactTree(sink.events[1].parsed_form);
  ASSERT_TRUE(observation.ok()) << observation.status().toString();
  EXPECT_TRUE(fhir::equivalent(observation->root(), fhir::parseJson(kObservation)->root()));
}

TEST_F(FhirHandlerTest, RoutesEachEndpointAndRefusesOthers) {
  EXPECT_EQ(handler_->handle(post("/fhir/$process-message", kMessage)).status, 200);
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", kObservation)).status, 201);
  EXPECT_EQ(handler_
                ->handle(post("/fhir/Bundle", R"({"resourceType":"Bundle","id":"c1",
      "type":"collection","entry":[]})"))
                .status,
            200);
  EXPECT_EQ(handler_
                ->handle(post("/fhir", R"({"resourceType":"Bundle","id":"c2",
      "type":"collection"})"))
                .status,
            200);
  EXPECT_EQ(handler_->handle(post("/fhir/Organization", "{}")).status, 404);
  EXPECT_EQ(issue(handler_->handle(post("/fhir/Organization", "{}"))), "not-supported");
  EXPECT_EQ(issue(handler_->handle(post("/fhir/a/b", "{}"))), "not-found");
  http::HttpRequest get = post("/fhir/Patient", "");
  get.method = "GET";
  const http::HttpResponse not_allowed = handler_->handle(get);
  EXPECT_EQ(not_allowed.status, 405);
  EXPECT_EQ(header(not_allowed, "Allow"), "POST");
  get.path = "/fhir/metadata";
  EXPECT_EQ(handler_->handle(get).status, 200);
  const http::HttpResponse post_metadata = handler_->handle(post("/fhir/metadata", ""));
  EXPECT_EQ(post_metadata.status, 405);
  EXPECT_EQ(header(post_metadata, "Allow"), "GET, HEAD");
  EXPECT_EQ(stored().size(), 4U);
}

TEST_F(FhirHandlerTest, MapsTheEventOntoInboundMetadata) {
  ASSERT_EQ(handler_->handle(post("/fhir/$process-message", kMessage)).status, 200);
  ASSERT_EQ(handler_->handle(post("/fhir/Observation", kObservation)).status, 201);
  const std::vector<InboundEventRecord> rows = stored();
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0].source, EventSource::Fhir);
  EXPECT_EQ(rows[0].listener, "fhir");
  EXPECT_EQ(rows[0].peer, "127.0.0.1:5000");
  EXPECT_EQ(rows[0].sending_application, "local");
  EXPECT_EQ(rows[0].sending_facility, "SIM_EHR");
  EXPECT_EQ(rows[0].control_id, "MSG-1");
  EXPECT_EQ(rows[0].message_type, "message/R01");
  EXPECT_EQ(rows[0].version, "4.0.1");
  EXPECT_EQ(rows[1].message_type, "Observation");
  EXPECT_EQ(rows[1].control_id.rfind("Observation/o1#", 0), 0U) << rows[1].control_id;
  EXPECT_EQ(rows[1].dedupe_key, FhirIntake::dedupeKey(rows[1]));
}

TEST_F(FhirHandlerTest, AResendIsAnsweredAgainAndStoredOnce) {
  const http::HttpResponse first = handler_->handle(post("/fhir/Observation", kObservation));
  const http::HttpResponse again = handler_->handle(post("/fhir/Observation", kObservation));
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(header(again, "X-Gateway-Duplicate"), "true");
  EXPECT_EQ(header(again, "X-Gateway-Event-Id"), header(first, "X-Gateway-Event-Id"));
  const http::HttpResponse message = handler_->handle(post("/fhir/$process-message", kMessage));
  const http::HttpResponse message_again =
      handler_->handle(post("/fhir/$process-message", kMessage));
  EXPECT_EQ(message_again.status, 200);
  EXPECT_EQ(header(message_again, "X-Gateway-Duplicate"), "true");
  const rapidjson::Document reply = json(message_again);
  EXPECT_STREQ(reply["entry"][0]["resource"]["response"]["identifier"].GetString(), "h1");
  EXPECT_STREQ(reply["entry"][0]["resource"]["response"]["code"].GetString(), "ok");
  EXPECT_EQ(stored().size(), 2U);
  EXPECT_EQ(stored()[0].duplicates, 1);
}

TEST_F(FhirHandlerTest, StoreUnavailableIs503WithRetryAfterAndNever2xx) {
  make(StatusCode::Unavailable);
  for (const auto& [path, body] :
       {std::pair<std::string, std::string>{"/fhir/$process-message", kMessage},
        {"/fhir/Observation", kObservation}}) {
    const http::HttpResponse r = handler_->handle(post(path, body));
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(header(r, "Retry-After"), "7");
    EXPECT_EQ(issue(r), "transient");
  }
  make(StatusCode::DeadlineExceeded);
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", kObservation)).status, 503);
  make(StatusCode::Internal);
  const http::HttpResponse bug = handler_->handle(post("/fhir/Observation", kObservation));
  EXPECT_EQ(bug.status, 500);
  EXPECT_EQ(issue(bug), "exception");
  EXPECT_EQ(memory_->eventCount(), 0U);
}

TEST_F(FhirHandlerTest, ShuttingDownIs503) {
  intake_->beginShutdown();
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", kObservation)).status, 503);
}

TEST_F(FhirHandlerTest, BadInputGetsAnOperationOutcomeAndNeverReachesTheStore) {
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", R"({"resourceType":"Obs)")).status, 400);
  EXPECT_EQ(issue(handler_->handle(post("/fhir/Observation",
                                        "{\"resourceType\":\"Observation\","
                                        "\"code\":{\"text\":3]}"))),
            "structure|Observation.code");
  EXPECT_EQ(issue(handler_->handle(
                post("/fhir/Observation", R"({"resourceType":"Observation","status":"final"})"))),
            "required|Observation.code");
  EXPECT_EQ(issue(handler_->handle(
                post("/fhir/Observation",
                     R"({"resourceType":"Observation","status":"done","code":{"text":"x"}})"))),
            "code-invalid|Observation.status");
  EXPECT_EQ(issue(handler_->handle(post("/fhir/Observation", kObservation, "text/plain"))),
            "not-supported");
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", kObservation, "")).status, 415);
  EXPECT_EQ(
      handler_
          ->handle(post("/fhir/Observation", kObservation, "application/fhir+json; charset=latin1"))
          .status,
      415);
  EXPECT_EQ(handler_->handle(post("/fhir/Patient", kObservation)).status, 400);
  EXPECT_EQ(issue(handler_->handle(post("/fhir/$process-message",
                                        R"({"resourceType":"Bundle","id":"b","type":"message",
                                           "entry":[{"resource":{"resourceType":"Patient"}}]})"))),
            "invalid|Bundle.entry[0].resource");
  EXPECT_EQ(issue(handler_->handle(post("/fhir/Bundle", R"({"resourceType":"Bundle",
      "type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]})"))),
            "required|Bundle.entry[0].request");
  EXPECT_EQ(handler_->handle(post("/fhir/Observation", "")).status, 400);
  EXPECT_EQ(memory_->eventCount(), 0U);
  const http::HttpResponse too_large = handler_->reject(413, "too large", post("/fhir/x", ""));
  EXPECT_EQ(too_large.status, 413);
  EXPECT_EQ(issue(too_large), "too-costly");
}

TEST_F(FhirHandlerTest, ContentTypeAndFormatChooseTheFormats) {
  const std::string xml =
      R"(<Observation xmlns="http://hl7.org/fhir"><id value="o1"/><status value="final"/>)"
      R"(<code><text value="Hb"/></code></Observation>)";
  const http::HttpResponse as_xml =
      handler_->handle(post("/fhir/Observation", xml, "application/fhir+xml"));
  EXPECT_EQ(as_xml.status, 201);
  EXPECT_EQ(as_xml.content_type, "application/fhir+xml; charset=utf-8");
  EXPECT_EQ(as_xml.body.rfind("<?xml", 0), 0U);
  // The JSON twin is the same event (same content digest).
  const http::HttpResponse as_json = handler_->handle(post("/fhir/Observation", kObservation));
  EXPECT_EQ(as_json.status, 200);
  EXPECT_EQ(header(as_json, "X-Gateway-Event-Id"), header(as_xml, "X-Gateway-Event-Id"));

  http::HttpRequest with_format = post("/fhir/Observation", xml, "application/fhir+xml");
  with_format.query.emplace_back("_format", "json");
  EXPECT_EQ(handler_->handle(with_format).content_type, "application/fhir+json; charset=utf-8");
  http::HttpRequest accept = post("/fhir/Observation", kObservation);
  accept.headers["accept"] = "text/html, application/fhir+xml;q=0.9";
  EXPECT_EQ(handler_->handle(accept).content_type, "application/fhir+xml; charset=utf-8");
  http::HttpRequest unknown = post("/fhir/Observation", kObservation);
  unknown.query.emplace_back("_format", "html");
  EXPECT_EQ(handler_->handle(unknown).status, 406);
  // Without Content-Type, _format names the body's format.
  http::HttpRequest format_only = post("/fhir/Observation", xml, "");
  format_only.query.emplace_back("_format", "xml");
  EXPECT_EQ(handler_->handle(format_only).status, 200);
}

// A Subscriptions Backport notification Bundle: type, events-since-subscription-start, the
// event numbers listed (none when empty) and the subscription status ("" for none).
std::string note(const std::string& type, int since, std::vector<int> events = {},
                 const std::string& status = "", const std::string& subscription = "Subscription/s1") {
  std::string params = R"({"name":"subscription","valueReference":{"reference":")" + subscription +
                       R"("}},{"name":"type","valueCode":")" + type +
                       R"("},{"name":"events-since-subscription-start","valueString":")" +
                       std::to_string(since) + "\"}";
  if (!status.empty()) {
    params += R"(,{"name":"status","valueCode":")" + status + "\"}";
  }
  for (const int event : events) {
    params += R"(,{"name":"notification-event","part":[{"name":"event-number","valueString":")" +
              std::to_string(event) + "\"}]}";
  }
  return R"({"resourceType":"Bundle","type":"history","entry":[{"resource":
      {"resourceType":"Parameters","parameter":[)" +
         params + "]}}]}";
}

TEST_F(FhirHandlerTest, SubscriptionGapsAreAuditedOnce) {
  auto note = [](const std::string& type, int since, int event) {
    return fhirin::note(type, since, event > 0 ? std::vector<int>{event} : std::vector<int>{});
  };
  const std::size_t audit_before = memory_->auditCount();
  EXPECT_EQ(handler_->handle(post("/fhir", note("handshake", 0, 0))).status, 200);
  EXPECT_EQ(handler_->handle(post("/fhir", note("event-notification", 1, 1))).status, 200);
  EXPECT_EQ(handler_->handle(post("/fhir", note("event-notification", 3, 3))).status, 200);
  EXPECT_EQ(handler_->handle(post("/fhir", note("event-notification", 3, 3))).status, 200);
  EXPECT_EQ(handler_->handle(post("/fhir", note("heartbeat", 3, 0))).status, 200);
  EXPECT_EQ(handler_->stats().subscription_gaps, 1U);
  // Two stored events (1 and 3, with 3 once), each with its "received" record, one resend
  // record, and one gap record.
  EXPECT_EQ(memory_->eventCount(), 2U);
  Result<std::vector<AuditRecord>> audit = memory_->listAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  std::vector<AuditRecord> gaps;
  for (const AuditRecord& r : *audit) {
    if (r.entry.action == "subscription_gap") {
      gaps.push_back(r);
    }
  }
  ASSERT_EQ(gaps.size(), 1U);
  EXPECT_EQ(gaps[0].entry.object, "subscription:Subscription/s1");
  EXPECT_EQ(gaps[0].entry.actor, "fhir_client:local");
  EXPECT_EQ(gaps[0].entry.outcome, "warning");
  EXPECT_NE(gaps[0].entry.reason.find("event 2 (1 event"), std::string::npos)
      << gaps[0].entry.reason;
  EXPECT_GT(memory_->auditCount(), audit_before);
  EXPECT_EQ(issue(handler_->handle(post("/fhir", note("bogus-type", 3, 0)))),
            "code-invalid|Bundle.entry[0].resource.parameter.where(name = 'type')");
}

TEST_F(FhirHandlerTest, QueryStatusIsAHeartbeatWithAStatusAndQueryEventFillsGaps) {
  ASSERT_EQ(handler_->handle(post("/fhir", note("handshake", 0, {}, "active"))).status, 200);
  ASSERT_EQ(handler_->handle(post("/fhir", note("event-notification", 1, {1}))).status, 200);
  // sst-2: a query-status carries the status.
  EXPECT_EQ(issue(handler_->handle(post("/fhir", note("query-status", 4)))),
            "required|Bundle.entry[0].resource.parameter.where(name = 'status')");
  // Answered (not stored); its count reveals events 2..4 never arrived.
  const http::HttpResponse status = handler_->handle(post("/fhir", note("query-status", 4, {}, "active")));
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(issue(status), "informational");
  EXPECT_NE(status.body.find("query-status received"), std::string::npos);
  EXPECT_EQ(header(status, "X-Gateway-Event-Id"), "");
  EXPECT_EQ(handler_->stats().subscription_gaps, 1U);
  EXPECT_EQ(memory_->eventCount(), 1U);
  // sst-1: a query-event lists its events.
  EXPECT_EQ(issue(handler_->handle(post("/fhir", note("query-event", 4)))),
            "required|Bundle.entry[0].resource.parameter.where(name = 'notification-event')");
  // The client fetched the missed events with $events and posts them: stored, no new gap, and a
  // resend of the same events is answered from the first commit.
  const http::HttpResponse events =
      handler_->handle(post("/fhir", note("query-event", 4, {2, 3, 4}, "active")));
  EXPECT_EQ(events.status, 200);
  EXPECT_EQ(header(events, "X-Gateway-Duplicate"), "false");
  EXPECT_EQ(memory_->eventCount(), 2U);
  const std::vector<InboundEventRecord> rows = stored();
  EXPECT_EQ(rows.back().message_type, "notification/query-event");
  EXPECT_EQ(rows.back().control_id, "Subscription/s1#2-4");
  EXPECT_EQ(header(handler_->handle(post("/fhir", note("query-event", 4, {2, 3, 4}, "active"))),
                   "X-Gateway-Duplicate"),
            "true");
  // Event 5 follows without a gap.
  EXPECT_EQ(handler_->handle(post("/fhir", note("event-notification", 5, {5}))).status, 200);
  EXPECT_EQ(handler_->stats().subscription_gaps, 1U);
}

class FhirHandlerAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_ = test::generateRsaKey();
    const std::filesystem::path pem = dir_.path() / "ehr.pub";
    test::writeFile(pem, test::publicKeyPem(rsa_.get()));
    settings_.auth.audience = kAudience;
    settings_.auth.clients.push_back({"ehr-a", "ehr-a", pem.string(), {}});
    settings_.auth.clients.push_back({"ehr-m", "ehr-m", "", {"ehr-mtls"}});
    clock_ = std::make_shared<FixedClock>(kNow);
    store_ = std::make_shared<test::InMemoryStore>(clock_);
    intake_ = std::make_unique<FhirIntake>(store_, std::make_shared<test::FakeCipher>(), clock_);
    Result<std::unique_ptr<FhirHandler>> made =
        FhirHandler::create(settings_, *intake_, store_.get(), clock_);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    handler_ = std::move(made).value();
  }

  http::HttpResponse send(const std::string& token, const std::string& subject = "") {
    http::HttpRequest r = post("/fhir/Observation", kObservation);
    if (!token.empty()) {
      r.headers["authorization"] = "Bearer " + token;
    }
    r.client_common_name = subject;
    r.client_subject = subject.empty() ? "" : "CN=" + subject;
    return handler_->handle(r);
  }

  // A token with a fresh jti each time (unless one is given).
  std::string token(std::int64_t exp, const std::string& aud = kAudience, std::string jti = "") {
    if (jti.empty()) {
      jti = "jti-" + std::to_string(++tokens_made_);
    }
    return test::signJwt(rsa_.get(), R"({"alg":"RS384"})",
                         R"({"iss":"ehr-a","aud":")" + aud + R"(","exp":)" + std::to_string(exp) +
                             R"(,"jti":")" + jti + "\"}");
  }

  int tokens_made_ = 0;

  test::TempDir dir_;
  test::TestKey rsa_;
  FhirSettings settings_;
  ClockPtr clock_;
  std::shared_ptr<test::InMemoryStore> store_;
  std::unique_ptr<FhirIntake> intake_;
  std::unique_ptr<FhirHandler> handler_;
};

TEST_F(FhirHandlerAuthTest, NeedsCredentials) {
  const http::HttpResponse r = send("");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer realm=\"fhir\"");
  EXPECT_EQ(issue(r), "login");
  http::HttpRequest basic = post("/fhir/Observation", kObservation);
  basic.headers["authorization"] = "Basic dXNlcjpwYXNz";
  EXPECT_EQ(handler_->handle(basic).status, 401);
}

TEST_F(FhirHandlerAuthTest, AValidTokenNamesTheClient) {
  EXPECT_EQ(send(token(kNow + 120)).status, 201);
  Result<std::vector<InboundEventRecord>> rows = store_->listInbound(InboundQuery{});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1U);
  EXPECT_EQ((*rows)[0].sending_application, "ehr-a");
}

TEST_F(FhirHandlerAuthTest, ExpiredAndWrongAudienceTokensAre401) {
  const http::HttpResponse expired = send(token(kNow - 3600));
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("token expired"), std::string::npos);
  const http::HttpResponse wrong = send(token(kNow + 60, "https://other.example.invalid"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("wrong audience"), std::string::npos);
  EXPECT_EQ(store_->eventCount(), 0U);
}

TEST_F(FhirHandlerAuthTest, AReplayedTokenIs401) {
  const std::string once = token(kNow + 120);
  EXPECT_EQ(send(once).status, 201);
  const http::HttpResponse replay = send(once);
  EXPECT_EQ(replay.status, 401);
  EXPECT_EQ(issue(replay), "login");
  EXPECT_NE(replay.body.find("token replayed"), std::string::npos);
  EXPECT_EQ(store_->eventCount(), 1U);
  EXPECT_EQ(send(token(kNow + 120)).status, 200);  // a new jti: the same Observation, a resend
}

TEST_F(FhirHandlerAuthTest, ATokenLivingLongerThanFiveMinutesIs401) {
  // Default max_token_lifetime_seconds = 300, leeway 60.
  EXPECT_EQ(send(token(kNow + 360)).status, 201);
  const http::HttpResponse r = send(token(kNow + 361));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("token lifetime too long"), std::string::npos);
}

// A replay ledger that cannot answer.
class DownLedger final : public TokenReplayLedger {
 public:
  Result<bool> firstUse(const std::string&, const std::string&, SystemTime, SystemTime) override {
    return Status::unavailable("store is closing");
  }
};

TEST_F(FhirHandlerAuthTest, AReplayCheckThatCannotBeMadeIs503) {
  DownLedger down;
  Result<std::unique_ptr<FhirHandler>> made =
      FhirHandler::create(settings_, *intake_, store_.get(), clock_, &down);
  ASSERT_TRUE(made.ok()) << made.status().toString();
  handler_ = std::move(made).value();
  const http::HttpResponse r = send(token(kNow + 120));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(issue(r), "transient");
  EXPECT_FALSE(header(r, "Retry-After").empty());
  EXPECT_EQ(store_->eventCount(), 0U);
}

TEST_F(FhirHandlerAuthTest, MutualTlsClientsByCertificateSubject) {
  EXPECT_EQ(send("", "ehr-mtls").status, 201);
  const http::HttpResponse stranger = send("", "someone-else");
  EXPECT_EQ(stranger.status, 403);
  EXPECT_EQ(issue(stranger), "forbidden");
  EXPECT_EQ(send(token(kNow + 60), "ehr-mtls").status, 403);  // two different clients
}

TEST_F(FhirHandlerAuthTest, MetadataNeedsNoCredentials) {
  http::HttpRequest r = post("/fhir/metadata", "");
  r.method = "GET";
  const http::HttpResponse cs = handler_->handle(r);
  EXPECT_EQ(cs.status, 200);
  EXPECT_EQ(json(cs)["resourceType"], "CapabilityStatement");
}

// Used token ids and subscription state in the SQLite store survive a restart of the handler.
TEST_F(FhirHandlerAuthTest, TokenIdsAndSubscriptionStateSurviveARestart) {
  SqliteStoreSettings sqlite_settings;
  sqlite_settings.path = (dir_.path() / "gateway.db").string();
  Result<std::shared_ptr<SqliteStore>> sqlite = SqliteStore::open(sqlite_settings, clock_);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().toString();
  auto state = std::make_shared<SqliteFhirClientState>(*sqlite);
  FhirIntake intake(*sqlite, std::make_shared<test::FakeCipher>(), clock_);
  auto start = [&] {
    Result<std::unique_ptr<FhirHandler>> made = FhirHandler::create(
        settings_, intake, sqlite->get(), clock_, state.get(), state.get());
    EXPECT_TRUE(made.ok()) << made.status().toString();
    return std::move(made).value();
  };
  auto notify = [&](FhirHandler& handler, const std::string& body, const std::string& bearer) {
    http::HttpRequest r = post("/fhir", body);
    r.headers["authorization"] = "Bearer " + bearer;
    return handler.handle(r).status;
  };
  const std::string used = token(kNow + 120, kAudience, "used-once");
  {
    std::unique_ptr<FhirHandler> first = start();
    EXPECT_EQ(notify(*first, note("handshake", 0, {}, "requested"), used), 200);
    EXPECT_EQ(notify(*first, note("event-notification", 1, {1}), token(kNow + 120)), 200);
  }
  std::unique_ptr<FhirHandler> second = start();  // a restart
  EXPECT_EQ(notify(*second, note("heartbeat", 1), used), 401);  // still a replay
  // Event 3 after the restart: event 2 is noticed missing (the counter was kept).
  EXPECT_EQ(notify(*second, note("event-notification", 3, {3}, "active"), token(kNow + 120)), 200);
  EXPECT_EQ(second->stats().subscription_gaps, 1U);
  Result<std::vector<SubscriptionRecord>> saved = state->listSubscriptions();
  ASSERT_TRUE(saved.ok()) << saved.status().toString();
  ASSERT_EQ(saved->size(), 1U);
  const SubscriptionRecord& r = saved->front();
  EXPECT_EQ(r.client, "ehr-a");
  EXPECT_EQ(r.subscription, "Subscription/s1");
  EXPECT_EQ(r.highest_event, 3);
  EXPECT_EQ(r.gaps, 1);
  EXPECT_EQ(r.missed_events, 1);
  EXPECT_EQ(r.last_type, "event-notification");
  EXPECT_EQ(r.last_status, "active");
  EXPECT_NE(r.last_gap.find("event 2 (1 event"), std::string::npos) << r.last_gap;
  // The gap's audit record is in the store's trail.
  Result<std::vector<AuditRecord>> audit = (*sqlite)->listAudit(0, 100);
  ASSERT_TRUE(audit.ok());
  std::size_t gap_records = 0;
  for (const AuditRecord& a : *audit) {
    gap_records += a.entry.action == "subscription_gap" ? 1 : 0;
  }
  EXPECT_EQ(gap_records, 1U);
  // An expired token id is forgotten: the same jti is new again once its token is long gone.
  EXPECT_TRUE(*state->firstUse("ehr-a", "old", SystemTime(std::chrono::seconds(kNow - 10)),
                               SystemTime(std::chrono::seconds(kNow - 20))));
  EXPECT_FALSE(*state->firstUse("ehr-a", "old", SystemTime(std::chrono::seconds(kNow - 10)),
                                SystemTime(std::chrono::seconds(kNow - 15))));
  EXPECT_TRUE(*state->firstUse("ehr-a", "old", SystemTime(std::chrono::seconds(kNow + 100)),
                               SystemTime(std::chrono::seconds(kNow))));
  EXPECT_TRUE(*state->firstUse("ehr-b", "used-once", SystemTime(std::chrono::seconds(kNow + 100)),
                               SystemTime(std::chrono::seconds(kNow))));  // per client
}

TEST(FhirHandlerCreateTest, AnUnreadablePublicKeyIsAConfigError) {
  FhirSettings settings;
  settings.auth.audience = kAudience;
  settings.auth.clients.push_back({"ehr-a", "ehr-a", "/nonexistent/ehr.pub", {}});
  auto clock = std::make_shared<FixedClock>(kNow);
  auto store = std::make_shared<test::InMemoryStore>(clock);
  FhirIntake intake(store, std::make_shared<test::FakeCipher>(), clock);
  Result<std::unique_ptr<FhirHandler>> made = FhirHandler::create(settings, intake, nullptr, clock);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(made.status().message().find("ehr-a"), std::string::npos);
}

}  // namespace
}  // namespace gw::fhirin
