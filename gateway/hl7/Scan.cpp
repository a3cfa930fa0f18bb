// SPDX-License-Identifier: Apache-2.0
#include "gateway/hl7/Scan.h"

namespace gw::hl7::detail {
namespace {

// A delimiter must be a printable, non-alphanumeric ASCII character (HL7 v2.5.1 ch. 2.5.4
// recommends | ^ ~ \ &; any other choice is legal as long as it cannot occur in data).
bool isValidDelimiter(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7F && !isAsciiAlnum(c);
}

}  // namespace

const char* readDelimiters(std::string_view line, Delimiters& delimiters, std::size_t& msh2_end) {
  if (line.size() <= 3) {
    return "MSH-1 (field separator) is missing";
  }
  Delimiters d;
  d.field = line[3];
  if (!isValidDelimiter(d.field)) {
    return "MSH-1 (field separator) is invalid";
  }
  std::size_t end = 4;
  while (end < line.size() && line[end] != d.field) {
    ++end;
  }
  const std::string_view encoding = line.substr(4, end - 4);
  if (encoding.size() > 5) {
    return "MSH-2 (encoding characters) is invalid: more than 5 characters";
  }
  // Missing trailing characters stay '\0' (unused), so "MSH|^|" has only a component separator
  // and "MSH||" has none at all.
  char* const slots[] = {&d.component, &d.repetition, &d.escape, &d.subcomponent, &d.truncation};
  for (auto* slot : slots) {
    *slot = '\0';
  }
  for (std::size_t i = 0; i < encoding.size(); ++i) {
    const char c = encoding[i];
    if (!isValidDelimiter(c)) {
      return "MSH-2 (encoding characters) is invalid: letter, digit, space or control character";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (encoding[j] == c) {
        return "MSH-2 (encoding characters) is invalid: a character is repeated";
      }
    }
    *slots[i] = c;
  }
  delimiters = d;
  msh2_end = end;
  return nullptr;
}

}  // namespace gw::hl7::detail
