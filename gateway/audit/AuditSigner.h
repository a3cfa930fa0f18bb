// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/Result.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace gw {

// The Ed25519 key that signs audit checkpoints, as a C2SP signed-note signer
// (https://c2sp.org/signed-note): key name = the log's origin, key hash = the first 4 bytes of
// SHA-256(key name || 0x0A || 0x01 || 32-byte public key), signature = Ed25519 over the note
// text.
//
// Key file: a PEM PKCS#8 Ed25519 private key ("-----BEGIN PRIVATE KEY-----", as written by
// `openssl genpkey -algorithm ed25519`), unencrypted, refused when group or others may access it
// (mode 0600 or 0400), like the KeyRing's file.
//
// Immutable after load; sign() and open() are thread-safe. Never throws.
class AuditSigner {
 public:
  // Reads the key file. Errors: NotFound (no such file), PermissionDenied (accessible by group
  // or others, or not readable), InvalidArgument (not a regular file, not an Ed25519 PEM private
  // key, or a key name that is empty or holds a space, '+' or a control character), Unavailable.
  static Result<std::unique_ptr<AuditSigner>> load(const std::string& path, std::string key_name);
  // Writes a fresh key to `path` (mode 0600, O_EXCL: never overwrites; missing parent
  // directories are created with mode 0700). Errors: AlreadyExists, PermissionDenied,
  // Unavailable, Internal.
  static Status generateFile(const std::string& path);
  // load(), after generateFile() when the file does not exist and `generate_if_missing`.
  static Result<std::unique_ptr<AuditSigner>> loadOrGenerate(const std::string& path,
                                                             std::string key_name,
                                                             bool generate_if_missing);
  // A signer over an in-memory key, for tests (no file).
  static Result<std::unique_ptr<AuditSigner>> generateForTest(std::string key_name);

  ~AuditSigner();
  AuditSigner(const AuditSigner&) = delete;
  AuditSigner& operator=(const AuditSigner&) = delete;

  const std::string& keyName() const { return key_name_; }
  std::uint32_t keyHash() const { return key_hash_; }
  // The 32-byte raw public key.
  const std::string& publicKey() const { return public_key_; }
  // The signed-note verifier key "<name>+<8 hex key hash>+<base64(0x01 || public key)>", which
  // a third party needs to check checkpoints.
  std::string verifierKey() const;

  // `text` (non-empty, ending in "\n", no blank line) as a signed note with one signature line.
  // Errors: InvalidArgument (text), Internal (OpenSSL).
  Result<std::string> sign(std::string_view text) const;
  // Checks that `note` carries a valid signature by this key and returns its signed text.
  // DataLoss when no line is from this key (name and key hash) or a line from it does not
  // verify; ParseError when the note is malformed.
  Result<std::string> open(std::string_view note) const;

 private:
  struct KeyFree {
    void operator()(evp_pkey_st* key) const;
  };
  using KeyPtr = std::unique_ptr<evp_pkey_st, KeyFree>;

  static Result<std::unique_ptr<AuditSigner>> fromKey(KeyPtr key, std::string key_name);
  AuditSigner() = default;

  KeyPtr key_;
  std::string key_name_;
  std::string public_key_;
  std::uint32_t key_hash_ = 0;
};

// Checks a note's signature by the Ed25519 `public_key` (32 raw bytes) named `key_name`, for
// verifiers that hold no private key. Same errors as AuditSigner::open().
Result<std::string> openSignedNote(std::string_view note, std::string_view key_name,
                                   std::string_view public_key);

}  // namespace gw
