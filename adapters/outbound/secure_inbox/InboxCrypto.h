// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "gateway/api/Result.h"

namespace gw::inbox {

// `bytes` random bytes from OpenSSL RAND_bytes, base64url without padding (32 bytes: 256 bits,
// 43 characters). Internal when the RNG fails.
Result<std::string> randomToken(int bytes = 32);
// Six decimal digits, uniformly distributed (rejection sampling over RAND_bytes).
Result<std::string> randomCode();
// Lower-case hex SHA-256.
std::string sha256Hex(std::string_view data);
// Lower-case hex HMAC-SHA256.
std::string hmacSha256Hex(std::string_view key, std::string_view data);
// Constant-time equality (length may leak; contents do not).
bool equalConstantTime(std::string_view a, std::string_view b);

}  // namespace gw::inbox
