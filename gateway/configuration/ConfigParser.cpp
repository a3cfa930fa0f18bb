// SPDX-License-Identifier: Apache-2.0
#include "gateway/configuration/ConfigParser.h"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace gw::config {
namespace {

// Maps byte offsets to 1-based line and column.
class LineIndex {
 public:
  LineIndex(std::string_view text, std::string file) : file_(std::move(file)) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') {
        line_starts_.push_back(i + 1);
      }
    }
  }
  SourcePosition at(std::size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const std::size_t line = static_cast<std::size_t>(it - line_starts_.begin());
    const std::size_t column = offset - line_starts_[line - 1] + 1;
    return SourcePosition{file_, static_cast<int>(line), static_cast<int>(column)};
  }

 private:
  std::string file_;
  std::vector<std::size_t> line_starts_;
};

// RapidJSON calls the handler after it consumed a token, so the handler finds each token's start
// by scanning back from the stream's offset over the token just read.
class TreeBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, TreeBuilder> {
 public:
  TreeBuilder(std::string_view text, const rapidjson::MemoryStream& stream, const LineIndex& index)
      : text_(text), stream_(stream), index_(index) {}

  bool Null() { return scalar(ConfigNode::Kind::Null, scalarStart()); }
  bool Bool(bool b) {
    ConfigNode node(ConfigNode::Kind::Bool, index_.at(scalarStart()));
    node.setBool(b);
    return add(std::move(node));
  }
  bool RawNumber(const char* str, rapidjson::SizeType length, bool) {
    ConfigNode node(ConfigNode::Kind::Number, index_.at(scalarStart()));
    node.setText(std::string(str, length));
    return add(std::move(node));
  }
  bool String(const char* str, rapidjson::SizeType length, bool) {
    ConfigNode node(ConfigNode::Kind::String, index_.at(stringStart()));
    node.setText(std::string(str, length));
    return add(std::move(node));
  }
  bool StartObject() { return open(ConfigNode::Kind::Object); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool StartArray() { return open(ConfigNode::Kind::Array); }
  bool EndArray(rapidjson::SizeType) { return close(); }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    pending_key_.assign(str, length);
    pending_key_position_ = index_.at(stringStart());
    const ConfigNode& object = stack_.back();
    if (object.find(pending_key_) != nullptr) {
      error_ = Status::parseError("duplicate key \"" + pending_key_ + "\"")
                   .withPosition(pending_key_position_);
      return false;
    }
    return true;
  }

  ConfigNode takeRoot() { return std::move(root_); }
  const Status& error() const { return error_; }

 private:
  std::size_t end() const { return stream_.Tell(); }

  // Start of a number or literal that ends at the stream offset.
  std::size_t scalarStart() const {
    std::size_t i = end();
    while (i > 0) {
      const char c = text_[i - 1];
      const bool token = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' ||
                         c == '+' || c == '.' || c == 'E';
      if (!token) {
        break;
      }
      --i;
    }
    return i;
  }

  // Start (the opening quote) of a string that ends at the stream offset.
  std::size_t stringStart() const {
    std::size_t i = end();  // just past the closing quote
    if (i == 0) {
      return 0;
    }
    --i;  // closing quote
    while (i > 0) {
      --i;
      if (text_[i] != '"') {
        continue;
      }
      std::size_t backslashes = 0;
      for (std::size_t j = i; j > 0 && text_[j - 1] == '\\'; --j) {
        ++backslashes;
      }
      if (backslashes % 2 == 0) {
        return i;
      }
    }
    return 0;
  }

  bool scalar(ConfigNode::Kind kind, std::size_t start) {
    return add(ConfigNode(kind, index_.at(start)));
  }

  bool add(ConfigNode node) {
    if (stack_.empty()) {
      root_ = std::move(node);
      return true;
    }
    ConfigNode& parent = stack_.back();
    if (parent.isObject()) {
      node.setKeyPosition(pending_key_position_);
      parent.mutableMembers().emplace_back(std::move(pending_key_), std::move(node));
      pending_key_.clear();
    } else {
      parent.mutableElements().push_back(std::move(node));
    }
    return true;
  }

  bool open(ConfigNode::Kind kind) {
    if (stack_.size() >= kMaxDepth) {
      error_ = Status::parseError("nesting deeper than " + std::to_string(kMaxDepth) + " levels")
                   .withPosition(index_.at(end() - 1));
      return false;
    }
    ConfigNode node(kind, index_.at(end() - 1));
    if (!stack_.empty() && stack_.back().isObject()) {
      node.setKeyPosition(pending_key_position_);
      keys_.push_back(std::move(pending_key_));
      pending_key_.clear();
    } else {
      keys_.emplace_back();
    }
    stack_.push_back(std::move(node));
    return true;
  }

  bool close() {
    ConfigNode node = std::move(stack_.back());
    stack_.pop_back();
    std::string key = std::move(keys_.back());
    keys_.pop_back();
    if (stack_.empty()) {
      root_ = std::move(node);
      return true;
    }
    ConfigNode& parent = stack_.back();
    if (parent.isObject()) {
      parent.mutableMembers().emplace_back(std::move(key), std::move(node));
    } else {
      parent.mutableElements().push_back(std::move(node));
    }
    return true;
  }

  static constexpr std::size_t kMaxDepth = 64;
  std::string_view text_;
  const rapidjson::MemoryStream& stream_;
  const LineIndex& index_;
  std::vector<ConfigNode> stack_;
  std::vector<std::string> keys_;
  std::string pending_key_;
  SourcePosition pending_key_position_;
  ConfigNode root_;
  Status error_;
};

}  // namespace

Result<ConfigNode> parseJson(std::string_view text, const std::string& file) {
  std::size_t skip = 0;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") {
    skip = 3;
  }
  // Offsets are kept relative to the whole text so columns match what an editor shows.
  const LineIndex index(text, file);
  rapidjson::MemoryStream stream(text.data(), text.size());
  for (std::size_t i = 0; i < skip; ++i) {
    stream.Take();
  }
  TreeBuilder builder(text, stream, index);
  rapidjson::Reader reader;
  constexpr unsigned kFlags = rapidjson::kParseCommentsFlag | rapidjson::kParseTrailingCommasFlag |
                              rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag;
  const rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, builder);
  if (!ok) {
    if (!builder.error().isOk()) {
      return builder.error();
    }
    return Status::parseError(rapidjson::GetParseError_En(ok.Code()))
        .withPosition(index.at(ok.Offset()));
  }
  return builder.takeRoot();
}

Result<ConfigNode> parseJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::notFound("cannot read config file " + path);
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return parseJson(buffer.str(), path);
}

}  // namespace gw::config
