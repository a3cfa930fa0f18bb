// SPDX-License-Identifier: Apache-2.0
#include "gateway/fhir/CompactTree.h"

#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "gateway/fhir/TreeBuilder.h"

namespace gw::fhir {
namespace {

constexpr char kMagic[4] = {'G', 'W', 'T', '1'};
constexpr std::uint32_t kNone = 0xFFFFFFFFu;
constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kStringBytes = 8;
constexpr std::size_t kNodeBytes = 16;

void putU32(char* out, std::uint32_t v) {
  out[0] = static_cast<char>(v & 0xFF);
  out[1] = static_cast<char>((v >> 8) & 0xFF);
  out[2] = static_cast<char>((v >> 16) & 0xFF);
  out[3] = static_cast<char>((v >> 24) & 0xFF);
}

std::uint32_t getU32(const char* in) {
  const auto* b = reinterpret_cast<const unsigned char*>(in);
  return static_cast<std::uint32_t>(b[0]) | (static_cast<std::uint32_t>(b[1]) << 8) |
         (static_cast<std::uint32_t>(b[2]) << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
}

struct NodeRecord {
  std::uint32_t parent;
  std::uint32_t name;
  std::uint32_t type;
  std::uint32_t value;
};

Status damaged(const char* what) {
  return Status::dataLoss(std::string("compact FHIR tree is damaged: ") + what);
}

}  // namespace

std::string toCompactTree(const Resource& resource) {
  std::unordered_map<std::string_view, std::uint32_t> ids;
  std::vector<std::string_view> strings;
  std::size_t text_bytes = 0;
  // Names and resource types repeat on every node and are interned; values are mostly unique,
  // so hashing them costs more than it saves: each gets its own string.
  const auto intern = [&](std::string_view s) {
    const auto [it, inserted] = ids.emplace(s, static_cast<std::uint32_t>(strings.size()));
    if (inserted) {
      strings.push_back(s);
      text_bytes += s.size();
    }
    return it->second;
  };
  const auto add = [&](std::string_view s) {
    strings.push_back(s);
    text_bytes += s.size();
    return static_cast<std::uint32_t>(strings.size() - 1);
  };

  // Pre-order walk with an explicit stack of ancestor indexes (no recursion on untrusted depth).
  std::vector<NodeRecord> nodes;
  std::vector<std::uint32_t> ancestors;
  const Node* root = &resource.root();
  const Node* n = root;
  for (;;) {
    const auto index = static_cast<std::uint32_t>(nodes.size());
    nodes.push_back({ancestors.empty() ? kNone : ancestors.back(), intern(n->name()),
                     n->isResource() ? intern(n->resourceType()) : kNone,
                     n->hasValue() ? add(n->value()) : kNone});
    if (n->firstChild() != nullptr) {
      ancestors.push_back(index);
      n = n->firstChild();
      continue;
    }
    while (n != root && n->nextSibling() == nullptr) {
      n = n->parent();
      ancestors.pop_back();
    }
    if (n == root) {
      break;
    }
    n = n->nextSibling();
  }

  std::string out(kHeaderBytes + kStringBytes * strings.size() + kNodeBytes * nodes.size() +
                      text_bytes,
                  '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  putU32(p + 4, static_cast<std::uint32_t>(nodes.size()));
  putU32(p + 8, static_cast<std::uint32_t>(strings.size()));
  putU32(p + 12, static_cast<std::uint32_t>(text_bytes));
  p += kHeaderBytes;
  char* text = out.data() + out.size() - text_bytes;
  std::uint32_t offset = 0;
  for (const std::string_view s : strings) {
    putU32(p, offset);
    putU32(p + 4, static_cast<std::uint32_t>(s.size()));
    p += kStringBytes;
    if (!s.empty()) {
      std::memcpy(text + offset, s.data(), s.size());
    }
    offset += static_cast<std::uint32_t>(s.size());
  }
  for (const NodeRecord& r : nodes) {
    putU32(p, r.parent);
    putU32(p + 4, r.name);
    putU32(p + 8, r.type);
    putU32(p + 12, r.value);
    p += kNodeBytes;
  }
  return out;
}

Result<Resource> fromCompactTree(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return damaged("no header");
  }
  const std::uint64_t node_count = getU32(bytes.data() + 4);
  const std::uint64_t string_count = getU32(bytes.data() + 8);
  const std::uint64_t text_bytes = getU32(bytes.data() + 12);
  if (node_count == 0) {
    return damaged("no nodes");
  }
  if (kHeaderBytes + kStringBytes * string_count + kNodeBytes * node_count + text_bytes !=
      bytes.size()) {
    return damaged("sizes do not add up");
  }
  detail::TreeBuilder builder;
  char* text = text_bytes == 0 ? nullptr : builder.allocate(static_cast<std::size_t>(text_bytes));
  if (text != nullptr) {
    std::memcpy(text, bytes.data() + bytes.size() - text_bytes, text_bytes);
  }
  std::vector<std::string_view> strings(static_cast<std::size_t>(string_count));
  const char* p = bytes.data() + kHeaderBytes;
  for (std::string_view& s : strings) {
    const std::uint64_t offset = getU32(p);
    const std::uint64_t length = getU32(p + 4);
    p += kStringBytes;
    if (offset + length > text_bytes) {
      return damaged("string out of range");
    }
    s = length == 0 ? std::string_view() : std::string_view(text + offset, length);
  }
  std::vector<Node*> nodes(static_cast<std::size_t>(node_count));
  for (std::size_t i = 0; i < nodes.size(); ++i, p += kNodeBytes) {
    const std::uint32_t parent = getU32(p);
    const std::uint32_t name = getU32(p + 4);
    const std::uint32_t type = getU32(p + 8);
    const std::uint32_t value = getU32(p + 12);
    // Pre-order: only the root has no parent, every other parent came earlier.
    if ((i == 0) != (parent == kNone) || (i > 0 && parent >= i)) {
      return damaged("node order");
    }
    if (name >= string_count || (type != kNone && type >= string_count) ||
        (value != kNone && value >= string_count)) {
      return damaged("string id out of range");
    }
    Node* node = builder.append(i == 0 ? nullptr : nodes[parent], strings[name]);
    if (type != kNone) {
      detail::TreeBuilder::setResourceType(node, strings[type]);
    }
    if (value != kNone) {
      detail::TreeBuilder::setValue(node, strings[value]);
    }
    nodes[i] = node;
  }
  if (!nodes[0]->isResource()) {
    return damaged("the root is not a resource");
  }
  return builder.finish(nodes[0]);
}

}  // namespace gw::fhir
