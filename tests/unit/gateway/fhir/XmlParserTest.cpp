// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gateway/fhir/Resource.h"
#include "tests/unit/gateway/fhir/ResourceOrFail.h"
#include "tests/support/TestSupport.h"

namespace gw::fhir {
namespace {

constexpr char kNs[] = "xmlns=\"http://hl7.org/fhir\"";

Resource parseOk(std::string_view xml, const ParseLimits& limits = {}) {
  return test::resourceOrFail(parseXml(xml, limits));
}

std::string parseError(std::string_view xml, const ParseLimits& limits = {}) {
  const Result<Resource> parsed = parseXml(xml, limits);
  EXPECT_FALSE(parsed.ok()) << "parsed: " << xml.substr(0, 200);
  if (parsed.ok()) {
    return "<parsed>";
  }
  EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
  return parsed.status().message();
}

std::string patient(const std::string& body) {
  return std::string("<Patient ") + kNs + ">" + body + "</Patient>";
}

TEST(XmlParserTest, ValueAttributesAndRepetitions) {
  const Resource r = parseOk(patient(
      "<id value=\"p1\"/><active value=\"true\"/>"
      "<name><family value=\"Doe\"/><given value=\"Jane\"/><given value=\"Q\"/></name>"
      "<name><text value=\"J. Doe\"/></name><birthDate value=\"1970-03-30\"/>"));
  const Node& root = r.root();
  EXPECT_EQ(r.resourceType(), "Patient");
  EXPECT_EQ(root.name(), "Patient");
  EXPECT_EQ(r.id(), "p1");
  EXPECT_EQ(root.childValue("active"), "true");
  const Node* name = root.child("name");
  ASSERT_NE(name, nullptr);
  EXPECT_FALSE(name->hasValue());
  EXPECT_EQ(name->childCount(), 3u);
  EXPECT_EQ(name->child("given")->nextSibling()->value(), "Q");
  EXPECT_EQ(name->nextSibling()->childValue("text"), "J. Doe");
  EXPECT_EQ(root.childValue("birthDate"), "1970-03-30");
}

// Regression: a value longer than the next text chunk but below the own-chunk threshold (16 KiB)
// was copied past the end of that chunk: after the names filled part of the first 4 KiB chunk,
// 9000 bytes went into an 8 KiB one (AddressSanitizer: heap-buffer-overflow).
TEST(XmlParserTest, ValuesBetweenFourAndSixteenKibStayWhole) {
  const std::string first(9000, 'a');
  const std::string second(16000, 'b');
  const std::string xml = std::string("<Patient ") + kNs + "><id value=\"" + first +
                          "\"/><gender value=\"" + second + "\"/></Patient>";
  const Resource r = parseOk(xml);
  EXPECT_EQ(r.root().childValue("id"), first);
  EXPECT_EQ(r.root().childValue("gender"), second);
}

TEST(XmlParserTest, KeepsDecimalTextExactly) {
  const Resource r = parseOk(std::string("<Observation ") + kNs +
                             "><valueQuantity><value value=\"1.50\"/></valueQuantity></Observation>");
  EXPECT_EQ(r.root().child("valueQuantity")->childValue("value"), "1.50");
}

TEST(XmlParserTest, PrimitiveIdAndExtensionsMatchJson) {
  const Resource xml = parseOk(patient(
      "<birthDate id=\"b1\" value=\"1970-03-30\">"
      "<extension url=\"http://x/e\"><valueString value=\"e\"/></extension></birthDate>"
      "<name><given value=\"Jane\"/><given><extension url=\"http://x/m\">"
      "<valueCode value=\"masked\"/></extension></given></name>"));
  const Resource json = std::move(parseJson(R"({"resourceType":"Patient",
      "birthDate":"1970-03-30",
      "_birthDate":{"id":"b1","extension":[{"url":"http://x/e","valueString":"e"}]},
      "name":[{"given":["Jane",null],
               "_given":[null,{"extension":[{"url":"http://x/m","valueCode":"masked"}]}]}]})"))
                            .value();
  EXPECT_EQ(canonicalJson(xml.root()), canonicalJson(json.root()));
  EXPECT_TRUE(equivalent(xml.root(), json.root()));
  EXPECT_EQ(xml.root().child("birthDate")->childValue("id"), "b1");
}

TEST(XmlParserTest, NestedResourcesBecomeTheirWrapper) {
  const Resource r = parseOk(std::string("<Bundle ") + kNs +
                             "><type value=\"collection\"/><entry><fullUrl value=\"urn:uuid:1\"/>"
                             "<resource><Patient><id value=\"a\"/><contained><Organization>"
                             "<id value=\"o\"/></Organization></contained></Patient></resource>"
                             "</entry></Bundle>");
  const Node* resource = r.root().child("entry")->child("resource");
  ASSERT_NE(resource, nullptr);
  EXPECT_EQ(resource->resourceType(), "Patient");
  EXPECT_EQ(resource->childValue("id"), "a");
  EXPECT_EQ(resource->child("contained")->resourceType(), "Organization");
  EXPECT_EQ(r.bundleType(), "collection");
  ASSERT_EQ(r.entries().size(), 1u);

  const Resource json = std::move(parseJson(R"({"resourceType":"Bundle","type":"collection",
      "entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a",
      "contained":[{"resourceType":"Organization","id":"o"}]}}]})"))
                            .value();
  EXPECT_EQ(firstDifference(r.root(), json.root()), std::nullopt);
}

TEST(XmlParserTest, IgnoresNarrativeXhtmlAndComments) {
  const Resource r = parseOk(patient(
      "<!-- a comment --><text><status value=\"generated\"/>"
      "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Jane <b>Doe</b></p><div><id/></div></div>"
      "</text><?pi data?><gender value=\"female\"/>"));
  const Node* text = r.root().child("text");
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->childCount(), 1u);
  EXPECT_EQ(text->childValue("status"), "generated");
  EXPECT_EQ(r.root().childValue("gender"), "female");
}

TEST(XmlParserTest, IgnoresNamespacedAttributes) {
  const Resource r = parseOk(
      "<Parameters xmlns=\"http://hl7.org/fhir\" "
      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:schemaLocation=\"http://hl7.org/fhir fhir-single.xsd\"><id value=\"x\"/></Parameters>");
  EXPECT_EQ(r.root().childCount(), 1u);
}

TEST(XmlParserTest, DecodesPredefinedEntitiesAndCharacterReferences) {
  const Resource r = parseOk(patient(
      "<name><family value=\"a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233;&#x1F600;\"/>"
      "<given value=\"&amp;&amp;&amp;&amp;\"/></name>"));
  EXPECT_EQ(r.root().child("name")->childValue("family"),
            "a & b <c> \"d\" 'e' \xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(r.root().child("name")->child("given")->value(), "&&&&");
}

TEST(XmlParserTest, AcceptsBomAndDeclaration) {
  const Resource r = parseOk("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>" +
                             patient("<id value=\"x\"/>"));
  EXPECT_EQ(r.id(), "x");
}

TEST(XmlParserTest, RejectsWrongNamespace) {
  EXPECT_EQ(parseError("<Patient><id value=\"x\"/></Patient>"),
            "root element is not in the http://hl7.org/fhir namespace");
  EXPECT_EQ(parseError("<Patient xmlns=\"http://hl7.org/fhir/\"><id value=\"x\"/></Patient>"),
            "root element is not in the http://hl7.org/fhir namespace");
  EXPECT_EQ(parseError(patient("<x:name xmlns:x=\"urn:other\"/>")),
            "element outside the http://hl7.org/fhir namespace in Patient");
  EXPECT_EQ(parseError(std::string("<name ") + kNs + "/>"), "root element is not a FHIR resource");
}

TEST(XmlParserTest, RejectsTextContent) {
  EXPECT_EQ(parseError(patient("<name>Jane</name>")),
            "text content is not allowed in FHIR XML elements: Patient.name");
}

TEST(XmlParserTest, RejectsMisplacedResourceElements) {
  EXPECT_EQ(parseError(std::string("<Bundle ") + kNs + "><Patient/></Bundle>"),
            "unexpected resource element Patient in Bundle");
  EXPECT_EQ(parseError(std::string("<Bundle ") + kNs +
                       "><entry><resource><Patient/><Patient/></resource></entry></Bundle>"),
            "unexpected resource element Patient in Bundle.entry.resource");
}

TEST(XmlParserTest, RefusesBillionLaughs) {
  const std::string xml =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE Patient [\n"
      " <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
      " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
      " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
      " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
      " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
      " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
      "]>\n" +
      patient("<name><family value=\"&lol9;\"/></name>");
  EXPECT_EQ(parseError(xml), "DOCTYPE is not allowed in FHIR XML");
}

// Counts open/read events on a file while `parse` runs: proof that nothing touched it.
class FileWatch {
 public:
  explicit FileWatch(const std::filesystem::path& file) {
    fd_ = inotify_init1(IN_NONBLOCK);
    if (fd_ >= 0) {
      inotify_add_watch(fd_, file.c_str(), IN_OPEN | IN_ACCESS);
    }
  }
  ~FileWatch() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;
  bool ok() const { return fd_ >= 0; }
  // Number of bytes of pending events (0 when the file was neither opened nor read).
  ssize_t pending() const {
    char buffer[4096];
    const ssize_t n = read(fd_, buffer, sizeof(buffer));
    return n < 0 ? 0 : n;
  }

 private:
  int fd_ = -1;
};

TEST(XmlParserTest, RefusesExternalEntitiesWithoutReadingTheFile) {
  test::TempDir dir;
  const std::filesystem::path secret = dir.path() / "secret.txt";
  test::writeFile(secret, "TOPSECRET");
  FileWatch watch(secret);
  ASSERT_TRUE(watch.ok());
  EXPECT_EQ(watch.pending(), 0);
  {  // sanity check of the watch itself
    const std::string content = test::readFile(secret);
    ASSERT_EQ(content, "TOPSECRET");
    EXPECT_GT(watch.pending(), 0);
  }
  const std::string url = "file://" + secret.string();
  const std::vector<std::string> payloads = {
      // Classic XXE through a general entity.
      "<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM \"" + url + "\">]>" +
          patient("<name><family value=\"&xxe;\"/></name>"),
      // Parameter entity, expanded inside the internal subset.
      "<!DOCTYPE Patient [<!ENTITY % p SYSTEM \"" + url + "\"> %p;]>" + patient(""),
      // External DTD subset.
      "<!DOCTYPE Patient SYSTEM \"" + url + "\">" + patient(""),
      // The well-known /etc/passwd form.
      "<!DOCTYPE Patient [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>" +
          patient("<name><family value=\"&xxe;\"/></name>"),
  };
  for (const std::string& xml : payloads) {
    const std::string error = parseError(xml);
    EXPECT_EQ(error, "DOCTYPE is not allowed in FHIR XML");
    EXPECT_EQ(error.find("TOPSECRET"), std::string::npos);
    EXPECT_EQ(error.find("root:"), std::string::npos);
  }
  EXPECT_EQ(watch.pending(), 0) << "the parser opened or read the external entity's file";
}

TEST(XmlParserTest, RefusesEveryDoctype) {
  EXPECT_EQ(parseError("<!DOCTYPE Patient>" + patient("")), "DOCTYPE is not allowed in FHIR XML");
  EXPECT_EQ(parseError("<!DOCTYPE Patient []>" + patient("")),
            "DOCTYPE is not allowed in FHIR XML");
  EXPECT_EQ(parseError("<!DOCTYPE Patient PUBLIC \"-//x//y\" \"http://127.0.0.1:1/x.dtd\">" +
                       patient("")),
            "DOCTYPE is not allowed in FHIR XML");
}

TEST(XmlParserTest, RefusesUndeclaredEntities) {
  const std::string error = parseError(patient("<name><family value=\"&xxe;\"/></name>"));
  EXPECT_NE(error.find("malformed XML at line 1"), std::string::npos) << error;
}

TEST(XmlParserTest, RejectsDeepNesting) {
  ParseLimits limits;
  limits.max_depth = 5;
  EXPECT_TRUE(parseXml(patient("<a><b><c><d/></c></b></a>"), limits).ok());  // depth 5
  EXPECT_EQ(parseError(patient("<a><b><c><d><e/></d></c></b></a>"), limits),
            "nesting deeper than 5 at Patient.a.b.c.d");
  // The narrative counts too.
  EXPECT_NE(parseError(patient("<text><div xmlns=\"http://www.w3.org/1999/xhtml\"><p><b><i/>"
                               "</b></p></div></text>"),
                       limits)
                .find("nesting deeper than 5"),
            std::string::npos);
  std::string deep;
  for (int i = 0; i < 100; ++i) {
    deep += "<extension>";
  }
  for (int i = 0; i < 100; ++i) {
    deep += "</extension>";
  }
  EXPECT_NE(parseError(patient(deep)).find("nesting deeper than 64"), std::string::npos);
}

TEST(XmlParserTest, RejectsHugeAttributeValues) {
  ParseLimits limits;
  limits.max_string_bytes = 8;
  EXPECT_TRUE(parseXml(patient("<id value=\"12345678\"/>"), limits).ok());
  EXPECT_EQ(parseError(patient("<id value=\"123456789\"/>"), limits),
            "string longer than 8 bytes at Patient.id");
}

TEST(XmlParserTest, RejectsDocumentsOverTheSizeLimit) {
  ParseLimits limits;
  limits.max_total_bytes = 10;
  EXPECT_NE(parseError(patient(""), limits).find("larger than the limit of 10 bytes"),
            std::string::npos);
  EXPECT_EQ(parseError(""), "the XML document is empty");
}

TEST(XmlParserTest, RejectsInvalidUtf8) {
  const std::string error = parseError(patient("<id value=\"a\xC3\x28\"/>"));
  EXPECT_NE(error.find("malformed XML"), std::string::npos) << error;
}

TEST(XmlParserTest, EveryTruncationFailsCleanly) {
  const std::string xml = std::string("<Bundle ") + kNs +
                          "><type value=\"message\"/><entry><resource><Patient><name>"
                          "<given value=\"A\"/></name></Patient></resource></entry></Bundle>";
  ASSERT_TRUE(parseXml(xml).ok());
  for (std::size_t length = 0; length < xml.size(); ++length) {
    const Result<Resource> parsed = parseXml(std::string_view(xml).substr(0, length));
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.status().code(), StatusCode::ParseError);
  }
}

TEST(XmlParserTest, ReaderIsReusableAfterErrors) {
  EXPECT_FALSE(parseXml("<Patient").ok());
  EXPECT_FALSE(parseXml("<!DOCTYPE x []><Patient/>").ok());
  EXPECT_FALSE(parseXml(patient("<name>text</name>")).ok());
  EXPECT_EQ(parseOk(patient("<id value=\"after\"/>")).id(), "after");
}

TEST(XmlParserTest, ParsesConcurrently) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&failures, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        const Result<Resource> r = parseXml(patient("<id value=\"" + id + "\"/>"));
        if (!r.ok() || r->id() != id) {
          ++failures;
        }
        if (parseXml("<Patient xmlns=\"x\"/>").ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace gw::fhir
