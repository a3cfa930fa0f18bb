// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/PasswordHash.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

#include "gateway/crypto/OpenSslError.h"

namespace gw {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;
constexpr std::string_view kPrefix = "$scrypt$";
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// PHC strings use standard base64 without padding.
std::string base64(std::string_view bytes) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3F]);
    }
  }
  if (bits > 0) {
    out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3F]);
  }
  return out;
}

bool unbase64(std::string_view text, std::string& out) {
  out.clear();
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const char* at = std::char_traits<char>::find(kAlphabet, 64, c);
    if (at == nullptr) {
      return false;
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(at - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return bits < 6;
}

Status checkParams(const PasswordHashParams& p) {
  if (p.log_n < 10 || p.log_n > 22 || p.r < 1 || p.r > 32 || p.p < 1 || p.p > 16) {
    return Status::invalidArgument("scrypt parameters out of range (ln 10..22, r 1..32, p 1..16)");
  }
  return Status::ok();
}

struct KdfFree {
  void operator()(EVP_KDF* k) const { EVP_KDF_free(k); }
};
struct KdfCtxFree {
  void operator()(EVP_KDF_CTX* c) const { EVP_KDF_CTX_free(c); }
};

Result<std::string> scrypt(std::string_view password, std::string_view salt,
                           const PasswordHashParams& params) {
  std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, "SCRYPT", nullptr));
  if (!kdf) {
    return opensslError(StatusCode::Internal, "scrypt is not available");
  }
  std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) {
    return opensslError(StatusCode::Internal, "cannot create an scrypt context");
  }
  std::uint64_t n = std::uint64_t{1} << params.log_n;
  std::uint32_t r = static_cast<std::uint32_t>(params.r);
  std::uint32_t p = static_cast<std::uint32_t>(params.p);
  // 128 * r * N for V, plus room for B and XY.
  std::uint64_t max_mem = 128ULL * r * (n + p + 2) + (1ULL << 20);
  OSSL_PARAM list[] = {
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, const_cast<char*>(password.data()),
                                        password.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                        salt.size()),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
      OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
      OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &max_mem),
      OSSL_PARAM_construct_end()};
  std::string out(kHashBytes, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), out.size(), list) !=
      1) {
    return opensslError(StatusCode::Internal, "scrypt failed");
  }
  return out;
}

struct Parsed {
  PasswordHashParams params;
  std::string salt;
  std::string hash;
};

bool readInt(std::string_view& text, std::string_view key, int& out) {
  if (text.substr(0, key.size()) != key) {
    return false;
  }
  text.remove_prefix(key.size());
  int value = 0;
  std::size_t digits = 0;
  while (!text.empty() && text.front() >= '0' && text.front() <= '9' && digits < 3) {
    value = value * 10 + (text.front() - '0');
    text.remove_prefix(1);
    ++digits;
  }
  out = value;
  return digits > 0;
}

Result<Parsed> parse(std::string_view encoded) {
  const Status bad = Status::invalidArgument("not an scrypt password hash string");
  if (encoded.substr(0, kPrefix.size()) != kPrefix) {
    return bad;
  }
  std::string_view rest = encoded.substr(kPrefix.size());
  Parsed parsed;
  if (!readInt(rest, "ln=", parsed.params.log_n) || !readInt(rest, ",r=", parsed.params.r) ||
      !readInt(rest, ",p=", parsed.params.p) || rest.substr(0, 1) != "$") {
    return bad;
  }
  rest.remove_prefix(1);
  const std::size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos || !unbase64(rest.substr(0, dollar), parsed.salt) ||
      !unbase64(rest.substr(dollar + 1), parsed.hash) || parsed.salt.size() < 4 ||
      parsed.hash.size() != kHashBytes) {
    return bad;
  }
  GW_RETURN_IF_ERROR(checkParams(parsed.params));
  return parsed;
}

}  // namespace

Result<std::string> hashPassword(std::string_view password, const PasswordHashParams& params) {
  GW_RETURN_IF_ERROR(checkParams(params));
  std::string salt(kSaltBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) !=
      1) {
    return opensslError(StatusCode::Internal, "cannot draw a password salt");
  }
  GW_ASSIGN_OR_RETURN(const std::string hash, scrypt(password, salt, params));
  return std::string(kPrefix) + "ln=" + std::to_string(params.log_n) +
         ",r=" + std::to_string(params.r) + ",p=" + std::to_string(params.p) + "$" + base64(salt) +
         "$" + base64(hash);
}

Result<bool> verifyPassword(std::string_view password, std::string_view encoded) {
  GW_ASSIGN_OR_RETURN(const Parsed parsed, parse(encoded));
  GW_ASSIGN_OR_RETURN(const std::string hash, scrypt(password, parsed.salt, parsed.params));
  return CRYPTO_memcmp(hash.data(), parsed.hash.data(), kHashBytes) == 0;
}

Result<PasswordHashParams> passwordHashParams(std::string_view encoded) {
  GW_ASSIGN_OR_RETURN(const Parsed parsed, parse(encoded));
  return parsed.params;
}

Status checkPasswordPolicy(std::string_view password) {
  if (password.size() < kMinPasswordLength) {
    return Status::invalidArgument("password too short: at least " +
                                   std::to_string(kMinPasswordLength) + " characters");
  }
  if (password.size() > kMaxPasswordLength) {
    return Status::invalidArgument("password too long: at most " +
                                   std::to_string(kMaxPasswordLength) + " bytes");
  }
  for (const char c : password) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return Status::invalidArgument("password must not contain control characters");
    }
  }
  return Status::ok();
}

}  // namespace gw
