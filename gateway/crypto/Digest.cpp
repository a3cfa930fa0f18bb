// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/Digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <limits>

#include "gateway/crypto/OpenSslError.h"

namespace gw {

Result<std::string> sha256(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return opensslError(StatusCode::Internal, "SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(digest.data()), length);
}

Result<std::string> sha256Hex(std::string_view data) {
  GW_ASSIGN_OR_RETURN(const std::string digest, sha256(data));
  return toHex(digest);
}

Result<std::string> hmacSha256(std::string_view key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return Status::invalidArgument("HMAC key too long");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  // HMAC() with an empty key would get a null pointer from an empty string_view; any non-null
  // pointer with length 0 is the same key.
  static const unsigned char kEmpty = 0;
  const void* key_bytes = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(EVP_sha256(), key_bytes, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(),
           &length) == nullptr) {
    return opensslError(StatusCode::Internal, "HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

Result<std::string> hmacSha256Hex(std::string_view key, std::string_view data) {
  GW_ASSIGN_OR_RETURN(const std::string mac, hmacSha256(key, data));
  return toHex(mac);
}

std::string toHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xF];
  }
  return out;
}

}  // namespace gw
