// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/Checkpoint.h"

#include <openssl/evp.h>

#include <cstring>

namespace gw {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 em dash, space
// signed-note: at most 100 signatures are looked at by the reference implementation.
constexpr std::size_t kMaxSignatures = 100;

bool hasControlCharacter(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return true;
    }
  }
  return false;
}

Result<std::uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) {
    return Status::parseError("tree size \"" + std::string(s) + "\" is not a decimal number");
  }
  std::uint64_t value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') {
      return Status::parseError("tree size \"" + std::string(s) + "\" is not a decimal number");
    }
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return Status::parseError("tree size \"" + std::string(s) + "\" is out of range");
    }
    value = value * 10 + digit;
  }
  return value;
}

Result<NoteSignature> parseSignatureLine(std::string_view line) {
  if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
    return Status::parseError("note signature line does not start with an em dash and a space");
  }
  line.remove_prefix(kSignaturePrefix.size());
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0 || line.find(' ', space + 1) != line.npos) {
    return Status::parseError("note signature line is not \"<key name> <base64 signature>\"");
  }
  NoteSignature sig;
  sig.key_name = std::string(line.substr(0, space));
  if (sig.key_name.find('+') != std::string::npos || hasControlCharacter(sig.key_name)) {
    return Status::parseError("note signature key name holds '+' or a control character");
  }
  GW_ASSIGN_OR_RETURN(std::string raw, base64Decode(line.substr(space + 1)));
  if (raw.size() < 5) {
    return Status::parseError("note signature of key " + sig.key_name + " is too short");
  }
  sig.key_hash = (std::uint32_t{static_cast<std::uint8_t>(raw[0])} << 24) |
                 (std::uint32_t{static_cast<std::uint8_t>(raw[1])} << 16) |
                 (std::uint32_t{static_cast<std::uint8_t>(raw[2])} << 8) |
                 std::uint32_t{static_cast<std::uint8_t>(raw[3])};
  sig.signature = raw.substr(4);
  return sig;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  if (!bytes.empty()) {
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::parseError("base64 text length is not a multiple of 4");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool pad = c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!alnum && c != '+' && c != '/' && !pad) {
      return Status::parseError("malformed base64");
    }
  }
  std::string out(3 * (text.size() / 4), '\0');
  if (text.empty()) {
    return out;
  }
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) {
    return Status::parseError("malformed base64");
  }
  std::size_t padding = 0;
  if (text.back() == '=') {
    padding = text[text.size() - 2] == '=' ? 2 : 1;
  }
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

Result<std::string> formatCheckpoint(const Checkpoint& checkpoint) {
  if (checkpoint.origin.empty() || hasControlCharacter(checkpoint.origin)) {
    return Status::invalidArgument("checkpoint origin is empty or holds a control character");
  }
  const std::string_view root(reinterpret_cast<const char*>(checkpoint.root.data()),
                              checkpoint.root.size());
  return checkpoint.origin + "\n" + std::to_string(checkpoint.tree_size) + "\n" +
         base64Encode(root) + "\n";
}

Result<Checkpoint> parseCheckpoint(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Status::parseError("checkpoint text does not end in a newline");
  }
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() < 3) {
    return Status::parseError("checkpoint has fewer than three lines");
  }
  Checkpoint c;
  c.origin = std::string(lines[0]);
  if (c.origin.empty()) {
    return Status::parseError("checkpoint origin line is empty");
  }
  GW_ASSIGN_OR_RETURN(c.tree_size, parseDecimal(lines[1]));
  GW_ASSIGN_OR_RETURN(std::string root, base64Decode(lines[2]));
  if (root.size() != c.root.size()) {
    return Status::parseError("checkpoint root hash is not 32 bytes");
  }
  std::memcpy(c.root.data(), root.data(), root.size());
  return c;
}

Result<SignedNote> parseSignedNote(std::string_view note) {
  const std::size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::parseError("note has no blank line before its signatures");
  }
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  std::string_view rest = note.substr(split + 2);
  if (rest.empty() || rest.back() != '\n') {
    return Status::parseError("note signatures do not end in a newline");
  }
  while (!rest.empty()) {
    const std::size_t end = rest.find('\n');
    GW_ASSIGN_OR_RETURN(NoteSignature sig, parseSignatureLine(rest.substr(0, end)));
    out.signatures.push_back(std::move(sig));
    if (out.signatures.size() > kMaxSignatures) {
      return Status::parseError("note has more than 100 signatures");
    }
    rest.remove_prefix(end + 1);
  }
  return out;
}

std::string formatSignedNote(const SignedNote& note) {
  std::string out = note.text;
  out += '\n';
  for (const NoteSignature& sig : note.signatures) {
    std::string raw(4, '\0');
    raw[0] = static_cast<char>((sig.key_hash >> 24) & 0xFF);
    raw[1] = static_cast<char>((sig.key_hash >> 16) & 0xFF);
    raw[2] = static_cast<char>((sig.key_hash >> 8) & 0xFF);
    raw[3] = static_cast<char>(sig.key_hash & 0xFF);
    raw += sig.signature;
    out.append(kSignaturePrefix).append(sig.key_name).append(" ").append(base64Encode(raw));
    out += '\n';
  }
  return out;
}

}  // namespace gw
