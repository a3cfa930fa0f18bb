// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Result.h"
#include "gateway/audit/MerkleTree.h"

namespace gw {

// A tree head in the C2SP tlog-checkpoint format (https://c2sp.org/tlog-checkpoint):
//   <origin>\n<tree size, decimal>\n<base64 root hash>\n
// This is the text of a signed note; we write no extension lines.
struct Checkpoint {
  std::string origin;
  std::uint64_t tree_size = 0;
  MerkleHash root{};
};

// The note text. InvalidArgument when the origin is empty or holds a control character.
Result<std::string> formatCheckpoint(const Checkpoint& checkpoint);
// Parses note text (extension lines after the root are allowed and ignored). ParseError when
// malformed: fewer than three lines, a size with a sign or leading zero, a root that is not
// base64 of 32 bytes, a missing final newline.
Result<Checkpoint> parseCheckpoint(std::string_view text);

// One signature line of a C2SP signed note (https://c2sp.org/signed-note):
//   "— <key name> <base64(4-byte key hash || signature)>\n"   (U+2014 em dash, then a space)
struct NoteSignature {
  std::string key_name;
  std::uint32_t key_hash = 0;
  std::string signature;  // raw bytes after the key hash
};

// A note split into its signed text (ending in "\n") and its signature lines.
struct SignedNote {
  std::string text;
  std::vector<NoteSignature> signatures;
};

// Splits a note at its last blank line and parses every signature line. ParseError when the
// text is empty or does not end in a newline, there is no signature, or a line is malformed.
Result<SignedNote> parseSignedNote(std::string_view note);
// Text followed by a blank line and one line per signature.
std::string formatSignedNote(const SignedNote& note);

// Standard base64 with padding (RFC 4648 section 4), and back (ParseError when malformed).
std::string base64Encode(std::string_view bytes);
Result<std::string> base64Decode(std::string_view text);

}  // namespace gw
