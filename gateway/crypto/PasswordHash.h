// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/api/Result.h"

namespace gw {

// Cost of the memory-hard password KDF (scrypt, RFC 7914, through OpenSSL 3's EVP_KDF).
// Memory per hash is 128 * r * 2^log_n bytes: the default is 32 MiB and about 0.1 s of CPU.
struct PasswordHashParams {
  int log_n = 15;  // N = 2^log_n, 10..22
  int r = 8;       // block size, 1..32
  int p = 1;       // parallelism, 1..16
};

// Hashes `password` with a fresh 16-byte random salt into a self-describing PHC-style string:
//   $scrypt$ln=15,r=8,p=1$<salt, base64 without padding>$<32-byte hash, base64 without padding>
// InvalidArgument for parameters out of range; Internal when OpenSSL fails. Thread-safe.
Result<std::string> hashPassword(std::string_view password, const PasswordHashParams& params = {});

// Recomputes the hash of `password` with the salt and parameters stored in `encoded` and compares
// in constant time. OK(true/false) for a well-formed string; InvalidArgument when `encoded` is
// not one hashPassword() writes (a corrupt row); Internal when OpenSSL fails.
Result<bool> verifyPassword(std::string_view password, std::string_view encoded);

// The parameters stored in an encoded hash (InvalidArgument when malformed).
Result<PasswordHashParams> passwordHashParams(std::string_view encoded);

// Shortest password accepted for an operator account.
inline constexpr std::size_t kMinPasswordLength = 12;
// Longest (bounds the KDF input a client can make us hash).
inline constexpr std::size_t kMaxPasswordLength = 1024;
// OK, or InvalidArgument saying why the password is refused (never echoing it).
Status checkPasswordPolicy(std::string_view password);

}  // namespace gw
