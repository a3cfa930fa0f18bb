// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxCrypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <vector>

namespace gw::inbox {
namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

std::string base64Url(const unsigned char* data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  }
  return out;
}

}  // namespace

Result<std::string> randomToken(int bytes) {
  if (bytes < 16 || bytes > 64) {
    return Status::invalidArgument("token size must be 16..64 bytes");
  }
  std::vector<unsigned char> buffer(static_cast<std::size_t>(bytes));
  if (RAND_bytes(buffer.data(), bytes) != 1) {
    return Status::internal("RAND_bytes failed");
  }
  return base64Url(buffer.data(), buffer.size());
}

Result<std::string> randomCode() {
  // 4'294'000'000 is the largest multiple of 10^6 below 2^32: drawing below it keeps every code
  // equally likely.
  constexpr std::uint32_t kLimit = 4294000000U;
  for (int tries = 0; tries < 64; ++tries) {
    unsigned char raw[4];
    if (RAND_bytes(raw, sizeof raw) != 1) {
      return Status::internal("RAND_bytes failed");
    }
    const std::uint32_t value = (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) |
                                (std::uint32_t{raw[2]} << 8) | std::uint32_t{raw[3]};
    if (value < kLimit) {
      std::string code = std::to_string(value % 1000000U);
      return std::string(6 - code.size(), '0') + code;
    }
  }
  return Status::internal("random code: no value below the limit in 64 draws");
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

std::string hmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size);
  return hex(mac, size);
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace gw::inbox
