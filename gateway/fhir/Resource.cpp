// SPDX-License-Identifier: Apache-2.0
#include "gateway/fhir/Resource.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

#include "gateway/fhir/TreeBuilder.h"

namespace gw::fhir {

// ---- Node ----------------------------------------------------------------------------------

const Node* Node::child(std::string_view name) const {
  for (const Node* c = first_child_; c != nullptr; c = c->next_sibling_) {
    if (c->name_ == name) {
      return c;
    }
  }
  return nullptr;
}

std::string_view Node::childValue(std::string_view name) const {
  const Node* c = child(name);
  return c == nullptr ? std::string_view() : c->value();
}

std::string Node::path() const {
  std::vector<std::string> parts;
  for (const Node* n = this; n != nullptr; n = n->parent_) {
    if (n->parent_ == nullptr) {
      parts.emplace_back(n->resource_type_.empty() ? n->name_ : n->resource_type_);
      break;
    }
    std::size_t index = 0;
    std::size_t same = 0;
    for (const Node* s = n->parent_->first_child_; s != nullptr; s = s->next_sibling_) {
      if (s->name_ == n->name_) {
        if (s == n) {
          index = same;
        }
        ++same;
      }
    }
    std::string part(n->name_);
    if (same > 1) {
      part += "[" + std::to_string(index) + "]";
    }
    parts.push_back(std::move(part));
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!out.empty()) {
      out += '.';
    }
    out += *it;
  }
  return out;
}

// ---- TreeBuilder ---------------------------------------------------------------------------

namespace detail {

namespace {
constexpr std::size_t kFirstNodeChunk = 64;
constexpr std::size_t kMaxNodeChunk = 4096;
constexpr std::size_t kFirstTextChunk = 4096;
constexpr std::size_t kMaxTextChunk = 64 * 1024;
}  // namespace

Node* TreeBuilder::append(Node* parent, std::string_view name) {
  Storage& s = *storage_;
  if (s.node_chunks.empty() || s.node_chunk_used == s.node_chunk_size) {
    s.node_chunk_size =
        s.node_chunks.empty() ? kFirstNodeChunk : std::min(s.node_chunk_size * 2, kMaxNodeChunk);
    s.node_chunks.emplace_back(new Node[s.node_chunk_size]);
    s.node_chunk_used = 0;
  }
  Node* node = &s.node_chunks.back()[s.node_chunk_used++];
  node->name_ = name;
  node->parent_ = parent;
  if (parent != nullptr) {
    if (parent->last_child_ == nullptr) {
      parent->first_child_ = node;
    } else {
      parent->last_child_->next_sibling_ = node;
    }
    parent->last_child_ = node;
    ++parent->child_count_;
  }
  return node;
}

char* TreeBuilder::allocate(std::size_t size) {
  Storage& s = *storage_;
  if (size > kMaxTextChunk / 4) {  // large text gets a chunk of its own
    s.text_chunks.emplace_back(new char[size]);
    // Keep the current chunk for small text: swap the big one behind it.
    if (s.text_chunks.size() >= 2) {
      std::swap(s.text_chunks.back(), s.text_chunks[s.text_chunks.size() - 2]);
      return s.text_chunks[s.text_chunks.size() - 2].get();
    }
    s.text_chunk_used = s.text_chunk_size = 0;  // no current chunk for small text yet
    return s.text_chunks.back().get();
  }
  if (s.text_chunks.empty() || s.text_chunk_size - s.text_chunk_used < size) {
    s.text_chunk_size =
        s.text_chunk_size == 0 ? kFirstTextChunk : std::min(s.text_chunk_size * 2, kMaxTextChunk);
    // Text between the first chunk's size and the own-chunk threshold must still fit.
    s.text_chunk_size = std::max(s.text_chunk_size, size);
    s.text_chunks.emplace_back(new char[s.text_chunk_size]);
    s.text_chunk_used = 0;
  }
  char* out = s.text_chunks.back().get() + s.text_chunk_used;
  s.text_chunk_used += size;
  return out;
}

std::string_view TreeBuilder::copy(std::string_view text) {
  if (text.empty()) {
    return std::string_view();
  }
  char* out = allocate(text.size());
  std::memcpy(out, text.data(), text.size());
  return std::string_view(out, text.size());
}

void TreeBuilder::relink(Node* parent, const std::vector<Node*>& children) {
  parent->first_child_ = parent->last_child_ = nullptr;
  parent->child_count_ = 0;
  for (Node* c : children) {
    c->parent_ = parent;
    c->next_sibling_ = nullptr;
    if (parent->last_child_ == nullptr) {
      parent->first_child_ = c;
    } else {
      parent->last_child_->next_sibling_ = c;
    }
    parent->last_child_ = c;
    ++parent->child_count_;
  }
}

void TreeBuilder::moveChildren(Node* from, Node* to) {
  for (Node* c = from->first_child_; c != nullptr; c = c->next_sibling_) {
    c->parent_ = to;
  }
  if (from->first_child_ == nullptr) {
    return;
  }
  if (to->last_child_ == nullptr) {
    to->first_child_ = from->first_child_;
  } else {
    to->last_child_->next_sibling_ = from->first_child_;
  }
  to->last_child_ = from->last_child_;
  to->child_count_ += from->child_count_;
  from->first_child_ = from->last_child_ = nullptr;
  from->child_count_ = 0;
}

void TreeBuilder::removeChild(Node* parent, std::string_view name) {
  Node* previous = nullptr;
  for (Node* c = parent->first_child_; c != nullptr; previous = c, c = c->next_sibling_) {
    if (c->name_ != name) {
      continue;
    }
    if (previous == nullptr) {
      parent->first_child_ = c->next_sibling_;
    } else {
      previous->next_sibling_ = c->next_sibling_;
    }
    if (parent->last_child_ == c) {
      parent->last_child_ = previous;
    }
    --parent->child_count_;
    c->parent_ = nullptr;
    c->next_sibling_ = nullptr;
    return;
  }
}

namespace {
// Inserts `key`, or marks it ambiguous (nullptr) when it is already there.
void insertUnique(std::unordered_map<std::string_view, const Node*>& map, std::string_view key,
                  const Node* node) {
  auto [it, inserted] = map.emplace(key, node);
  if (!inserted) {
    it->second = nullptr;
  }
}
}  // namespace

Resource TreeBuilder::finish(Node* root) {
  Storage& s = *storage_;
  s.root = root;
  if (root->resource_type_ == "Bundle") {
    for (Node* entry = root->first_child_; entry != nullptr; entry = entry->next_sibling_) {
      if (entry->name_ != "entry") {
        continue;
      }
      s.entries.push_back(entry);
      const Node* resource = entry->child("resource");
      if (resource == nullptr || !resource->isResource()) {
        continue;
      }
      const std::string_view full_url = entry->childValue("fullUrl");
      if (!full_url.empty()) {
        insertUnique(s.by_full_url, full_url, resource);
        s.full_url_of.emplace(resource, full_url);
      }
      const std::string_view id = resource->childValue("id");
      if (!id.empty()) {
        const std::string_view type = resource->resourceType();
        char* key = allocate(type.size() + 1 + id.size());
        std::memcpy(key, type.data(), type.size());
        key[type.size()] = '/';
        std::memcpy(key + type.size() + 1, id.data(), id.size());
        insertUnique(s.by_type_id, std::string_view(key, type.size() + 1 + id.size()), resource);
      }
    }
  }
  return Resource(std::move(storage_));
}

}  // namespace detail

// ---- Resource ------------------------------------------------------------------------------

Resource::Resource(std::unique_ptr<detail::Storage> storage)
    : storage_(std::move(storage)), root_(storage_->root) {}
Resource::Resource(Resource&&) noexcept = default;
Resource& Resource::operator=(Resource&&) noexcept = default;
Resource::~Resource() = default;

std::string_view Resource::bundleType() const {
  return isBundle() ? root_->childValue("type") : std::string_view();
}

const std::vector<const Node*>& Resource::entries() const { return storage_->entries; }

namespace {

// True when `reference` starts with a URI scheme ("urn:", "https:"): a ':' before any '/'.
bool isAbsolute(std::string_view reference) {
  if (reference.empty() || !std::isalpha(static_cast<unsigned char>(reference[0]))) {
    return false;
  }
  for (const char c : reference) {
    if (c == ':') {
      return true;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return false;
}

// "Patient/1/_history/2" -> "Patient/1".
std::string_view withoutHistory(std::string_view reference) {
  const std::size_t at = reference.find("/_history/");
  return at == std::string_view::npos ? reference : reference.substr(0, at);
}

bool isTypeName(std::string_view s) {
  if (s.empty() || s[0] < 'A' || s[0] > 'Z') {
    return false;
  }
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

// The base of a RESTful URL ".../Type/id" (with the trailing '/'), or nullopt.
std::optional<std::string_view> restBase(std::string_view full_url) {
  const std::size_t last = full_url.rfind('/');
  if (last == std::string_view::npos || last == 0 || last + 1 == full_url.size()) {
    return std::nullopt;
  }
  const std::size_t type_start = full_url.rfind('/', last - 1);
  if (type_start == std::string_view::npos) {
    return std::nullopt;
  }
  if (!isTypeName(full_url.substr(type_start + 1, last - type_start - 1))) {
    return std::nullopt;
  }
  return full_url.substr(0, type_start + 1);
}

}  // namespace

const Node* Resource::resolve(std::string_view reference, const Node* from) const {
  if (reference.empty()) {
    return nullptr;
  }
  if (reference[0] == '#') {
    if (from == nullptr) {
      return nullptr;
    }
    // The nearest enclosing resource; a contained resource refers through its container.
    const Node* container = from;
    while (container != nullptr && !container->isResource()) {
      container = container->parent();
    }
    if (container != nullptr && container->name() == "contained" &&
        container->parent() != nullptr) {
      container = container->parent();
      while (container != nullptr && !container->isResource()) {
        container = container->parent();
      }
    }
    if (container == nullptr) {
      return nullptr;
    }
    const std::string_view id = reference.substr(1);
    if (id.empty()) {
      return container;
    }
    const Node* found = nullptr;
    for (const Node& c : container->children()) {
      if (c.name() == "contained" && c.childValue("id") == id) {
        if (found != nullptr) {
          return nullptr;  // ambiguous
        }
        found = &c;
      }
    }
    return found;
  }
  const detail::Storage& s = *storage_;
  if (isAbsolute(reference)) {
    const auto it = s.by_full_url.find(reference);
    return it == s.by_full_url.end() ? nullptr : it->second;
  }
  const std::string_view relative = withoutHistory(reference);
  if (from != nullptr) {
    // The entry.resource that holds `from`: the node right below an entry of the root Bundle.
    const Node* holder = from;
    while (holder != nullptr && !(holder->isResource() && holder->parent() != nullptr &&
                                  holder->parent()->name() == "entry" &&
                                  holder->parent()->parent() == root_)) {
      holder = holder->parent();
    }
    if (holder != nullptr) {
      const auto url = s.full_url_of.find(holder);
      if (url != s.full_url_of.end()) {
        if (const std::optional<std::string_view> base = restBase(url->second)) {
          std::string key(*base);
          key += relative;
          const auto it = s.by_full_url.find(key);
          if (it != s.by_full_url.end()) {
            return it->second;
          }
        }
      }
    }
  }
  const auto it = s.by_type_id.find(relative);
  return it == s.by_type_id.end() ? nullptr : it->second;
}

// ---- canonical form ------------------------------------------------------------------------

namespace {

// Children sorted by name; repetitions keep their document order (stable sort).
std::vector<const Node*> sortedChildren(const Node& node) {
  std::vector<const Node*> out;
  out.reserve(node.childCount());
  for (const Node& c : node.children()) {
    out.push_back(&c);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Node* a, const Node* b) { return a->name() < b->name(); });
  return out;
}

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void appendCanonical(std::string& out, const Node& node) {
  out += '{';
  bool first = true;
  if (node.isResource()) {
    out += "\"@resourceType\":";
    appendJsonString(out, node.resourceType());
    first = false;
  }
  if (node.hasValue()) {
    if (!first) {
      out += ',';
    }
    out += "\"@value\":";
    appendJsonString(out, node.value());
    first = false;
  }
  const std::vector<const Node*> children = sortedChildren(node);
  for (std::size_t i = 0; i < children.size();) {
    const std::string_view name = children[i]->name();
    if (!first) {
      out += ',';
    }
    first = false;
    appendJsonString(out, name);
    out += ":[";
    const std::size_t start = i;
    for (; i < children.size() && children[i]->name() == name; ++i) {
      if (i != start) {
        out += ',';
      }
      appendCanonical(out, *children[i]);
    }
    out += ']';
  }
  out += '}';
}

// Shared by equivalent() and firstDifference(): `path` is only extended when `want_path`.
bool sameTree(const Node& a, const Node& b, bool want_path, std::string& path) {
  if (a.resourceType() != b.resourceType() || a.hasValue() != b.hasValue() ||
      a.value() != b.value()) {
    return false;
  }
  if (a.childCount() == 0 && b.childCount() == 0) {
    return true;
  }
  const std::vector<const Node*> ca = sortedChildren(a);
  const std::vector<const Node*> cb = sortedChildren(b);
  // Same names with the same number of repetitions on both sides?
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < ca.size() || j < cb.size()) {
    std::string_view name;
    if (i < ca.size() && j < cb.size()) {
      name = std::min(ca[i]->name(), cb[j]->name());
    } else {
      name = i < ca.size() ? ca[i]->name() : cb[j]->name();
    }
    std::size_t ea = i;
    while (ea < ca.size() && ca[ea]->name() == name) {
      ++ea;
    }
    std::size_t eb = j;
    while (eb < cb.size() && cb[eb]->name() == name) {
      ++eb;
    }
    if (ea - i != eb - j) {
      if (want_path) {
        path += '.';
        path += name;
      }
      return false;
    }
    i = ea;
    j = eb;
  }
  // The groups line up, so ca[k] and cb[k] have the same name.
  for (std::size_t start = 0; start < ca.size();) {
    const std::string_view name = ca[start]->name();
    std::size_t end = start;
    while (end < ca.size() && ca[end]->name() == name) {
      ++end;
    }
    for (std::size_t k = start; k < end; ++k) {
      const std::size_t mark = path.size();
      if (want_path) {
        path += '.';
        path += name;
        if (end - start > 1) {
          path += "[" + std::to_string(k - start) + "]";
        }
      }
      if (!sameTree(*ca[k], *cb[k], want_path, path)) {
        return false;
      }
      path.resize(mark);
    }
    start = end;
  }
  return true;
}

}  // namespace

std::string canonicalJson(const Node& node) {
  std::string out;
  appendCanonical(out, node);
  return out;
}

bool equivalent(const Node& a, const Node& b) {
  std::string unused;
  return sameTree(a, b, false, unused);
}

std::optional<std::string> firstDifference(const Node& a, const Node& b) {
  std::string path(a.isResource() ? a.resourceType() : a.name());
  if (sameTree(a, b, true, path)) {
    return std::nullopt;
  }
  return path;
}

}  // namespace gw::fhir
