// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

// Private to gw_mapping: what a Mustache template refers to, for the load-time checks.
namespace gw::mapping::detail {

struct TemplateTag {
  std::string name;  // "patient.given", "." for the implicit iterator
  std::size_t offset = 0;
  bool section = false;  // {{#name}} or {{^name}}
  // Names of the sections the tag is inside, outermost first.
  std::vector<std::string> enclosing;
};

struct TemplateScan {
  std::vector<TemplateTag> tags;
  std::string error;  // non-empty: what is wrong
  std::size_t error_offset = 0;
};

// Scans a template with the default {{ }} delimiters. Refused (as errors): set-delimiter tags and
// partials (the engine renders each template on its own), unbalanced sections.
TemplateScan scanTemplate(std::string_view text);

// 1-based line and column of a byte offset.
void lineColumn(std::string_view text, std::size_t offset, int& line, int& column);

}  // namespace gw::mapping::detail
