// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/fhir/Resource.h"

// Private to gw_fhir: storage behind a Resource and the only code that mutates Nodes.
namespace gw::fhir::detail {

// Owns every Node and every byte of text of one Resource. Chunks never move, so Node* and
// string_view stay valid when the Storage (held by unique_ptr) changes owner.
struct Storage {
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // The JSON document, parsed in place: names and values point into it.
  std::unique_ptr<char[]> input;

  std::vector<std::unique_ptr<Node[]>> node_chunks;
  std::size_t node_chunk_size = 0;
  std::size_t node_chunk_used = 0;

  std::vector<std::unique_ptr<char[]>> text_chunks;
  std::size_t text_chunk_size = 0;
  std::size_t text_chunk_used = 0;

  Node* root = nullptr;

  // Bundle index, built once by TreeBuilder::finish(). A nullptr value marks an ambiguous key.
  std::vector<const Node*> entries;
  std::unordered_map<std::string_view, const Node*> by_full_url;  // fullUrl -> entry.resource
  std::unordered_map<std::string_view, const Node*> by_type_id;   // "Type/id" -> entry.resource
  std::unordered_map<const Node*, std::string_view> full_url_of;  // entry.resource -> fullUrl
};

class TreeBuilder {
 public:
  TreeBuilder() : storage_(std::make_unique<Storage>()) {}

  Storage& storage() { return *storage_; }

  // A new node appended as the last child of `parent` (nullptr: the root).
  Node* append(Node* parent, std::string_view name);
  // A copy of `text` owned by the storage.
  std::string_view copy(std::string_view text);
  // `size` bytes owned by the storage.
  char* allocate(std::size_t size);

  static void setValue(Node* node, std::string_view value) {
    node->value_ = value;
    node->has_value_ = true;
  }
  static void setResourceType(Node* node, std::string_view type) { node->resource_type_ = type; }
  static void setName(Node* node, std::string_view name) { node->name_ = name; }
  static void setNullPlaceholder(Node* node, bool on) { node->null_placeholder_ = on; }
  static bool isNullPlaceholder(const Node* node) { return node->null_placeholder_; }
  static Node* firstChild(Node* node) { return node->first_child_; }
  static Node* nextSibling(Node* node) { return node->next_sibling_; }
  static Node* parent(Node* node) { return node->parent_; }
  // Replaces the children of `parent` by `children` (nodes already in this tree), in order.
  static void relink(Node* parent, const std::vector<Node*>& children);
  // Appends the children of `from` to those of `to` (in order); `from` is left empty.
  static void moveChildren(Node* from, Node* to);
  // Removes the first child named `name`, if any.
  static void removeChild(Node* parent, std::string_view name);

  // Builds the Bundle index and hands the storage to a Resource. `root` must be a resource.
  Resource finish(Node* root);

 private:
  std::unique_ptr<Storage> storage_;
};

}  // namespace gw::fhir::detail
