// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditSigner.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cstdio>

#include "gateway/audit/Checkpoint.h"
#include "gateway/crypto/OpenSslError.h"
#include "gateway/crypto/SecretFile.h"

namespace gw {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 * 1024;
constexpr std::string_view kWhat = "audit signing key";
constexpr std::size_t kEd25519KeyBytes = 32;
constexpr std::uint8_t kEd25519SignatureType = 0x01;  // signed-note signature type

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};

Status checkKeyName(std::string_view name) {
  if (name.empty()) {
    return Status::invalidArgument("audit signing key name (the origin) is empty");
  }
  for (const char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F || c == '+') {
      return Status::invalidArgument("audit signing key name \"" + std::string(name) +
                                     "\" holds a space, '+' or a control character");
    }
  }
  return Status::ok();
}

// signed-note key hash: SHA-256(name || 0x0A || type || public key)[0:4], big-endian.
Result<std::uint32_t> keyHashOf(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input += '\n';
  input += static_cast<char>(kEd25519SignatureType);
  input += public_key;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return opensslError(StatusCode::Internal, "SHA-256 of the audit key name failed");
  }
  return (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
         (std::uint32_t{digest[2]} << 8) | std::uint32_t{digest[3]};
}

Status verifyEd25519(EVP_PKEY* key, std::string_view text, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key) != 1) {
    return opensslError(StatusCode::Internal, "cannot start an Ed25519 verification");
  }
  const int rc = EVP_DigestVerify(ctx.get(),
                                  reinterpret_cast<const unsigned char*>(signature.data()),
                                  signature.size(),
                                  reinterpret_cast<const unsigned char*>(text.data()), text.size());
  ERR_clear_error();  // a failed verification queues an error we report ourselves
  return rc == 1 ? Status::ok() : Status::dataLoss("signature does not verify");
}

Result<std::string> openWith(EVP_PKEY* key, std::string_view note, std::string_view key_name,
                             std::uint32_t key_hash) {
  GW_ASSIGN_OR_RETURN(SignedNote parsed, parseSignedNote(note));
  for (const NoteSignature& sig : parsed.signatures) {
    if (sig.key_name != key_name || sig.key_hash != key_hash) {
      continue;  // another signer (a witness): not ours to check
    }
    // The first line from our key decides, as in the reference implementation.
    Status verified = verifyEd25519(key, parsed.text, sig.signature);
    if (!verified.isOk()) {
      return Status::dataLoss("note signature by " + std::string(key_name) + " does not verify");
    }
    return parsed.text;
  }
  return Status::dataLoss("note carries no signature by audit key " + std::string(key_name));
}

}  // namespace

void AuditSigner::KeyFree::operator()(evp_pkey_st* key) const {
  EVP_PKEY_free(key);
}

AuditSigner::~AuditSigner() = default;

Result<std::unique_ptr<AuditSigner>> AuditSigner::fromKey(KeyPtr key, std::string key_name) {
  GW_RETURN_IF_ERROR(checkKeyName(key_name));
  if (EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return Status::invalidArgument("audit signing key is not an Ed25519 key");
  }
  std::string public_key(kEd25519KeyBytes, '\0');
  std::size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_key.data()),
                                  &length) != 1 ||
      length != kEd25519KeyBytes) {
    return opensslError(StatusCode::Internal, "cannot read the audit public key");
  }
  std::unique_ptr<AuditSigner> signer(new AuditSigner());
  GW_ASSIGN_OR_RETURN(signer->key_hash_, keyHashOf(key_name, public_key));
  signer->key_ = std::move(key);
  signer->key_name_ = std::move(key_name);
  signer->public_key_ = std::move(public_key);
  return signer;
}

Result<std::unique_ptr<AuditSigner>> AuditSigner::load(const std::string& path,
                                                       std::string key_name) {
  GW_ASSIGN_OR_RETURN(std::string pem,
                      readSecretFile(path, kWhat, kMaxKeyFileBytes, SymlinkPolicy::Refuse));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(bio == nullptr ? nullptr
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(pem.data(), pem.size());
  if (key == nullptr) {
    ERR_clear_error();  // its text would only say "no start line"
    return Status::invalidArgument("audit signing key " + path +
                                   " is not an unencrypted PEM private key");
  }
  Result<std::unique_ptr<AuditSigner>> signer = fromKey(std::move(key), std::move(key_name));
  if (!signer.ok()) {
    return signer.status().withContext("audit signing key " + path);
  }
  return signer;
}

Status AuditSigner::generateFile(const std::string& path) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return opensslError(StatusCode::Internal, "cannot generate an Ed25519 key");
  }
  KeyPtr key(raw);
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return opensslError(StatusCode::Internal, "cannot encode the audit signing key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return createSecretFile(path, std::string_view(data, static_cast<std::size_t>(size)), kWhat);
}

Result<std::unique_ptr<AuditSigner>> AuditSigner::loadOrGenerate(const std::string& path,
                                                                 std::string key_name,
                                                                 bool generate_if_missing) {
  if (generate_if_missing) {
    Status generated = generateFile(path);
    if (!generated.isOk() && generated.code() != StatusCode::AlreadyExists) {
      return generated;
    }
  }
  return load(path, std::move(key_name));
}

Result<std::unique_ptr<AuditSigner>> AuditSigner::generateForTest(std::string key_name) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return opensslError(StatusCode::Internal, "cannot generate an Ed25519 key");
  }
  return fromKey(KeyPtr(raw), std::move(key_name));
}

std::string AuditSigner::verifierKey() const {
  char hash[9];
  std::snprintf(hash, sizeof(hash), "%08x", static_cast<unsigned>(key_hash_));
  return key_name_ + "+" + hash + "+" +
         base64Encode(std::string(1, static_cast<char>(kEd25519SignatureType)) + public_key_);
}

Result<std::string> AuditSigner::sign(std::string_view text) const {
  if (text.empty() || text.back() != '\n' || text.find("\n\n") != std::string_view::npos) {
    return Status::invalidArgument("note text must be non-empty lines, each ending in a newline");
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  std::size_t length = signature.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(text.data()), text.size()) != 1) {
    return opensslError(StatusCode::Internal, "Ed25519 signing failed");
  }
  signature.resize(length);
  SignedNote note;
  note.text = std::string(text);
  note.signatures.push_back(NoteSignature{key_name_, key_hash_, std::move(signature)});
  return formatSignedNote(note);
}

Result<std::string> AuditSigner::open(std::string_view note) const {
  return openWith(key_.get(), note, key_name_, key_hash_);
}

Result<std::string> openSignedNote(std::string_view note, std::string_view key_name,
                                   std::string_view public_key) {
  if (public_key.size() != kEd25519KeyBytes) {
    return Status::invalidArgument("an Ed25519 public key has 32 bytes");
  }
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                  reinterpret_cast<const unsigned char*>(public_key.data()),
                                  public_key.size()),
      EVP_PKEY_free);
  if (key == nullptr) {
    return opensslError(StatusCode::InvalidArgument, "not an Ed25519 public key");
  }
  GW_ASSIGN_OR_RETURN(std::uint32_t key_hash, keyHashOf(key_name, public_key));
  return openWith(key.get(), note, key_name, key_hash);
}

}  // namespace gw
