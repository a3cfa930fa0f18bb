// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/Result.h"

namespace gw {

// SHA-256 and HMAC-SHA256 over bytes (OpenSSL EVP). Thread-safe.
// Errors: Internal when OpenSSL fails (out of memory, provider not loaded); the message carries
// the drained OpenSSL error queue. Never throws.

// The 32-byte digest.
Result<std::string> sha256(std::string_view data);
// The digest as 64 lower-case hex characters (dedupe keys, audit leaf hashes).
Result<std::string> sha256Hex(std::string_view data);

// The 32-byte HMAC-SHA256 of `data` under `key` (RFC 2104; any key length).
Result<std::string> hmacSha256(std::string_view key, std::string_view data);
// The HMAC as 64 lower-case hex characters (patient keys).
Result<std::string> hmacSha256Hex(std::string_view key, std::string_view data);

// Lower-case hex of arbitrary bytes.
std::string toHex(std::string_view bytes);

}  // namespace gw
