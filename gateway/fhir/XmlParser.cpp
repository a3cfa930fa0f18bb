// SPDX-License-Identifier: Apache-2.0
// FHIR R4 XML (https://hl7.org/fhir/R4/xml.html) onto the tree of Resource.h, with a Xerces-C
// SAX2 reader that never processes a DTD. Xerces throws; nothing escapes this file.
#include <xercesc/framework/MemBufInputSource.hpp>
#include <xercesc/parsers/SAX2XMLReaderImpl.hpp>
#include <xercesc/sax/Locator.hpp>
#include <xercesc/sax/SAXParseException.hpp>
#include <xercesc/sax2/Attributes.hpp>
#include <xercesc/sax2/DefaultHandler.hpp>
#include <xercesc/sax2/SAX2XMLReader.hpp>
#include <xercesc/util/OutOfMemoryException.hpp>
#include <xercesc/util/PlatformUtils.hpp>
#include <xercesc/util/SecurityManager.hpp>
#include <xercesc/util/XMLEntityResolver.hpp>
#include <xercesc/util/XMLException.hpp>
#include <xercesc/util/XMLString.hpp>
#include <xercesc/util/XMLUni.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/fhir/Resource.h"
#include "gateway/fhir/TreeBuilder.h"

namespace gw::fhir {

namespace {

namespace x = xercesc;
using detail::TreeBuilder;

constexpr XMLCh kFhirNamespace[] = u"http://hl7.org/fhir";
constexpr XMLCh kXhtmlNamespace[] = u"http://www.w3.org/1999/xhtml";
constexpr XMLCh kValue[] = u"value";

// Thrown by our handlers to stop the parse; caught in parseXml().
struct Refusal {
  std::string message;
};

// UTF-16 from Xerces to UTF-8. Xerces has already rejected malformed input, so a lone surrogate
// cannot come from a well-formed document; it is still refused rather than passed on.
void appendUtf8(std::string& out, const XMLCh* text, std::size_t length) {
  for (std::size_t i = 0; i < length; ++i) {
    std::uint32_t c = text[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < length && text[i + 1] >= 0xDC00 &&
        text[i + 1] <= 0xDFFF) {
      c = 0x10000 + ((c - 0xD800) << 10) + (text[i + 1] - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      throw Refusal{"invalid UTF-16 surrogate in XML text"};
    }
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
}

std::string toUtf8(const XMLCh* text) {
  std::string out;
  if (text != nullptr) {
    appendUtf8(out, text, x::XMLString::stringLen(text));
  }
  return out;
}

bool isXmlSpace(XMLCh c) { return c == u' ' || c == u'\t' || c == u'\r' || c == u'\n'; }

// Refuses every entity and DTD Xerces would load (both resolver interfaces).
class RefusingResolver : public x::XMLEntityResolver {
 public:
  x::InputSource* resolveEntity(x::XMLResourceIdentifier* /*id*/) override {
    throw Refusal{"external entities are not allowed in FHIR XML"};
  }
};

class FhirXmlHandler : public x::DefaultHandler {
 public:
  FhirXmlHandler(TreeBuilder& builder, const ParseLimits& limits)
      : builder_(builder), limits_(limits) {}

  Node* root() const { return root_; }

  // ContentHandler
  void startElement(const XMLCh* const uri, const XMLCh* const localname,
                    const XMLCh* const /*qname*/, const x::Attributes& attributes) override {
    ++depth_;
    if (depth_ > limits_.max_depth) {
      refuse("nesting deeper than " + std::to_string(limits_.max_depth) + " at ");
    }
    if (skip_depth_ > 0) {
      ++skip_depth_;
      return;
    }
    const bool fhir = x::XMLString::equals(uri, kFhirNamespace);
    if (stack_.empty()) {
      if (!fhir) {
        throw Refusal{"root element is not in the http://hl7.org/fhir namespace"};
      }
      const std::string_view name = name_of(localname);
      if (!isResourceName(name)) {
        throw Refusal{"root element is not a FHIR resource"};
      }
      root_ = builder_.append(nullptr, name);
      TreeBuilder::setResourceType(root_, name);
      stack_.push_back(root_);
      addAttributes(root_, attributes);
      return;
    }
    if (!fhir) {
      if (x::XMLString::equals(uri, kXhtmlNamespace)) {
        skip_depth_ = 1;  // narrative: dropped, as Resource.h documents
        return;
      }
      refuse("element outside the http://hl7.org/fhir namespace in ");
    }
    Node* parent = stack_.back();
    const std::string_view name = name_of(localname);
    if (isResourceName(name)) {
      // <resource><Patient>...</Patient></resource>: the wrapper becomes the resource node.
      if (parent->isResource() || parent->hasValue() || parent->childCount() != 0 ||
          parent == root_) {
        refuse("unexpected resource element " + std::string(name) + " in ");
      }
      TreeBuilder::setResourceType(parent, name);
      stack_.push_back(parent);
      addAttributes(parent, attributes);
      return;
    }
    Node* node = builder_.append(parent, name);
    stack_.push_back(node);
    addAttributes(node, attributes);
  }

  void endElement(const XMLCh* const /*uri*/, const XMLCh* const /*localname*/,
                  const XMLCh* const /*qname*/) override {
    --depth_;
    if (skip_depth_ > 0) {
      --skip_depth_;
      return;
    }
    stack_.pop_back();
  }

  void characters(const XMLCh* const chars, const XMLSize_t length) override {
    if (skip_depth_ > 0 || stack_.empty()) {
      return;
    }
    for (XMLSize_t i = 0; i < length; ++i) {
      if (!isXmlSpace(chars[i])) {
        refuse("text content is not allowed in FHIR XML elements: ");
      }
    }
  }

  // LexicalHandler: called before the internal subset is read, so no declaration in it is ever
  // processed (no entity expansion, billion laughs included).
  void startDTD(const XMLCh* const, const XMLCh* const, const XMLCh* const) override {
    throw Refusal{"DOCTYPE is not allowed in FHIR XML"};
  }

  // EntityResolver
  x::InputSource* resolveEntity(const XMLCh* const, const XMLCh* const) override {
    throw Refusal{"external entities are not allowed in FHIR XML"};
  }

  // ErrorHandler
  void warning(const x::SAXParseException&) override {}
  void error(const x::SAXParseException& e) override { throwMalformed(e); }
  void fatalError(const x::SAXParseException& e) override { throwMalformed(e); }

 private:
  [[noreturn]] static void throwMalformed(const x::SAXParseException& e) {
    throw Refusal{"malformed XML at line " + std::to_string(e.getLineNumber()) + ", column " +
                  std::to_string(e.getColumnNumber()) + ": " + toUtf8(e.getMessage())};
  }

  [[noreturn]] void refuse(const std::string& what) {
    throw Refusal{what + (stack_.empty() ? std::string("(top level)") : stack_.back()->path())};
  }

  static bool isResourceName(std::string_view name) {
    return !name.empty() && name[0] >= 'A' && name[0] <= 'Z';
  }

  std::string_view name_of(const XMLCh* localname) {
    scratch_.clear();
    appendUtf8(scratch_, localname, x::XMLString::stringLen(localname));
    return builder_.copy(scratch_);
  }

  // `value` is the primitive value; other attributes without a namespace (`id`, an extension's
  // `url`) become primitive children, as in JSON; namespaced ones (xsi:schemaLocation) are
  // ignored.
  void addAttributes(Node* node, const x::Attributes& attributes) {
    const XMLSize_t count = attributes.getLength();
    for (XMLSize_t i = 0; i < count; ++i) {
      const XMLCh* uri = attributes.getURI(i);
      if (uri != nullptr && *uri != 0) {
        continue;
      }
      const XMLCh* local = attributes.getLocalName(i);
      const XMLCh* raw = attributes.getValue(i);
      scratch_.clear();
      appendUtf8(scratch_, raw, x::XMLString::stringLen(raw));
      if (scratch_.size() > limits_.max_string_bytes) {
        refuse("string longer than " + std::to_string(limits_.max_string_bytes) + " bytes at ");
      }
      const std::string_view value = builder_.copy(scratch_);
      if (x::XMLString::equals(local, kValue)) {
        TreeBuilder::setValue(node, value);
      } else {
        Node* attribute = builder_.append(node, name_of(local));
        TreeBuilder::setValue(attribute, value);
      }
    }
  }

  TreeBuilder& builder_;
  const ParseLimits& limits_;
  std::vector<Node*> stack_;
  Node* root_ = nullptr;
  std::size_t depth_ = 0;
  std::size_t skip_depth_ = 0;  // > 0 inside xhtml
  std::string scratch_;
};

// Xerces is initialised once per process and never terminated (readers are cached per thread).
Status initialiseXerces() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] {
    try {
      x::XMLPlatformUtils::Initialize();
    } catch (const x::XMLException& e) {
      status = Status::internal("cannot initialise Xerces-C: " + toUtf8(e.getMessage()));
    } catch (...) {
      status = Status::internal("cannot initialise Xerces-C");
    }
  });
  return status;
}

// The reader itself receives the scanner's doctype event, for every DOCTYPE (SAX2's startDTD()
// skips one without subsets): refuse them all, before any declaration is read.
class FhirSaxReader : public x::SAX2XMLReaderImpl {
 public:
  using x::SAX2XMLReaderImpl::SAX2XMLReaderImpl;
  void doctypeDecl(const x::DTDElementDecl&, const XMLCh* const, const XMLCh* const, const bool,
                   const bool) override {
    throw Refusal{"DOCTYPE is not allowed in FHIR XML"};
  }
};

// One configured reader per thread: creating a reader costs more than parsing a small resource.
struct CachedReader {
  CachedReader() {
    security.setEntityExpansionLimit(1);
    reader = std::make_unique<FhirSaxReader>();
    reader->setFeature(x::XMLUni::fgSAX2CoreNameSpaces, true);
    reader->setFeature(x::XMLUni::fgSAX2CoreNameSpacePrefixes, false);
    reader->setFeature(x::XMLUni::fgSAX2CoreValidation, false);
    reader->setFeature(x::XMLUni::fgXercesDynamic, false);
    reader->setFeature(x::XMLUni::fgXercesSchema, false);
    reader->setFeature(x::XMLUni::fgXercesLoadSchema, false);
    reader->setFeature(x::XMLUni::fgXercesSchemaFullChecking, false);
    reader->setFeature(x::XMLUni::fgXercesIdentityConstraintChecking, false);
    reader->setFeature(x::XMLUni::fgXercesLoadExternalDTD, false);
    reader->setFeature(x::XMLUni::fgXercesSkipDTDValidation, true);
    reader->setFeature(x::XMLUni::fgXercesDisableDefaultEntityResolution, true);
    reader->setFeature(x::XMLUni::fgXercesCacheGrammarFromParse, false);
    reader->setFeature(x::XMLUni::fgXercesUseCachedGrammarInParse, false);
    reader->setProperty(x::XMLUni::fgXercesSecurityManager, &security);
    reader->setXMLEntityResolver(&resolver);
  }
  CachedReader(const CachedReader&) = delete;
  CachedReader& operator=(const CachedReader&) = delete;

  x::SecurityManager security;
  RefusingResolver resolver;
  std::unique_ptr<FhirSaxReader> reader;
};

// Detaches the per-parse handler from the cached reader on every path out.
class HandlerBinding {
 public:
  HandlerBinding(x::SAX2XMLReaderImpl& reader, FhirXmlHandler& handler) : reader_(reader) {
    reader_.setContentHandler(&handler);
    reader_.setErrorHandler(&handler);
    reader_.setLexicalHandler(&handler);
    reader_.setEntityResolver(&handler);
    // No setDeclarationHandler(nullptr) here: in Xerces-C 3.2 it also unhooks the doctype
    // events that reach startDTD() above.
  }
  ~HandlerBinding() {
    reader_.setContentHandler(nullptr);
    reader_.setErrorHandler(nullptr);
    reader_.setLexicalHandler(nullptr);
    reader_.setEntityResolver(nullptr);
  }
  HandlerBinding(const HandlerBinding&) = delete;
  HandlerBinding& operator=(const HandlerBinding&) = delete;

 private:
  x::SAX2XMLReaderImpl& reader_;
};

}  // namespace

Result<Resource> parseXml(std::string_view bytes, const ParseLimits& limits) {
  if (bytes.size() > limits.max_total_bytes) {
    return Status::parseError("document of " + std::to_string(bytes.size()) +
                              " bytes is larger than the limit of " +
                              std::to_string(limits.max_total_bytes) + " bytes");
  }
  if (bytes.empty()) {
    return Status::parseError("the XML document is empty");
  }
  GW_RETURN_IF_ERROR(initialiseXerces());
  CachedReader* reader = nullptr;
  try {
    thread_local CachedReader cached;
    reader = &cached;
  } catch (const x::XMLException& e) {
    return Status::internal("cannot configure the Xerces-C reader: " + toUtf8(e.getMessage()));
  } catch (const x::SAXException& e) {
    return Status::internal("cannot configure the Xerces-C reader: " + toUtf8(e.getMessage()));
  } catch (...) {
    return Status::internal("cannot configure the Xerces-C reader");
  }
  try {
    CachedReader& cached = *reader;
    TreeBuilder builder;
    FhirXmlHandler handler(builder, limits);
    {
      HandlerBinding binding(*cached.reader, handler);
      x::MemBufInputSource source(reinterpret_cast<const XMLByte*>(bytes.data()), bytes.size(),
                                  "fhir-resource", false);
      cached.reader->parse(source);
    }
    if (handler.root() == nullptr) {
      return Status::parseError("the XML document has no root element");
    }
    return builder.finish(handler.root());
  } catch (const Refusal& refusal) {
    return Status::parseError(refusal.message);
  } catch (const x::SAXParseException& e) {
    return Status::parseError("malformed XML at line " + std::to_string(e.getLineNumber()) +
                              ", column " + std::to_string(e.getColumnNumber()) + ": " +
                              toUtf8(e.getMessage()));
  } catch (const x::SAXException& e) {
    return Status::parseError("malformed XML: " + toUtf8(e.getMessage()));
  } catch (const x::XMLException& e) {
    return Status::parseError("malformed XML: " + toUtf8(e.getMessage()));
  } catch (const x::OutOfMemoryException&) {
    return Status::internal("out of memory while parsing XML");
  } catch (const std::bad_alloc&) {
    return Status::internal("out of memory while parsing XML");
  } catch (const std::exception& e) {
    return Status::internal(std::string("unexpected exception while parsing XML: ") + e.what());
  } catch (...) {
    return Status::internal("unexpected exception while parsing XML");
  }
}

}  // namespace gw::fhir
