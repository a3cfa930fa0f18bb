// SPDX-License-Identifier: Apache-2.0
#include "gateway/api/ConfigNode.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <tuple>

namespace gw {
namespace {

// Levenshtein distance, for "did you mean" on misspelt keys.
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string_view configKindName(ConfigNode::Kind kind) {
  switch (kind) {
    case ConfigNode::Kind::Null: return "null";
    case ConfigNode::Kind::Bool: return "a boolean";
    case ConfigNode::Kind::Number: return "a number";
    case ConfigNode::Kind::String: return "a string";
    case ConfigNode::Kind::Array: return "an array";
    case ConfigNode::Kind::Object: return "an object";
  }
  return "unknown";
}

bool ConfigNode::isInteger() const {
  return kind_ == Kind::Number && text_.find_first_of(".eE") == std::string::npos;
}

const ConfigNode* ConfigNode::find(std::string_view key) const {
  for (const Member& m : members_) {
    if (m.first == key) {
      return &m.second;
    }
  }
  return nullptr;
}

void ConfigErrors::add(const SourcePosition& at, std::string message) {
  errors_.push_back(Status::invalidArgument(std::move(message)).withPosition(at));
}

std::string ConfigErrors::toString() const {
  // In file order, as a compiler reports them.
  std::vector<Status> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Status& a, const Status& b) {
    const SourcePosition& pa = *a.position();
    const SourcePosition& pb = *b.position();
    return std::tie(pa.file, pa.line, pa.column) < std::tie(pb.file, pb.line, pb.column);
  });
  std::string out;
  for (const Status& s : sorted) {
    out += s.toString();
    out += '\n';
  }
  return out;
}

ConfigReader::ConfigReader(const ConfigNode& node, ConfigErrors& errors, std::string where)
    : node_(node), errors_(errors), where_(std::move(where)) {
  if (!node_.isObject()) {
    errors_.add(node_.position(), where_ + " must be an object, not " +
                                      std::string(configKindName(node_.kind())));
    finished_ = true;  // nothing to report as unknown
  }
}

std::string ConfigReader::qualified(std::string_view key) const {
  return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
}

const ConfigNode* ConfigReader::take(std::string_view key, ConfigNode::Kind kind) {
  read_keys_.emplace_back(key);
  if (!node_.isObject()) {
    return nullptr;
  }
  const ConfigNode* value = node_.find(key);
  if (value == nullptr) {
    return nullptr;
  }
  if (value->kind() != kind) {
    errors_.add(value->position(), "\"" + qualified(key) + "\" must be " +
                                       std::string(configKindName(kind)) + ", not " +
                                       std::string(configKindName(value->kind())));
    return nullptr;
  }
  return value;
}

void ConfigReader::readString(std::string_view key, std::string& out, bool required) {
  const ConfigNode* v = take(key, ConfigNode::Kind::String);
  if (v != nullptr) {
    out = v->text();
  } else if (required && node_.isObject() && node_.find(key) == nullptr) {
    errors_.add(node_.position(), "missing required key \"" + qualified(key) + "\"");
  }
}

void ConfigReader::readBool(std::string_view key, bool& out) {
  if (const ConfigNode* v = take(key, ConfigNode::Kind::Bool)) {
    out = v->boolValue();
  }
}

void ConfigReader::readInt(std::string_view key, std::int64_t& out, std::int64_t min,
                           std::int64_t max) {
  const ConfigNode* v = take(key, ConfigNode::Kind::Number);
  if (v == nullptr) {
    return;
  }
  if (!v->isInteger()) {
    errors_.add(v->position(), "\"" + qualified(key) + "\" must be a whole number, not " + v->text());
    return;
  }
  errno = 0;
  const long long parsed = std::strtoll(v->text().c_str(), nullptr, 10);
  if (errno == ERANGE || parsed < min || parsed > max) {
    errors_.add(v->position(), "\"" + qualified(key) + "\" is " + v->text() +
                                   ", outside the allowed range " + std::to_string(min) + ".." +
                                   std::to_string(max));
    return;
  }
  out = parsed;
}

void ConfigReader::readInt(std::string_view key, int& out, int min, int max) {
  std::int64_t wide = out;
  readInt(key, wide, min, max);
  out = static_cast<int>(wide);
}

void ConfigReader::readDouble(std::string_view key, double& out, double min, double max) {
  const ConfigNode* v = take(key, ConfigNode::Kind::Number);
  if (v == nullptr) {
    return;
  }
  const double parsed = std::strtod(v->text().c_str(), nullptr);
  if (parsed < min || parsed > max) {
    errors_.add(v->position(), "\"" + qualified(key) + "\" is " + v->text() +
                                   ", outside the allowed range " + std::to_string(min) + ".." +
                                   std::to_string(max));
    return;
  }
  out = parsed;
}

void ConfigReader::readEnum(std::string_view key, std::string& out,
                            std::initializer_list<std::string_view> allowed) {
  const ConfigNode* v = take(key, ConfigNode::Kind::String);
  if (v == nullptr) {
    return;
  }
  std::string list;
  for (std::string_view a : allowed) {
    if (a == v->text()) {
      out = v->text();
      return;
    }
    list += list.empty() ? "" : ", ";
    list += "\"" + std::string(a) + "\"";
  }
  errors_.add(v->position(),
              "\"" + qualified(key) + "\" is \"" + v->text() + "\"; expected one of " + list);
}

void ConfigReader::readStringList(std::string_view key, std::vector<std::string>& out) {
  const ConfigNode* v = take(key, ConfigNode::Kind::Array);
  if (v == nullptr) {
    return;
  }
  std::vector<std::string> values;
  for (std::size_t i = 0; i < v->elements().size(); ++i) {
    const ConfigNode& e = v->elements()[i];
    if (e.kind() != ConfigNode::Kind::String) {
      errors_.add(e.position(), "\"" + qualified(key) + "[" + std::to_string(i) +
                                    "]\" must be a string, not " +
                                    std::string(configKindName(e.kind())));
      continue;
    }
    values.push_back(e.text());
  }
  out = std::move(values);
}

const ConfigNode* ConfigReader::object(std::string_view key) {
  return take(key, ConfigNode::Kind::Object);
}

const ConfigNode* ConfigReader::array(std::string_view key) {
  return take(key, ConfigNode::Kind::Array);
}

void ConfigReader::finish() {
  if (finished_) {
    return;
  }
  finished_ = true;
  for (const ConfigNode::Member& m : node_.members()) {
    if (std::find(read_keys_.begin(), read_keys_.end(), m.first) != read_keys_.end()) {
      continue;
    }
    std::string best;
    std::size_t best_distance = 3;  // suggest only close matches
    for (const std::string& known : read_keys_) {
      const std::size_t d = editDistance(m.first, known);
      if (d < best_distance) {
        best_distance = d;
        best = known;
      }
    }
    std::string message = "unknown key \"" + m.first + "\" in " + (where_.empty() ? "the top level" : where_);
    if (!best.empty()) {
      message += " (did you mean \"" + best + "\"?)";
    }
    errors_.add(m.second.keyPosition(), message);
  }
}

}  // namespace gw
