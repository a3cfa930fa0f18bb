// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/FhirOutput.h"

#include <cstdio>

namespace gw::fhirin {
namespace {

void jsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void xmlEscape(std::string& out, std::string_view text) {
  for (const char ch : text) {
    switch (ch) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        out += ch;
    }
  }
}

void jsonValue(std::string& out, const OutElement& e);

// The members of an object: children grouped by name (first appearance order).
void jsonMembers(std::string& out, const OutElement& e, bool first) {
  std::vector<bool> done(e.children.size(), false);
  for (std::size_t i = 0; i < e.children.size(); ++i) {
    if (done[i]) {
      continue;
    }
    const OutElement& c = e.children[i];
    out += first ? "" : ",";
    first = false;
    jsonString(out, c.name);
    out += ':';
    if (!c.repeats) {
      jsonValue(out, c);
      continue;
    }
    out += '[';
    bool first_item = true;
    for (std::size_t j = i; j < e.children.size(); ++j) {
      if (e.children[j].name == c.name) {
        done[j] = true;
        out += first_item ? "" : ",";
        first_item = false;
        jsonValue(out, e.children[j]);
      }
    }
    out += ']';
  }
}

void jsonValue(std::string& out, const OutElement& e) {
  if (e.has_value && e.children.empty()) {
    if (e.json_literal) {
      out += e.value;
    } else {
      jsonString(out, e.value);
    }
    return;
  }
  out += '{';
  bool first = true;
  if (!e.resource_type.empty()) {
    out += "\"resourceType\":";
    jsonString(out, e.resource_type);
    first = false;
  }
  jsonMembers(out, e, first);
  out += '}';
}

void xmlElement(std::string& out, const OutElement& e, bool root) {
  if (!e.resource_type.empty() && !root) {
    // <resource><Type>...</Type></resource>
    out += '<' + e.name + '>';
    OutElement inner = e;
    inner.name = e.resource_type;
    xmlElement(out, inner, true);
    out += "</" + e.name + '>';
    return;
  }
  out += '<' + e.name;
  if (root && e.name == e.resource_type) {
    out += " xmlns=\"http://hl7.org/fhir\"";
  }
  if (e.has_value) {
    out += " value=\"";
    xmlEscape(out, e.value);
    out += '"';
  }
  if (e.children.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const OutElement& c : e.children) {
    xmlElement(out, c, false);
  }
  out += "</" + e.name + '>';
}

}  // namespace

OutElement resource(std::string type) {
  OutElement e;
  e.name = type;
  e.resource_type = std::move(type);
  return e;
}

OutElement element(std::string name, std::vector<OutElement> children) {
  OutElement e;
  e.name = std::move(name);
  e.children = std::move(children);
  return e;
}

OutElement primitive(std::string name, std::string value) {
  OutElement e;
  e.name = std::move(name);
  e.value = std::move(value);
  e.has_value = true;
  return e;
}

OutElement boolean(std::string name, bool value) {
  OutElement e = primitive(std::move(name), value ? "true" : "false");
  e.json_literal = true;
  return e;
}

OutElement integer(std::string name, long long value) {
  OutElement e = primitive(std::move(name), std::to_string(value));
  e.json_literal = true;
  return e;
}

OutElement repeated(OutElement e) {
  e.repeats = true;
  return e;
}

std::string render(const OutElement& resource, Format format) {
  std::string out;
  if (format == Format::Json) {
    jsonValue(out, resource);
  } else {
    out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    xmlElement(out, resource, true);
  }
  return out;
}

std::string_view contentType(Format format) {
  return format == Format::Json ? "application/fhir+json; charset=utf-8"
                                : "application/fhir+xml; charset=utf-8";
}

}  // namespace gw::fhirin
