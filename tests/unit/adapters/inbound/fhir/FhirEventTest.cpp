// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "adapters/inbound/fhir/FhirEvent.h"
#include "adapters/inbound/fhir/SubscriptionTracker.h"
#include "tests/support/InMemoryStore.h"
#include "tests/support/ManualClock.h"

namespace gw::fhirin {
namespace {

fhir::Resource json(const std::string& text) {
  Result<fhir::Resource> r = fhir::parseJson(text);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return std::move(r).value();
}

fhir::Resource xml(const std::string& text) {
  Result<fhir::Resource> r = fhir::parseXml(text);
  EXPECT_TRUE(r.ok()) << r.status().toString();
  return std::move(r).value();
}

TEST(FhirEventTest, MessageIdFallsBackToTheMessageHeaderAndEventUriIsTheEvent) {
  FhirEventInfo info;
  const fhir::Resource message = json(R"({"resourceType":"Bundle","type":"message","entry":[
      {"resource":{"resourceType":"MessageHeader","id":"h-9",
       "eventUri":"http://example.invalid/event/discharge","source":{"endpoint":"urn:ehr"}}}]})");
  EXPECT_FALSE(classify(message, Route::ProcessMessage, "", info));
  EXPECT_EQ(info.control_id, "h-9");
  EXPECT_TRUE(info.event_is_uri);
  EXPECT_EQ(info.message_type, "message/http://example.invalid/event/discharge");
  EXPECT_EQ(info.sending_facility, "urn:ehr");
}

TEST(FhirEventTest, MessageRulesNameTheOffendingElement) {
  FhirEventInfo info;
  std::optional<RequestProblem> p = classify(json(R"({"resourceType":"Bundle","type":"batch"})"),
                                             Route::ProcessMessage, "", info);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 422);
  EXPECT_EQ(p->expression, "Bundle.type");
  p = classify(json(R"({"resourceType":"Bundle","type":"message","entry":[{"resource":
      {"resourceType":"MessageHeader","source":{"endpoint":"urn:x"}}}]})"),
               Route::ProcessMessage, "", info);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->expression, "Bundle.entry[0].resource.event");
  p = classify(json(R"({"resourceType":"Bundle","type":"message","entry":[{"resource":
      {"resourceType":"MessageHeader","eventCoding":{"code":"A01"}}}]})"),
               Route::ProcessMessage, "", info);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->expression, "Bundle.id");
  p = classify(json(R"({"resourceType":"Patient"})"), Route::ProcessMessage, "", info);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 422);
}

TEST(FhirEventTest, BundleIdsAndContentDigestsAreTheControlIds) {
  FhirEventInfo info;
  EXPECT_FALSE(classify(json(R"({"resourceType":"Bundle","id":"t1","type":"transaction","entry":[
      {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]})"),
                        Route::Bundle, "", info));
  EXPECT_EQ(info.control_id, "Bundle/t1");
  EXPECT_EQ(info.message_type, "Bundle/transaction");
  EXPECT_EQ(info.entry_count, 1U);
  EXPECT_FALSE(
      classify(json(R"({"resourceType":"Bundle","type":"collection"})"), Route::Bundle, "", info));
  EXPECT_EQ(info.control_id.rfind("Bundle#", 0), 0U);
  EXPECT_EQ(info.control_id.size(), 7U + 32U);
  EXPECT_FALSE(classify(json(R"({"resourceType":"Patient","id":"p","meta":{"versionId":"3"}})"),
                        Route::Resource, "Patient", info));
  EXPECT_EQ(info.control_id, "Patient/p/_history/3");
}

TEST(FhirEventTest, JsonAndXmlOfTheSameResourceHaveTheSameDigest) {
  const fhir::Resource a = json(R"({"resourceType":"Patient","id":"p","active":true,
      "name":[{"family":"Testpatient","given":["Alexa"]}]})");
  const fhir::Resource b = xml(R"(<Patient xmlns="http://hl7.org/fhir"><id value="p"/>)"
                               R"(<active value="true"/><name><family value="Testpatient"/>)"
                               R"(<given value="Alexa"/></name></Patient>)");
  const fhir::Resource c = json(R"({"resourceType":"Patient","id":"p","active":false})");
  EXPECT_EQ(contentDigest(a.root()), contentDigest(b.root()));
  EXPECT_NE(contentDigest(a.root()), contentDigest(c.root()));
  FhirEventInfo ia, ib;
  EXPECT_FALSE(classify(a, Route::Resource, "Patient", ia));
  EXPECT_FALSE(classify(b, Route::Resource, "Patient", ib));
  EXPECT_EQ(ia.control_id, ib.control_id);
}

TEST(FhirEventTest, ReadsBackportNotifications) {
  FhirEventInfo info;
  const fhir::Resource note = json(R"({"resourceType":"Bundle","type":"history","entry":[
      {"resource":{"resourceType":"Parameters","parameter":[
        {"name":"subscription","valueReference":{"reference":"https://ehr.invalid/Subscription/s"}},
        {"name":"type","valueCode":"event-notification"},
        {"name":"events-since-subscription-start","valueString":"12"},
        {"name":"notification-event","part":[{"name":"event-number","valueString":"11"}]},
        {"name":"notification-event","part":[{"name":"event-number","valueString":"12"}]}]}}]})");
  EXPECT_FALSE(classify(note, Route::Bundle, "", info));
  EXPECT_EQ(info.notification, NotificationType::EventNotification);
  EXPECT_EQ(info.subscription, "https://ehr.invalid/Subscription/s");
  EXPECT_EQ(info.first_event_number, 11);
  EXPECT_EQ(info.last_event_number, 12);
  EXPECT_EQ(info.control_id, "https://ehr.invalid/Subscription/s#11-12");
  EXPECT_EQ(info.message_type, "notification/event-notification");
  const fhir::Resource bad = json(R"({"resourceType":"Bundle","type":"history","entry":[
      {"resource":{"resourceType":"Parameters","parameter":[
        {"name":"subscription","valueReference":{"reference":"Subscription/s"}},
        {"name":"type","valueCode":"event-notification"}]}}]})");
  const std::optional<RequestProblem> p = classify(bad, Route::Bundle, "", info);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 422);
}

// Drives a SubscriptionTracker the way the handler does.
class SubscriptionTrackerTest : public ::testing::Test {
 protected:
  std::optional<EventGap> events(const std::string& client, std::int64_t first, std::int64_t last,
                                 NotificationType type = NotificationType::EventNotification) {
    SubscriptionNotification n;
    n.client = client;
    n.subscription = "s";
    n.type = type;
    n.first_event = first;
    n.last_event = last;
    return tracker_.observe(n).gap;
  }
  std::optional<EventGap> count(std::int64_t since,
                                NotificationType type = NotificationType::Heartbeat) {
    SubscriptionNotification n;
    n.client = "c";
    n.subscription = "s";
    n.type = type;
    n.events_since_start = since;
    n.status = type == NotificationType::QueryStatus ? "active" : "";
    return tracker_.observe(n).gap;
  }
  void handshake() {
    SubscriptionNotification n;
    n.client = "c";
    n.subscription = "s";
    n.type = NotificationType::Handshake;
    EXPECT_TRUE(tracker_.observe(n).saved.isOk());
  }

  test::InMemoryStore audit_{std::make_shared<test::ManualClock>()};
  SubscriptionTracker tracker_{nullptr, &audit_, std::make_shared<test::ManualClock>()};
};

TEST_F(SubscriptionTrackerTest, ReportsSkippedNumbersOnceAndResetsOnHandshake) {
  EXPECT_FALSE(events("c", 5, 5));  // baseline after a restart without a ledger: no gap known
  EXPECT_FALSE(events("c", 6, 7));
  EXPECT_FALSE(events("c", 6, 7));  // a resend
  const std::optional<EventGap> gap = events("c", 10, 10);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->first_missing, 8);
  EXPECT_EQ(gap->last_missing, 9);
  EXPECT_EQ(gap->count(), 2);
  EXPECT_FALSE(events("other-client", 1, 1));
  const std::optional<EventGap> beat = count(12);
  ASSERT_TRUE(beat);
  EXPECT_EQ(beat->first_missing, 11);
  EXPECT_FALSE(count(12));
  handshake();
  EXPECT_FALSE(events("c", 1, 1));
  EXPECT_EQ(tracker_.gaps(), 2U);
  EXPECT_EQ(audit_.auditCount(), 2U);  // without a ledger, each gap goes to the audit store
}

TEST_F(SubscriptionTrackerTest, QueryStatusCountsLikeAHeartbeatAndQueryEventNeverIsAGap) {
  handshake();
  EXPECT_FALSE(events("c", 1, 1));
  const std::optional<EventGap> status = count(4, NotificationType::QueryStatus);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->first_missing, 2);
  EXPECT_EQ(status->last_missing, 4);
  // Events fetched with $events, out of order and overlapping: no gap, highest kept.
  EXPECT_FALSE(events("c", 2, 3, NotificationType::QueryEvent));
  EXPECT_FALSE(events("c", 9, 9, NotificationType::QueryEvent));
  EXPECT_FALSE(events("c", 10, 10));
  EXPECT_FALSE(count(10, NotificationType::QueryStatus));
  EXPECT_EQ(tracker_.gaps(), 1U);
}

TEST(FhirEventNotificationTest, QueryStatusNeedsAStatusAndQueryEventItsEvents) {
  auto bundle = [](const std::string& params) {
    return std::move(fhir::parseJson(
        R"({"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":
        "Parameters","parameter":[{"name":"subscription","valueReference":{"reference":
        "Subscription/s"}},)" +
        params + "]}}]}")).value();
  };
  FhirEventInfo info;
  const fhir::Resource status = bundle(
      R"({"name":"type","valueCode":"query-status"},{"name":"status","valueCode":"error"},
         {"name":"events-since-subscription-start","valueString":"7"})");
  EXPECT_FALSE(classify(status, Route::Bundle, "", info));
  EXPECT_EQ(info.notification, NotificationType::QueryStatus);
  EXPECT_EQ(info.subscription_status, "error");
  EXPECT_EQ(info.events_since_start, 7);
  EXPECT_FALSE(info.stored());
  EXPECT_EQ(info.message_type, "notification/query-status");

  FhirEventInfo missing;
  const std::optional<RequestProblem> p =
      classify(bundle(R"({"name":"type","valueCode":"query-status"})"), Route::Bundle, "", missing);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 422);
  EXPECT_EQ(p->expression, "Bundle.entry[0].resource.parameter.where(name = 'status')");

  FhirEventInfo events;
  EXPECT_FALSE(classify(
      bundle(R"({"name":"type","valueCode":"query-event"},
         {"name":"notification-event","part":[{"name":"event-number","valueString":"3"}]},
         {"name":"notification-event","part":[{"name":"event-number","valueString":"2"}]})"),
      Route::Bundle, "", events));
  EXPECT_EQ(events.notification, NotificationType::QueryEvent);
  EXPECT_TRUE(events.stored());
  EXPECT_EQ(events.control_id, "Subscription/s#2-3");
  EXPECT_EQ(events.message_type, "notification/query-event");

  FhirEventInfo long_reference;
  const std::optional<RequestProblem> too_long = classify(
      std::move(fhir::parseJson(
                    R"({"resourceType":"Bundle","type":"history","entry":[{"resource":{
        "resourceType":"Parameters","parameter":[{"name":"subscription","valueReference":{
        "reference":"Subscription/)" +
                    std::string(200, 's') + R"("}},{"name":"type","valueCode":"heartbeat"}]}}]})"))
          .value(),
      Route::Bundle, "", long_reference);
  ASSERT_TRUE(too_long);
  EXPECT_EQ(too_long->status, 422);
  EXPECT_EQ(too_long->expression, "Bundle.entry[0].resource.parameter.where(name = 'subscription')");

  FhirEventInfo bare;
  const std::optional<RequestProblem> q = classify(
      bundle(R"({"name":"type","valueCode":"query-event"},
         {"name":"events-since-subscription-start","valueString":"3"})"),
      Route::Bundle, "", bare);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->status, 422);
}

}  // namespace
}  // namespace gw::fhirin
