// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/api/Status.h"

namespace gw {

// A parsed config or mapping document: a JSON value tree where every value knows its source
// position, so errors can be reported as "file:line:col: error: ...". Built by
// gw_configuration's parser; read through ConfigReader. Immutable after parsing.
class ConfigNode {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };
  using Member = std::pair<std::string, ConfigNode>;

  ConfigNode() = default;
  ConfigNode(Kind kind, SourcePosition position) : kind_(kind), position_(std::move(position)) {}

  Kind kind() const { return kind_; }
  const SourcePosition& position() const { return position_; }
  // Where the member's key stands, for a value inside an object (else its own position).
  const SourcePosition& keyPosition() const { return key_position_ ? *key_position_ : position_; }
  void setKeyPosition(SourcePosition p) { key_position_ = std::move(p); }
  bool isObject() const { return kind_ == Kind::Object; }
  bool isArray() const { return kind_ == Kind::Array; }

  bool boolValue() const { return bool_; }
  // Numbers keep their source text; isInteger() is true when it has no fraction or exponent.
  const std::string& text() const { return text_; }  // string value or number text
  bool isInteger() const;

  const std::vector<ConfigNode>& elements() const { return elements_; }
  const std::vector<Member>& members() const { return members_; }
  // Member by key, or nullptr.
  const ConfigNode* find(std::string_view key) const;

  // Builders used by the parser.
  void setBool(bool v) { bool_ = v; }
  void setText(std::string t) { text_ = std::move(t); }
  std::vector<ConfigNode>& mutableElements() { return elements_; }
  std::vector<Member>& mutableMembers() { return members_; }

 private:
  Kind kind_ = Kind::Null;
  SourcePosition position_;
  std::optional<SourcePosition> key_position_;
  bool bool_ = false;
  std::string text_;
  std::vector<ConfigNode> elements_;
  std::vector<Member> members_;
};

std::string_view configKindName(ConfigNode::Kind kind);

// Collects every error of a document so all are reported at once.
class ConfigErrors {
 public:
  void add(const SourcePosition& at, std::string message);
  bool empty() const { return errors_.empty(); }
  const std::vector<Status>& all() const { return errors_; }
  // One line per error, compiler style.
  std::string toString() const;

 private:
  std::vector<Status> errors_;
};

// Reads one config object into a settings struct: each read*() takes the key, the field to fill
// (which already holds its default) and limits; a missing key keeps the default, a wrong type or
// out-of-range value records a positioned error. finish() reports every key that was not read as
// unknown, with a "did you mean" suggestion. Example:
//   ConfigReader r(node, errors, "store");
//   r.readString("path", settings.path);
//   r.readInt("batch_max", settings.batch_max, 1, 65536);
//   r.finish();
class ConfigReader {
 public:
  // `where` names the object in messages ("inbound.mllp[0]"). A non-object node records an error.
  ConfigReader(const ConfigNode& node, ConfigErrors& errors, std::string where);

  void readString(std::string_view key, std::string& out, bool required = false);
  void readBool(std::string_view key, bool& out);
  void readInt(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  void readInt(std::string_view key, int& out, int min, int max);
  void readDouble(std::string_view key, double& out, double min, double max);
  void readEnum(std::string_view key, std::string& out, std::initializer_list<std::string_view> allowed);
  void readStringList(std::string_view key, std::vector<std::string>& out);
  // A nested object or array to read with its own reader; nullptr when absent (or wrong kind,
  // which records an error).
  const ConfigNode* object(std::string_view key);
  const ConfigNode* array(std::string_view key);

  const std::string& where() const { return where_; }
  ConfigErrors& errors() { return errors_; }
  void finish();

 private:
  const ConfigNode* take(std::string_view key, ConfigNode::Kind kind);
  std::string qualified(std::string_view key) const;

  const ConfigNode& node_;
  ConfigErrors& errors_;
  std::string where_;
  std::vector<std::string> read_keys_;
  bool finished_ = false;
};

}  // namespace gw
