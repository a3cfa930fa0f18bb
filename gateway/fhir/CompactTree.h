// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/Result.h"
#include "gateway/fhir/Resource.h"

namespace gw::fhir {

// A parsed Resource as a flat binary form, so the parse done at intake is not repeated by the
// mapper: FHIR intake stores it (sealed, beside the original bytes, which stay the record) and
// the mapper loads it with fromCompactTree() instead of parsing JSON or XML again.
//
// Layout (all integers unsigned 32-bit little-endian):
//   "GWT1"  node_count  string_count  text_bytes
//   string_count x (offset, length)            into the text
//   node_count   x (parent, name, type, value) string ids; parent/type/value 0xFFFFFFFF = none
//   text_bytes bytes of text
// Nodes are in document pre-order (the root first; a parent before its children; siblings in
// order), so loading is one pass that links each node under its parent; names and resource
// types are interned (values are not: they rarely repeat). Loading re-tokenises nothing and checks only what keeps it memory
// safe (ids and offsets in range, parents before children), so a damaged form is refused
// (DataLoss), never read out of bounds. The Bundle index (Resource::resolve) is rebuilt by the
// loader, so references resolve inside the Bundle exactly as after a parse.
//
// The form holds every value of the resource: it is PHI, stored only sealed.
std::string toCompactTree(const Resource& resource);

// The Resource written by toCompactTree(): a tree equivalent() to the original, with the same
// names, values, resource types, order and Bundle references. DataLoss when `bytes` is not such a
// form (wrong magic, truncated, ids or offsets out of range, the root not a resource).
Result<Resource> fromCompactTree(std::string_view bytes);

}  // namespace gw::fhir
