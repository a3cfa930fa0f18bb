// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/PayloadCipher.h"
#include "gateway/crypto/KeyRing.h"
#include "gateway/crypto/KeyUsageLedger.h"

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
// NIST SP 800-38D section 8.3 limits one key to 2^32 encryptions with random IVs: every wrap is
// counted in a KeyUsageLedger (persisted beside the key file when the cipher is created with one,
// see KeyUsageLedger.h), and once the active KEK reached the ledger's limit seal() answers
// Unavailable until keys are rotated. The data key's own encryption is its only use.
//
// Cost: OpenSSL contexts are pooled per cipher (one per concurrent caller), the one that wraps
// keeps the active KEK's key schedule, and the random bytes (DEK and both IVs) come from a
// per-context reservoir filled by one DRBG call per ~70 seals and discarded in a forked child.
// So a seal is one DEK key schedule plus the two GCM passes, without allocations or system
// calls besides the output string. A pooled context keeps the schedule of the last key it used
// until its next use or the cipher's destruction (freeing it wipes it).
//
// Thread-safety: seal() and open() may be called concurrently. Never throws.
class EnvelopeCipher final : public PayloadCipher {
 public:
  static constexpr std::uint64_t kMaxWrapsPerKey = std::uint64_t{1} << 32;
  static constexpr std::uint8_t kFormatVersion = 1;

  // Counts wraps in `usage` (shared, e.g. a ledger opened with KeyUsageLedger::open()).
  // Errors: Internal when OpenSSL has no AES-256-GCM; InvalidArgument when `usage` is null.
  static Result<std::shared_ptr<EnvelopeCipher>> create(KeyRing keys,
                                                        std::shared_ptr<KeyUsageLedger> usage);
  // As above with an in-memory ledger: the count is per process (tools that only open, tests).
  static Result<std::shared_ptr<EnvelopeCipher>> create(KeyRing keys);
  // As create(), with an in-memory ledger with a small wrap limit so a test can reach it.
  static Result<std::shared_ptr<EnvelopeCipher>> createForTest(KeyRing keys,
                                                               std::uint64_t max_wraps_per_key);

  ~EnvelopeCipher() override;

  // PayloadCipher
  // Errors: Unavailable (the active KEK reached its wrap limit: rotate keys; or its next block of
  // uses could not be recorded in the ledger), InvalidArgument
  // (associated data over 1 GiB), Internal (OpenSSL failure, message carries its error queue).
  Result<std::string> seal(std::string_view plaintext, std::string_view associated_data) override;
  // Errors: DataLoss (not an envelope, unsupported version, truncated, tampered, or wrong
  // associated data), NotFound (the KEK id in the header is not in the ring), Internal.
  Result<std::string> open(std::string_view ciphertext, std::string_view associated_data) override;

  // Id of the KEK that wraps new DEKs.
  const std::string& activeKeyId() const { return keys_.active().id; }
  // The KEK id named in a ciphertext's header (without decrypting); DataLoss when malformed.
  static Result<std::string> keyIdOf(std::string_view ciphertext);
  // Per-key wrap counters (from the ledger).
  std::vector<KeyUsageLedger::Usage> keyUsage() const { return usage_->usage(); }

 private:
  struct CipherFree {
    void operator()(evp_cipher_st* cipher) const;
  };
  // Reusable OpenSSL state for one seal() or open() at a time, and the scope that borrows one
  // from the pool (a new one when all are in use) and gives it back (both in the .cpp).
  struct Worker;
  class WorkerLease;

  EnvelopeCipher(KeyRing keys, std::unique_ptr<evp_cipher_st, CipherFree> aes,
                 std::shared_ptr<KeyUsageLedger> usage);

  KeyRing keys_;
  std::unique_ptr<evp_cipher_st, CipherFree> aes_;  // AES-256-GCM, fetched once
  std::shared_ptr<KeyUsageLedger> usage_;           // wraps per KEK; never null
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Worker>> idle_workers_;  // guarded by pool_mu_
};

}  // namespace gw
