// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/EnvelopeCipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <mutex>

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
// Random bytes per seal (DEK, wrap IV, payload IV), and the seals one reservoir fill serves: one
// DRBG call (which costs a getpid() system call in OpenSSL 3) per ~4 KiB instead of per seal.
constexpr std::size_t kSealRandomBytes = kKeyBytes + 2 * kIvBytes;
constexpr std::size_t kReservoirBytes = kSealRandomBytes * 73;
// Idle workers kept per cipher (more only exist while that many threads seal at once).
constexpr std::size_t kMaxIdleWorkers = 32;

// Bumped in the child after fork(): random bytes drawn before a fork must not be used by both
// processes (the same DEK and IVs twice), so a worker refills when its fill is from an older
// generation.
std::atomic<std::uint64_t> g_fork_generation{0};

void onForkChild() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

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

// One AES-256-GCM pass. `cipher` is null when `ctx` already holds AES-256-GCM, which keeps
// OpenSSL's provider context instead of rebuilding it; `key` is null when `ctx` already holds the
// key (its schedule is kept, only the IV is new).
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

struct EnvelopeCipher::Worker {
  ~Worker() { OPENSSL_cleanse(reservoir.data(), reservoir.size()); }

  // Copies the next `n` (<= kSealRandomBytes) random bytes to `out` and wipes them here.
  bool takeRandom(unsigned char* out, std::size_t n) {
    const std::uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
    if (reservoir_used + n > reservoir.size() || fill_generation != generation) {
      if (RAND_bytes(reservoir.data(), static_cast<int>(reservoir.size())) != 1) {
        return false;
      }
      reservoir_used = 0;
      fill_generation = generation;
    }
    unsigned char* next = reservoir.data() + reservoir_used;
    std::memcpy(out, next, n);
    OPENSSL_cleanse(next, n);
    reservoir_used += n;
    return true;
  }

  CipherCtx wrap;     // encrypts under the active KEK: keyed once, then given a new IV per seal
  CipherCtx payload;  // AES-256-GCM set up; keyed per use (each DEK, and the KEK when opening)
  std::array<unsigned char, kReservoirBytes> reservoir{};
  std::size_t reservoir_used = kReservoirBytes;  // nothing left: filled before the first use
  std::uint64_t fill_generation = 0;
};

// Borrows a worker for one seal() or open(); gives it back to the pool unless discard() was
// called (after an OpenSSL failure its state is not trusted).
class EnvelopeCipher::WorkerLease {
 public:
  explicit WorkerLease(EnvelopeCipher& owner) : owner_(owner) {
    {
      std::lock_guard<std::mutex> lock(owner_.pool_mu_);
      if (!owner_.idle_workers_.empty()) {
        worker_ = std::move(owner_.idle_workers_.back());
        owner_.idle_workers_.pop_back();
        return;
      }
    }
    auto worker = std::make_unique<Worker>();
    worker->wrap.reset(EVP_CIPHER_CTX_new());
    worker->payload.reset(EVP_CIPHER_CTX_new());
    if (worker->wrap == nullptr || worker->payload == nullptr ||
        EVP_EncryptInit_ex2(worker->wrap.get(), owner_.aes_.get(),
                            owner_.keys_.active().bytes.data(), nullptr, nullptr) != 1 ||
        EVP_EncryptInit_ex2(worker->payload.get(), owner_.aes_.get(), nullptr, nullptr,
                            nullptr) != 1) {
      return;  // worker() is null
    }
    worker_ = std::move(worker);
  }
  ~WorkerLease() {
    if (worker_ == nullptr) {
      return;
    }
    std::lock_guard<std::mutex> lock(owner_.pool_mu_);
    if (owner_.idle_workers_.size() < kMaxIdleWorkers) {
      owner_.idle_workers_.push_back(std::move(worker_));
    }
  }
  WorkerLease(const WorkerLease&) = delete;
  WorkerLease& operator=(const WorkerLease&) = delete;

  // Null when no worker could be set up (out of memory, OpenSSL failure).
  Worker* worker() { return worker_.get(); }
  void discard() { worker_.reset(); }

 private:
  EnvelopeCipher& owner_;
  std::unique_ptr<Worker> worker_;
};

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
  static const int fork_hook = ::pthread_atfork(nullptr, nullptr, &onForkChild);  // once
  if (fork_hook != 0) {
    return Status::internal("cannot register the envelope cipher's fork handler");
  }
  return std::shared_ptr<EnvelopeCipher>(
      new EnvelopeCipher(std::move(keys), std::move(aes), std::move(usage)));
}

Result<std::string> EnvelopeCipher::seal(std::string_view plaintext,
                                         std::string_view associated_data) {
  const KeyRing::Key& kek = keys_.active();
  GW_RETURN_IF_ERROR(usage_->acquire(kek.id));
  WorkerLease lease(*this);
  Worker* worker = lease.worker();
  if (worker == nullptr) {
    return opensslError(StatusCode::Internal, "cannot allocate a cipher context");
  }

  // DEK, wrap IV and payload IV.
  SecretBytes<kSealRandomBytes> random;
  if (!worker->takeRandom(random.data(), random.bytes.size())) {
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
  // The wrap context holds the KEK's key schedule: only the IV is new.
  if (!gcmEncrypt(worker->wrap.get(), nullptr, nullptr, wrap_iv, {wrap_aad}, dek, kKeyBytes,
                  w + kIvBytes + kTagBytes, w + kIvBytes) ||
      !gcmEncrypt(worker->payload.get(), nullptr, dek, payload_iv, {payload_aad, associated_data},
                  u8(plaintext.data()), plaintext.size(), b + kPayloadHeaderBytes, b + kIvBytes)) {
    lease.discard();
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
  WorkerLease lease(*this);
  Worker* worker = lease.worker();
  if (worker == nullptr) {
    return opensslError(StatusCode::Internal, "cannot allocate a cipher context");
  }
  EVP_CIPHER_CTX* ctx = worker->payload.get();  // keyed with the KEK, then with the DEK
  SecretBytes<kKeyBytes> dek;
  switch (gcmDecrypt(ctx, nullptr, kek->bytes.data(), e.wrap_iv, {e.wrap_aad},
                     e.wrapped_dek, kKeyBytes, dek.data(), e.wrap_tag)) {
    case Opened::Ok:
      break;
    case Opened::AuthenticationFailed:
      return Status::dataLoss("encrypted payload's data key failed authentication (tampered)");
    case Opened::Error:
      lease.discard();
      return opensslError(StatusCode::Internal, "AES-256-GCM decryption failed");
  }
  std::string out(e.body.size(), '\0');
  switch (gcmDecrypt(ctx, nullptr, dek.data(), e.payload_iv, {e.payload_aad, associated_data},
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
  lease.discard();
  OPENSSL_cleanse(out.data(), out.size());
  return opensslError(StatusCode::Internal, "AES-256-GCM decryption failed");
}

Result<std::string> EnvelopeCipher::keyIdOf(std::string_view ciphertext) {
  GW_ASSIGN_OR_RETURN(const Envelope e, parseEnvelope(ciphertext));
  return std::string(e.key_id);
}

}  // namespace gw
