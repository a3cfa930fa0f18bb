// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/EnvelopeCipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <initializer_list>

#include "gateway/crypto/OpenSslError.h"

namespace gw {
namespace {

constexpr std::array<char, 3> kMagic = {'G', 'W', 'E'};
constexpr std::size_t kKeyBytes = KeyRing::kKeyBytes;
constexpr std::size_t kIvBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kPrefixBytes = kMagic.size() + 2;  // magic, version, key id length
constexpr std::size_t kWrapBytes = kIvBytes + kTagBytes + kKeyBytes;
constexpr std::size_t kPayloadHeaderBytes = kIvBytes + kTagBytes;
// EVP update calls take an int length; longer inputs go in chunks of this size.
constexpr std::size_t kChunkBytes = std::size_t{1} << 30;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// Wipes a fixed buffer (data keys, random material) when it goes out of scope.
template <std::size_t N>
struct SecretBytes {
  SecretBytes() = default;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
  unsigned char* data() { return bytes.data(); }
  std::array<unsigned char, N> bytes{};
};

const unsigned char* u8(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* u8(char* p) {
  return reinterpret_cast<unsigned char*>(p);
}

bool isKeyIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The parsed, bounds-checked regions of a ciphertext (views into it).
struct Envelope {
  std::string_view key_id;
  std::string_view wrap_aad;     // magic .. key id
  std::string_view payload_aad;  // magic .. wrapped DEK
  const unsigned char* wrap_iv = nullptr;
  const unsigned char* wrap_tag = nullptr;
  const unsigned char* wrapped_dek = nullptr;
  const unsigned char* payload_iv = nullptr;
  const unsigned char* payload_tag = nullptr;
  std::string_view body;
};

Result<Envelope> parseEnvelope(std::string_view c) {
  if (c.size() < kPrefixBytes || std::memcmp(c.data(), kMagic.data(), kMagic.size()) != 0) {
    return Status::dataLoss("not an encrypted payload (bad magic or truncated)");
  }
  if (static_cast<std::uint8_t>(c[3]) != EnvelopeCipher::kFormatVersion) {
    return Status::dataLoss("unsupported encrypted payload format version " +
                            std::to_string(static_cast<std::uint8_t>(c[3])));
  }
  const std::size_t id_length = static_cast<std::uint8_t>(c[4]);
  if (id_length == 0 || id_length > KeyRing::kMaxKeyIdLength) {
    return Status::dataLoss("encrypted payload header has an invalid key id length");
  }
  const std::size_t header_bytes = kPrefixBytes + id_length + kWrapBytes + kPayloadHeaderBytes;
  if (c.size() < header_bytes) {
    return Status::dataLoss("encrypted payload is truncated");
  }
  Envelope e;
  e.key_id = c.substr(kPrefixBytes, id_length);
  for (const char ch : e.key_id) {
    if (!isKeyIdChar(ch)) {
      return Status::dataLoss("encrypted payload header has a malformed key id");
    }
  }
  std::size_t at = kPrefixBytes + id_length;
  e.wrap_aad = c.substr(0, at);
  e.wrap_iv = u8(c.data() + at);
  e.wrap_tag = e.wrap_iv + kIvBytes;
  e.wrapped_dek = e.wrap_tag + kTagBytes;
  at += kWrapBytes;
  e.payload_aad = c.substr(0, at);
  e.payload_iv = u8(c.data() + at);
  e.payload_tag = e.payload_iv + kIvBytes;
  e.body = c.substr(header_bytes);
  return e;
}

// Feeds `in` through EVP_CipherUpdate in int-sized chunks; `out` null means AAD.
bool update(EVP_CIPHER_CTX* ctx, unsigned char* out, const unsigned char* in, std::size_t size) {
  while (size > 0) {
    const std::size_t chunk = size < kChunkBytes ? size : kChunkBytes;
    int written = 0;
    if (EVP_CipherUpdate(ctx, out, &written, in, static_cast<int>(chunk)) != 1) {
      return false;
    }
    in += chunk;
    size -= chunk;
    if (out != nullptr) {
      out += chunk;  // GCM is a stream mode: output length equals input length
    }
  }
  return true;
}

// One AES-256-GCM pass. `cipher` is null when `ctx` already holds AES-256-GCM (a second pass in
// the same call), which keeps OpenSSL's provider context instead of rebuilding it.
bool gcmEncrypt(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const unsigned char* key,
                const unsigned char* iv, std::initializer_list<std::string_view> aad,
                const unsigned char* in, std::size_t size, unsigned char* out, unsigned char* tag) {
  if (EVP_EncryptInit_ex2(ctx, cipher, key, iv, nullptr) != 1) {
    return false;
  }
  for (const std::string_view a : aad) {
    if (!update(ctx, nullptr, u8(a.data()), a.size())) {
      return false;
    }
  }
  int final_bytes = 0;
  return update(ctx, out, in, size) && EVP_EncryptFinal_ex(ctx, out + size, &final_bytes) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes), tag) == 1;
}

enum class Opened { Ok, AuthenticationFailed, Error };

Opened gcmDecrypt(EVP_CIPHER_CTX* ctx, const EVP_CIPHER* cipher, const unsigned char* key,
                  const unsigned char* iv, std::initializer_list<std::string_view> aad,
                  const unsigned char* in, std::size_t size, unsigned char* out,
                  const unsigned char* tag) {
  std::array<unsigned char, kTagBytes> expected_tag{};
  std::memcpy(expected_tag.data(), tag, kTagBytes);
  if (EVP_DecryptInit_ex2(ctx, cipher, key, iv, nullptr) != 1) {
    return Opened::Error;
  }
  for (const std::string_view a : aad) {
    if (!update(ctx, nullptr, u8(a.data()), a.size())) {
      return Opened::Error;
    }
  }
  if (!update(ctx, out, in, size) ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes),
                          expected_tag.data()) != 1) {
    return Opened::Error;
  }
  int final_bytes = 0;
  if (EVP_DecryptFinal_ex(ctx, out + size, &final_bytes) != 1) {
    clearOpensslErrors();
    return Opened::AuthenticationFailed;
  }
  return Opened::Ok;
}

}  // namespace

void EnvelopeCipher::CipherFree::operator()(evp_cipher_st* cipher) const {
  EVP_CIPHER_free(cipher);
}

EnvelopeCipher::EnvelopeCipher(KeyRing keys, std::unique_ptr<evp_cipher_st, CipherFree> aes,
                               std::shared_ptr<KeyUsageLedger> usage)
    : keys_(std::move(keys)), aes_(std::move(aes)), usage_(std::move(usage)) {}

EnvelopeCipher::~EnvelopeCipher() = default;

Result<std::shared_ptr<EnvelopeCipher>> EnvelopeCipher::create(KeyRing keys) {
  return create(std::move(keys),
                KeyUsageLedger::inMemory({KeyUsageLedger::kDefaultBlock, kMaxWrapsPerKey}));
}

Result<std::shared_ptr<EnvelopeCipher>> EnvelopeCipher::createForTest(
    KeyRing keys, std::uint64_t max_wraps_per_key) {
  return create(std::move(keys),
                KeyUsageLedger::inMemory({KeyUsageLedger::kDefaultBlock, max_wraps_per_key}));
}

Result<std::shared_ptr<EnvelopeCipher>> EnvelopeCipher::create(
    KeyRing keys, std::shared_ptr<KeyUsageLedger> usage) {
  if (usage == nullptr) {
    return Status::invalidArgument("envelope cipher needs a key usage ledger");
  }
  std::unique_ptr<evp_cipher_st, CipherFree> aes(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
  if (aes == nullptr) {
    return opensslError(StatusCode::Internal, "OpenSSL has no AES-256-GCM");
  }
  if (EVP_CIPHER_get_key_length(aes.get()) != static_cast<int>(kKeyBytes) ||
      EVP_CIPHER_get_iv_length(aes.get()) != static_cast<int>(kIvBytes)) {
    return Status::internal("unexpected AES-256-GCM key or IV length");
  }
  return std::shared_ptr<EnvelopeCipher>(
      new EnvelopeCipher(std::move(keys), std::move(aes), std::move(usage)));
}

Result<std::string> EnvelopeCipher::seal(std::string_view plaintext,
                                         std::string_view associated_data) {
  const KeyRing::Key& kek = keys_.active();
  GW_RETURN_IF_ERROR(usage_->acquire(kek.id));

  // DEK, wrap IV and payload IV from one call to the DRBG.
  SecretBytes<kKeyBytes + 2 * kIvBytes> random;
  if (RAND_bytes(random.data(), static_cast<int>(random.bytes.size())) != 1) {
    return opensslError(StatusCode::Internal, "cannot generate a data key");
  }
  const unsigned char* dek = random.data();
  const unsigned char* wrap_iv = dek + kKeyBytes;
  const unsigned char* payload_iv = wrap_iv + kIvBytes;

  const std::size_t id_length = kek.id.size();  // 1..64, checked by KeyRing
  const std::size_t header_bytes = kPrefixBytes + id_length + kWrapBytes + kPayloadHeaderBytes;
  std::string out(header_bytes + plaintext.size(), '\0');
  char* p = out.data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  p[3] = static_cast<char>(kFormatVersion);
  p[4] = static_cast<char>(id_length);
  std::memcpy(p + kPrefixBytes, kek.id.data(), id_length);
  const std::size_t wrap_at = kPrefixBytes + id_length;
  unsigned char* w = u8(p + wrap_at);
  std::memcpy(w, wrap_iv, kIvBytes);
  const std::size_t payload_at = wrap_at + kWrapBytes;
  unsigned char* b = u8(p + payload_at);
  std::memcpy(b, payload_iv, kIvBytes);

  const std::string_view wrap_aad(p, wrap_at);
  const std::string_view payload_aad(p, payload_at);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr ||
      !gcmEncrypt(ctx.get(), aes_.get(), kek.bytes.data(), wrap_iv, {wrap_aad}, dek, kKeyBytes,
                  w + kIvBytes + kTagBytes, w + kIvBytes) ||
      !gcmEncrypt(ctx.get(), nullptr, dek, payload_iv, {payload_aad, associated_data},
                  u8(plaintext.data()), plaintext.size(), b + kPayloadHeaderBytes, b + kIvBytes)) {
    OPENSSL_cleanse(out.data(), out.size());
    return opensslError(StatusCode::Internal, "AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> EnvelopeCipher::open(std::string_view ciphertext,
                                         std::string_view associated_data) {
  GW_ASSIGN_OR_RETURN(const Envelope e, parseEnvelope(ciphertext));
  const KeyRing::Key* kek = keys_.find(e.key_id);
  if (kek == nullptr) {
    return Status::notFound("encrypted payload names key id '" + std::string(e.key_id) +
                            "', which is not in the key ring");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) {
    return opensslError(StatusCode::Internal, "cannot allocate a cipher context");
  }
  SecretBytes<kKeyBytes> dek;
  switch (gcmDecrypt(ctx.get(), aes_.get(), kek->bytes.data(), e.wrap_iv, {e.wrap_aad},
                     e.wrapped_dek, kKeyBytes, dek.data(), e.wrap_tag)) {
    case Opened::Ok:
      break;
    case Opened::AuthenticationFailed:
      return Status::dataLoss("encrypted payload's data key failed authentication (tampered)");
    case Opened::Error:
      return opensslError(StatusCode::Internal, "AES-256-GCM decryption failed");
  }
  std::string out(e.body.size(), '\0');
  switch (gcmDecrypt(ctx.get(), nullptr, dek.data(), e.payload_iv, {e.payload_aad, associated_data},
                     u8(e.body.data()), e.body.size(), u8(out.data()), e.payload_tag)) {
    case Opened::Ok:
      return out;
    case Opened::AuthenticationFailed:
      OPENSSL_cleanse(out.data(), out.size());  // unauthenticated plaintext is never released
      return Status::dataLoss(
          "encrypted payload failed authentication (tampered, truncated or wrong associated "
          "data)");
    case Opened::Error:
      break;
  }
  OPENSSL_cleanse(out.data(), out.size());
  return opensslError(StatusCode::Internal, "AES-256-GCM decryption failed");
}

Result<std::string> EnvelopeCipher::keyIdOf(std::string_view ciphertext) {
  GW_ASSIGN_OR_RETURN(const Envelope e, parseEnvelope(ciphertext));
  return std::string(e.key_id);
}

}  // namespace gw
