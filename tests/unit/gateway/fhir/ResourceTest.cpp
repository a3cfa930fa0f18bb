// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "gateway/fhir/Resource.h"
#include "tests/unit/gateway/fhir/ResourceOrFail.h"

namespace gw::fhir {
namespace {

Resource json(std::string_view text) { return test::resourceOrFail(parseJson(text)); }

TEST(ResourceTest, CanonicalJsonSortsNamesAndKeepsRepetitionOrder) {
  const Resource r = json(R"({"resourceType":"Patient","name":[{"given":["b","a"],"family":"F"}],
      "id":"x","_birthDate":{"id":"q\"1"},"birthDate":"1970"})");
  EXPECT_EQ(canonicalJson(r.root()),
            R"({"@resourceType":"Patient","birthDate":[{"@value":"1970","id":[{"@value":"q\"1"}]}],)"
            R"("id":[{"@value":"x"}],"name":[{"family":[{"@value":"F"}],)"
            R"("given":[{"@value":"b"},{"@value":"a"}]}]})");
}

TEST(ResourceTest, EquivalentIgnoresPropertyOrderButNotRepetitionOrder) {
  const Resource a = json(R"({"resourceType":"Patient","id":"x","name":[{"given":["a","b"]}]})");
  const Resource b = json(R"({"name":[{"given":["a","b"]}],"id":"x","resourceType":"Patient"})");
  const Resource c = json(R"({"resourceType":"Patient","id":"x","name":[{"given":["b","a"]}]})");
  const Resource d = json(R"({"resourceType":"Basic","id":"x","name":[{"given":["a","b"]}]})");
  EXPECT_TRUE(equivalent(a.root(), b.root()));
  EXPECT_EQ(canonicalJson(a.root()), canonicalJson(b.root()));
  EXPECT_FALSE(equivalent(a.root(), c.root()));
  EXPECT_FALSE(equivalent(a.root(), d.root()));
  EXPECT_EQ(firstDifference(a.root(), b.root()), std::nullopt);
  EXPECT_EQ(firstDifference(a.root(), c.root()), "Patient.name.given[0]");
  EXPECT_EQ(firstDifference(a.root(), d.root()), "Patient");
}

TEST(ResourceTest, FirstDifferenceNamesMissingAndExtraElements) {
  const Resource a = json(R"({"resourceType":"Observation","meta":{"versionId":"1"},"status":"final"})");
  const Resource b = json(R"({"resourceType":"Observation","status":"final"})");
  const Resource c = json(R"({"resourceType":"Observation","status":"final","code":{}})");
  const Resource e = json(R"({"resourceType":"Observation","status":"final","component":[{},{"id":"2"}]})");
  const Resource f = json(R"({"resourceType":"Observation","status":"final","component":[{},{"id":"3"}]})");
  EXPECT_EQ(firstDifference(a.root(), b.root()), "Observation.meta");
  EXPECT_EQ(firstDifference(b.root(), c.root()), "Observation.code");
  EXPECT_EQ(firstDifference(e.root(), f.root()), "Observation.component[1].id");
  // A value is not a missing value: "" differs from absent.
  const Resource g = json(R"({"resourceType":"Patient","gender":""})");
  const Resource h = json(R"({"resourceType":"Patient","_gender":{}})");
  EXPECT_EQ(firstDifference(g.root(), h.root()), "Patient.gender");
}

TEST(ResourceTest, NodePathsIndexRepeatedElements) {
  const Resource r = json(R"({"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient",
      "name":[{"given":["a"]}]}},{"resource":{"resourceType":"Patient","name":[{"given":["b","c"]}]}}]})");
  const Node* second = r.entries()[1];
  const Node* given = second->child("resource")->child("name")->firstChild()->nextSibling();
  EXPECT_EQ(given->path(), "Bundle.entry[1].resource.name.given[1]");
  EXPECT_EQ(r.root().path(), "Bundle");
}

TEST(ResourceTest, MovingKeepsNodesValid) {
  Result<Resource> parsed = parseJson(R"({"resourceType":"Patient","id":"p"})");
  ASSERT_TRUE(parsed.ok());
  const Node* root = &parsed->root();
  const std::string_view id = parsed->id();
  Resource moved = std::move(parsed).value();
  Resource again = std::move(moved);
  EXPECT_EQ(&again.root(), root);
  EXPECT_EQ(again.id().data(), id.data());
  EXPECT_EQ(again.id(), "p");
}

TEST(ResourceTest, BundleEntriesAndType) {
  const Resource r = json(R"({"resourceType":"Bundle","type":"message","entry":[
      {"fullUrl":"urn:uuid:h","resource":{"resourceType":"MessageHeader","id":"h"}},
      {"request":{"method":"DELETE","url":"Patient/1"}},
      {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p"}}]})");
  EXPECT_TRUE(r.isBundle());
  EXPECT_EQ(r.bundleType(), "message");
  ASSERT_EQ(r.entries().size(), 3u);
  EXPECT_EQ(Resource::entryResource(*r.entries()[0])->resourceType(), "MessageHeader");
  EXPECT_EQ(Resource::entryResource(*r.entries()[1]), nullptr);
  EXPECT_EQ(Resource::entryResource(*r.entries()[2])->childValue("id"), "p");

  const Resource single = json(R"({"resourceType":"Patient","type":"x"})");
  EXPECT_FALSE(single.isBundle());
  EXPECT_EQ(single.bundleType(), "");
  EXPECT_TRUE(single.entries().empty());
}

class ResolveTest : public ::testing::Test {
 protected:
  ResolveTest()
      : bundle_(json(R"({"resourceType":"Bundle","type":"collection","entry":[
          {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
           "resource":{"resourceType":"Observation","id":"o1",
             "subject":{"reference":"urn:uuid:22222222-2222-2222-2222-222222222222"},
             "performer":[{"reference":"Practitioner/pr1"},{"reference":"#c1"},{"reference":"#"}],
             "contained":[{"resourceType":"Specimen","id":"c1","subject":{"reference":"#"}}]}},
          {"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222",
           "resource":{"resourceType":"Patient","id":"p1"}},
          {"fullUrl":"http://a.example/fhir/Practitioner/pr1",
           "resource":{"resourceType":"Practitioner","id":"pr1"}},
          {"fullUrl":"http://b.example/fhir/Practitioner/pr1",
           "resource":{"resourceType":"Practitioner","id":"pr1"}},
          {"fullUrl":"http://b.example/fhir/Encounter/e1",
           "resource":{"resourceType":"Encounter","id":"e1",
             "participant":[{"individual":{"reference":"Practitioner/pr1/_history/3"}}]}},
          {"fullUrl":"urn:uuid:33333333-3333-3333-3333-333333333333",
           "resource":{"resourceType":"Organization","id":"org"}}]})")) {}

  const Node& entry(std::size_t i) const { return *Resource::entryResource(*bundle_.entries()[i]); }

  Resource bundle_;
};

TEST_F(ResolveTest, AbsoluteReferencesMatchFullUrl) {
  const Node* subject = entry(0).child("subject");
  EXPECT_EQ(bundle_.resolve(subject->childValue("reference"), subject), &entry(1));
  EXPECT_EQ(bundle_.resolve("urn:uuid:33333333-3333-3333-3333-333333333333"), &entry(5));
  EXPECT_EQ(bundle_.resolve("urn:uuid:00000000-0000-0000-0000-000000000000"), nullptr);
  EXPECT_EQ(bundle_.resolve("http://a.example/fhir/Practitioner/pr1"), &entry(2));
}

TEST_F(ResolveTest, RelativeReferencesMatchTypeAndId) {
  EXPECT_EQ(bundle_.resolve("Patient/p1"), &entry(1));
  EXPECT_EQ(bundle_.resolve("Organization/org"), &entry(5));
  EXPECT_EQ(bundle_.resolve("Patient/nope"), nullptr);
  EXPECT_EQ(bundle_.resolve(""), nullptr);
}

TEST_F(ResolveTest, AmbiguousRelativeReferenceResolvesToNothing) {
  // Two Practitioner/pr1 entries and the referencing entry has a urn:uuid fullUrl (no base).
  const Node* performer = entry(0).child("performer");
  EXPECT_EQ(bundle_.resolve("Practitioner/pr1", performer), nullptr);
  EXPECT_EQ(bundle_.resolve("Practitioner/pr1"), nullptr);
}

TEST_F(ResolveTest, RelativeReferenceUsesTheRestfulBaseOfItsEntry) {
  const Node* individual = entry(4).child("participant")->child("individual");
  EXPECT_EQ(bundle_.resolve(individual->childValue("reference"), individual), &entry(3));
}

TEST_F(ResolveTest, ContainedReferences) {
  const Node* performer = entry(0).child("performer");
  const Node* contained = entry(0).child("contained");
  EXPECT_EQ(bundle_.resolve("#c1", performer), contained);
  EXPECT_EQ(bundle_.resolve("#", performer), &entry(0));
  // From inside the contained resource, "#" is its container.
  EXPECT_EQ(bundle_.resolve("#", contained->child("subject")), &entry(0));
  EXPECT_EQ(bundle_.resolve("#c1"), nullptr);  // no context
  EXPECT_EQ(bundle_.resolve("#zz", performer), nullptr);
}

TEST(ResourceTest, ResolveInsideASingleResource) {
  const Resource r = json(R"({"resourceType":"Patient","id":"p",
      "managingOrganization":{"reference":"#org"},
      "contained":[{"resourceType":"Organization","id":"org"}]})");
  const Node* managing = r.root().child("managingOrganization");
  EXPECT_EQ(r.resolve("#org", managing), r.root().child("contained"));
  EXPECT_EQ(r.resolve("Patient/p", managing), nullptr);  // not a Bundle: no entries
}

}  // namespace
}  // namespace gw::fhir
