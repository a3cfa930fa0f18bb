// SPDX-License-Identifier: Apache-2.0
// FHIR R4 JSON (https://hl7.org/fhir/R4/json.html) onto the tree of Resource.h, with RapidJSON's
// SAX reader parsing in place: names and values are views into one owned copy of the input.
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/fhir/Resource.h"
#include "gateway/fhir/TreeBuilder.h"

namespace gw::fhir {

namespace {

using detail::TreeBuilder;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Turns SAX events into nodes. Every handler returns false with `error_` set to stop the parse.
class JsonTreeHandler {
 public:
  JsonTreeHandler(TreeBuilder& builder, const ParseLimits& limits)
      : builder_(builder), limits_(limits) {}

  const std::string& error() const { return error_; }
  Node* root() const { return root_; }
  // Where the parser is, for syntax errors: "Bundle.entry[3].resource".
  std::string location() const { return locate(std::string_view()); }

  bool StartObject() {
    if (!checkDepth()) {
      return false;
    }
    Node* node = nullptr;
    if (stack_.empty()) {
      if (root_ != nullptr) {
        error_ = "invalid JSON: the document root must not be followed by other values";
        return false;
      }
      root_ = builder_.append(nullptr, std::string_view());
      node = root_;
    } else {
      Frame& top = stack_.back();
      if (top.is_array) {
        node = builder_.append(top.node, top.key);
        ++top.count;
      } else {
        if (key_ == "resourceType") {
          return fail("resourceType must be a string at ", key_);
        }
        if (!key_.empty() && key_[0] == '_') {
          top.needs_fixup = true;
        }
        node = builder_.append(top.node, key_);
      }
    }
    stack_.push_back(Frame{node, node->name(), false, 0, false});
    return true;
  }

  bool Key(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    if (!checkLength(length, std::string_view())) {  // a key that long is not named
      return false;
    }
    key_ = std::string_view(text, length);
    return true;
  }

  bool EndObject(rapidjson::SizeType /*members*/) {
    Node* node = stack_.back().node;
    if (stack_.back().needs_fixup && !mergeUnderscores(node)) {
      return false;
    }
    // Narrative (FHIR R4 Narrative): an object-valued "text" is always a Narrative; its xhtml is
    // dropped in JSON as in XML. (CodeableConcept.text and friends are strings, not objects.)
    if (node->name() == "text" && node->parent() != nullptr) {
      TreeBuilder::removeChild(node, "div");
    }
    stack_.pop_back();
    if (stack_.empty() && !node->isResource()) {
      error_ = "the top-level object has no resourceType";
      return false;
    }
    return true;
  }

  bool StartArray() {
    if (stack_.empty()) {
      error_ = "the top level must be a JSON object with a resourceType";
      return false;
    }
    if (!checkDepth()) {
      return false;
    }
    Frame& top = stack_.back();
    if (top.is_array) {
      return fail("an array inside an array is not FHIR JSON at ", "");
    }
    if (key_ == "resourceType") {
      return fail("resourceType must be a string at ", key_);
    }
    if (!key_.empty() && key_[0] == '_') {
      top.needs_fixup = true;
    }
    stack_.push_back(Frame{top.node, key_, true, 0, false});
    return true;
  }

  bool EndArray(rapidjson::SizeType /*elements*/) {
    stack_.pop_back();
    return true;
  }

  bool String(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    return primitive(std::string_view(text, length), true);
  }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool /*copy*/) {
    return primitive(std::string_view(text, length), false);
  }
  bool Bool(bool value) { return primitive(value ? "true" : "false", false); }

  bool Null() {
    if (stack_.empty()) {
      error_ = "the top level must be a JSON object with a resourceType";
      return false;
    }
    Frame& top = stack_.back();
    if (!top.is_array) {
      return fail("null is not allowed as a property value at ", key_);
    }
    // Lines up a primitive array with its `_x` array; mergeUnderscores() checks and removes it.
    Node* placeholder = builder_.append(top.node, top.key);
    TreeBuilder::setNullPlaceholder(placeholder, true);
    ++top.count;
    stack_[stack_.size() - 2].needs_fixup = true;
    return true;
  }

  // Never called with kParseNumbersAsStringsFlag; present for the Handler concept.
  bool Int(int) { return unexpectedNumber(); }
  bool Uint(unsigned) { return unexpectedNumber(); }
  bool Int64(std::int64_t) { return unexpectedNumber(); }
  bool Uint64(std::uint64_t) { return unexpectedNumber(); }
  bool Double(double) { return unexpectedNumber(); }

 private:
  struct Frame {
    Node* node;             // the object; for an array, the object that holds it
    std::string_view key;   // the property name (arrays) or the node's name (objects)
    bool is_array;
    std::uint32_t count;    // array items so far
    bool needs_fixup;       // an object with `_x` properties or nulls in arrays
  };

  bool unexpectedNumber() {
    error_ = "internal error: number not delivered as text";
    return false;
  }

  bool checkDepth() {
    if (stack_.size() + 1 > limits_.max_depth) {
      return fail("nesting deeper than " + std::to_string(limits_.max_depth) + " at ", "");
    }
    return true;
  }

  bool checkLength(std::size_t length, std::string_view key) {
    if (length > limits_.max_string_bytes) {
      return fail("string longer than " + std::to_string(limits_.max_string_bytes) +
                      " bytes at ",
                  key);
    }
    return true;
  }

  bool primitive(std::string_view text, bool is_string) {
    if (!checkLength(text.size(), key_)) {
      return false;
    }
    if (stack_.empty()) {
      error_ = "the top level must be a JSON object with a resourceType";
      return false;
    }
    Frame& top = stack_.back();
    if (top.is_array) {
      if (!top.key.empty() && top.key[0] == '_') {
        return fail("items of an _element array must be objects or null at ", "");
      }
      Node* node = builder_.append(top.node, top.key);
      TreeBuilder::setValue(node, text);
      ++top.count;
      return true;
    }
    if (key_ == "resourceType") {
      if (!is_string) {
        return fail("resourceType must be a string at ", key_);
      }
      if (top.node->isResource()) {
        return fail("duplicate resourceType at ", key_);
      }
      TreeBuilder::setResourceType(top.node, text);
      if (top.node == root_) {
        TreeBuilder::setName(root_, text);
      }
      return true;
    }
    if (!key_.empty() && key_[0] == '_') {
      return fail("an _element property must be an object or an array at ", key_);
    }
    Node* node = builder_.append(top.node, key_);
    TreeBuilder::setValue(node, text);
    return true;
  }

  // Merges `_x` (id and extensions of primitives) into `x`, index by index (FHIR R4 JSON 2.6.2,
  // "Representing primitive elements"), and drops the null placeholders.
  bool mergeUnderscores(Node* object) {
    struct Group {
      std::vector<Node*> values;  // the `x` items, null placeholders included
      std::vector<Node*> extras;  // the `_x` items, null placeholders included
      bool merged = false;
    };
    std::vector<Node*> children;
    std::unordered_map<std::string_view, Group> groups;  // by `x`
    for (Node* c = TreeBuilder::firstChild(object); c != nullptr; c = TreeBuilder::nextSibling(c)) {
      children.push_back(c);
      if (!c->name().empty() && c->name()[0] == '_') {
        groups[c->name().substr(1)].extras.push_back(c);
      }
    }
    for (Node* c : children) {
      const auto group = groups.find(c->name());
      if (group != groups.end()) {
        group->second.values.push_back(c);
      }
    }
    std::vector<Node*> kept;
    kept.reserve(children.size());
    for (Node* c : children) {
      const std::string_view name = c->name();
      if (!name.empty() && name[0] == '_') {
        const std::string_view base = name.substr(1);
        Group& group = groups[base];
        if (group.merged) {
          continue;
        }
        group.merged = true;
        for (std::size_t k = 0; k < std::max(group.values.size(), group.extras.size()); ++k) {
          Node* value = k < group.values.size() ? group.values[k] : nullptr;
          Node* extra = k < group.extras.size() ? group.extras[k] : nullptr;
          const bool value_null = value == nullptr || TreeBuilder::isNullPlaceholder(value);
          const bool extra_null = extra == nullptr || TreeBuilder::isNullPlaceholder(extra);
          if (value_null && extra_null) {
            error_ = "null in both " + std::string(base) + " and " + std::string(name) +
                     " at index " + std::to_string(k) + " at " + object->path();
            return false;
          }
          if (value == nullptr) {
            value = builder_.append(object, base);  // relinked below, where `_x` was
            kept.push_back(value);
          }
          TreeBuilder::setNullPlaceholder(value, false);
          if (!extra_null) {
            TreeBuilder::moveChildren(extra, value);
          }
        }
        continue;
      }
      if (TreeBuilder::isNullPlaceholder(c) && groups.find(name) == groups.end()) {
        error_ = "null in an array without a matching _" + std::string(name) + " at " +
                 object->path() + "." + std::string(name);
        return false;
      }
      kept.push_back(c);  // a placeholder here is resolved when its `_x` group is merged
    }
    TreeBuilder::relink(object, kept);
    return true;
  }

  bool fail(const std::string& what, std::string_view key) {
    error_ = what + locate(key);
    return false;
  }

  // "Bundle.entry[3].resource" for the frames on the stack, plus `key` when given.
  std::string locate(std::string_view key) const {
    std::string out;
    for (std::size_t i = 0; i < stack_.size(); ++i) {
      const Frame& f = stack_[i];
      if (i == 0) {
        out = f.node->isResource() ? std::string(f.node->resourceType()) : "(resource)";
        continue;
      }
      if (f.is_array) {
        out += '.';
        out += f.key;
        // The index of the item being parsed, when one is open above this frame.
        if (i + 1 < stack_.size()) {
          out += "[" + std::to_string(f.count - 1) + "]";
        } else {
          out += "[" + std::to_string(f.count) + "]";
        }
        continue;
      }
      if (!stack_[i - 1].is_array) {
        out += '.';
        out += f.key;
      }
    }
    if (!key.empty() && (stack_.empty() || !stack_.back().is_array)) {
      out += '.';
      out += key;
    }
    return out.empty() ? "(top level)" : out;
  }

  TreeBuilder& builder_;
  const ParseLimits& limits_;
  std::vector<Frame> stack_;
  std::string_view key_;
  Node* root_ = nullptr;
  std::string error_;
};

}  // namespace

Result<Resource> parseJson(std::string_view bytes, const ParseLimits& limits) {
  if (bytes.size() > limits.max_total_bytes) {
    return Status::parseError("document of " + std::to_string(bytes.size()) +
                              " bytes is larger than the limit of " +
                              std::to_string(limits.max_total_bytes) + " bytes");
  }
  std::size_t skipped = 0;
  if (bytes.substr(0, kUtf8Bom.size()) == kUtf8Bom) {
    skipped = kUtf8Bom.size();
    bytes.remove_prefix(skipped);
  }
  // The in-situ stream ends at the first NUL, which would hide trailing bytes. A raw NUL is
  // never valid JSON (inside strings it must be escaped as \u0000).
  if (const void* nul = std::memchr(bytes.data(), '\0', bytes.size())) {
    const std::size_t offset = static_cast<const char*>(nul) - bytes.data();
    return Status::parseError("invalid JSON at offset " + std::to_string(offset + skipped) +
                              ": NUL byte");
  }

  TreeBuilder builder;
  detail::Storage& storage = builder.storage();
  storage.input.reset(new char[bytes.size() + 1]);
  std::memcpy(storage.input.get(), bytes.data(), bytes.size());
  storage.input[bytes.size()] = '\0';

  JsonTreeHandler handler(builder, limits);
  rapidjson::Reader reader;
  rapidjson::InsituStringStream stream(storage.input.get());
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag |
                              rapidjson::kParseIterativeFlag;
  const rapidjson::ParseResult result = reader.Parse<kFlags>(stream, handler);
  if (!handler.error().empty()) {
    return Status::parseError(handler.error());
  }
  if (result.IsError()) {
    return Status::parseError("invalid JSON at offset " +
                              std::to_string(result.Offset() + skipped) + " (" +
                              handler.location() + "): " + GetParseError_En(result.Code()));
  }
  if (handler.root() == nullptr) {
    return Status::parseError("the top level must be a JSON object with a resourceType");
  }
  return builder.finish(handler.root());
}

}  // namespace gw::fhir
