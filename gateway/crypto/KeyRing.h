// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw {

// The key-encryption keys (KEKs) of the envelope encryption, read from a key file.
//
// Key file format (text, UTF-8/ASCII):
//   # comment lines start with '#' (leading blanks allowed); blank lines are ignored
//   <key id> <64 hex characters>
//   <key id> <64 hex characters>
// One AES-256 key per line: the id (1-64 characters from [A-Za-z0-9._-], e.g.
// "kek-20240131-9f86d081"), one or more blanks, then the 32 key bytes in hex (either case).
// Ids are unique. The LAST key is the active one that wraps new data keys; earlier keys stay
// for opening older ciphertexts. Rotation appends a line (appendNewKey()); a key is retired only
// once no stored ciphertext names it. The file must not be accessible by group or others
// (mode 0600 or 0400), like an ssh private key.
//
// Key bytes are wiped from memory when the ring is destroyed. Error messages name the file,
// line and key id, never key material. A loaded ring is immutable and safe to share between
// threads.
class KeyRing {
 public:
  static constexpr std::size_t kKeyBytes = 32;
  static constexpr std::size_t kMaxKeyIdLength = 64;

  struct Key {
    Key() = default;
    Key(const Key& other) = default;
    Key& operator=(const Key& other) = default;
    ~Key();

    std::string id;
    std::array<unsigned char, kKeyBytes> bytes{};
  };

  KeyRing(KeyRing&&) = default;
  KeyRing& operator=(KeyRing&&) = default;
  KeyRing(const KeyRing&) = delete;
  KeyRing& operator=(const KeyRing&) = delete;
  ~KeyRing() = default;

  // Reads and checks the key file. Errors: NotFound (no such file), PermissionDenied (readable
  // or writable by group/others, or not readable by us), InvalidArgument (not a regular file,
  // larger than 1 MiB), ParseError (malformed line, duplicate id, no key; position() carries
  // the path and line), Unavailable (I/O error).
  static Result<KeyRing> load(const std::string& path);

  // Parses key-file text without touching the file system; `origin` names it in errors.
  static Result<KeyRing> parse(std::string_view text, const std::string& origin);

  // Creates a new key file holding one fresh random key and returns its id. Missing parent
  // directories are created with mode 0700; the file is created with mode 0600 (O_EXCL), so an
  // existing file is never overwritten. Errors: AlreadyExists, PermissionDenied, Unavailable
  // (I/O), Internal (no randomness).
  static Result<std::string> generateFile(const std::string& path,
                                          SystemTime now = std::chrono::system_clock::now());

  // Rotation: appends a fresh random key to an existing, valid key file (which then becomes the
  // active key for processes that load the file afterwards) and returns its id. The file is
  // locked (flock) while appending. Errors: as load(), plus Unavailable and Internal.
  static Result<std::string> appendNewKey(const std::string& path,
                                          SystemTime now = std::chrono::system_clock::now());

  // A fresh id "kek-<yyyymmdd UTC>-<8 random hex>". Internal when no randomness is available.
  static Result<std::string> newKeyId(SystemTime now);

  // The key that wraps new data keys (the last one in the file).
  const Key& active() const { return keys_.back(); }
  // The key with this id, or nullptr.
  const Key* find(std::string_view id) const;
  // Ids in file order (the last is active).
  std::vector<std::string> keyIds() const;
  std::size_t size() const { return keys_.size(); }

 private:
  explicit KeyRing(std::vector<Key> keys) : keys_(std::move(keys)) {}

  std::vector<Key> keys_;  // never empty
};

}  // namespace gw
