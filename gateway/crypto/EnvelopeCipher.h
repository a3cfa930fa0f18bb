// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/api/PayloadCipher.h"
#include "gateway/crypto/KeyRing.h"

struct evp_cipher_st;  // OpenSSL's EVP_CIPHER

namespace gw {

// Envelope encryption (DESIGN.md section 5). seal() draws a fresh 256-bit data key (DEK) and
// encrypts the payload with AES-256-GCM (96-bit random IV, 128-bit tag, `associated_data` as
// additional authenticated data), then wraps the DEK with the ring's active key-encryption key
// (KEK), also AES-256-GCM with its own random IV. Destroying a ciphertext's wrapped DEK shreds it.
//
// Ciphertext layout (all lengths in bytes):
//   magic "GWE" (3) | format version 0x01 (1) | key id length L (1, 1..64) | key id (L, ASCII)
//   | wrap IV (12) | wrap tag (16) | wrapped DEK (32)
//   | payload IV (12) | payload tag (16) | payload ciphertext (same length as the plaintext)
// The wrap is authenticated with AAD = the header prefix up to and including the key id. The
// payload is authenticated with AAD = the header up to and including the wrapped DEK, followed by
// `associated_data`. Total overhead: 93 + L bytes.
//
// NIST SP 800-38D section 8.3 limits one key to 2^32 encryptions with random IVs: each KEK wraps
// at most kMaxWrapsPerKey DEKs through one EnvelopeCipher, after which seal() answers Unavailable
// until keys are rotated. The count is per process (not persisted).
//
// Thread-safety: seal() and open() may be called concurrently. Never throws.
class EnvelopeCipher final : public PayloadCipher {
 public:
  static constexpr std::uint64_t kMaxWrapsPerKey = std::uint64_t{1} << 32;
  static constexpr std::uint8_t kFormatVersion = 1;

  // Errors: Internal when OpenSSL has no AES-256-GCM.
  static Result<std::shared_ptr<EnvelopeCipher>> create(KeyRing keys);
  // As create(), with a small wrap limit so a test can reach it.
  static Result<std::shared_ptr<EnvelopeCipher>> createForTest(KeyRing keys,
                                                               std::uint64_t max_wraps_per_key);

  ~EnvelopeCipher() override;

  // PayloadCipher
  // Errors: Unavailable (the active KEK reached its wrap limit: rotate keys), InvalidArgument
  // (associated data over 1 GiB), Internal (OpenSSL failure, message carries its error queue).
  Result<std::string> seal(std::string_view plaintext, std::string_view associated_data) override;
  // Errors: DataLoss (not an envelope, unsupported version, truncated, tampered, or wrong
  // associated data), NotFound (the KEK id in the header is not in the ring), Internal.
  Result<std::string> open(std::string_view ciphertext, std::string_view associated_data) override;

  // Id of the KEK that wraps new DEKs.
  const std::string& activeKeyId() const { return keys_.active().id; }
  // The KEK id named in a ciphertext's header (without decrypting); DataLoss when malformed.
  static Result<std::string> keyIdOf(std::string_view ciphertext);

 private:
  struct CipherFree {
    void operator()(evp_cipher_st* cipher) const;
  };

  EnvelopeCipher(KeyRing keys, std::unique_ptr<evp_cipher_st, CipherFree> aes,
                 std::uint64_t max_wraps);

  KeyRing keys_;
  std::unique_ptr<evp_cipher_st, CipherFree> aes_;  // AES-256-GCM, fetched once
  std::uint64_t max_wraps_;
  std::atomic<std::uint64_t> wraps_{0};  // DEKs wrapped with the active KEK
};

}  // namespace gw
