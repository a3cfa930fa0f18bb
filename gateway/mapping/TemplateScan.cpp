// SPDX-License-Identifier: Apache-2.0
#include "gateway/mapping/TemplateScan.h"

namespace gw::mapping::detail {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

}  // namespace

void lineColumn(std::string_view text, std::size_t offset, int& line, int& column) {
  line = 1;
  column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

TemplateScan scanTemplate(std::string_view text) {
  TemplateScan scan;
  std::vector<std::pair<std::string, std::size_t>> open;  // section name, offset
  std::size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    const std::size_t start = pos;
    const bool triple = text.compare(pos, 3, "{{{") == 0;
    const std::string_view close = triple ? "}}}" : "}}";
    const std::size_t body_start = pos + (triple ? 3 : 2);
    const std::size_t end = text.find(close, body_start);
    if (end == std::string_view::npos) {
      scan.error = "unclosed tag";
      scan.error_offset = start;
      return scan;
    }
    std::string_view body = text.substr(body_start, end - body_start);
    pos = end + close.size();
    char sigil = body.empty() ? '\0' : body.front();
    if (triple) {
      sigil = '{';
    } else if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!' || sigil == '&' ||
               sigil == '>' || sigil == '=') {
      body.remove_prefix(1);
    } else {
      sigil = '\0';
    }
    if (sigil == '!') {
      continue;
    }
    if (sigil == '>' || sigil == '=') {
      scan.error = sigil == '>' ? "partials ({{>name}}) are not supported"
                                : "set-delimiter tags ({{=...=}}) are not supported";
      scan.error_offset = start;
      return scan;
    }
    std::string name = trim(body);
    if (name.empty()) {
      scan.error = "empty tag";
      scan.error_offset = start;
      return scan;
    }
    if (sigil == '/') {
      if (open.empty() || open.back().first != name) {
        scan.error = "closing tag {{/" + name + "}} does not match " +
                     (open.empty() ? std::string("any open section")
                                   : "the open section {{#" + open.back().first + "}}");
        scan.error_offset = start;
        return scan;
      }
      open.pop_back();
      continue;
    }
    TemplateTag tag;
    tag.name = name;
    tag.offset = start;
    tag.section = sigil == '#' || sigil == '^';
    for (const auto& o : open) {
      tag.enclosing.push_back(o.first);
    }
    scan.tags.push_back(std::move(tag));
    if (sigil == '#' || sigil == '^') {
      open.emplace_back(name, start);
    }
  }
  if (!open.empty()) {
    scan.error = "section {{#" + open.back().first + "}} is never closed";
    scan.error_offset = open.back().second;
  }
  return scan;
}

}  // namespace gw::mapping::detail
