// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "gateway/crypto/EnvelopeCipher.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

const std::string kHexA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kHexB = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
constexpr std::size_t kOverhead = 93;  // header bytes besides the key id

KeyRing ring(const std::string& text) {
  return KeyRing::parse(text, "test").value();
}

std::shared_ptr<EnvelopeCipher> cipher(const std::string& text) {
  return EnvelopeCipher::create(ring(text)).value();
}

// Opens an envelope with plain OpenSSL calls, following the layout documented in
// EnvelopeCipher.h, independently of EnvelopeCipher::open(); nullopt when authentication fails.
std::optional<std::string> openIndependently(const std::string& sealed,
                                             const std::array<unsigned char, 32>& kek,
                                             const std::string& associated_data) {
  auto gcm = [](const unsigned char* key, const unsigned char* iv, const std::string& aad,
                const unsigned char* in, std::size_t size,
                const unsigned char* tag) -> std::optional<std::string> {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    std::string out(size, '\0');
    int n = 0;
    std::array<unsigned char, 16> expected{};
    std::copy(tag, tag + 16, expected.begin());
    const bool ok =
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key, iv) == 1 &&
        EVP_DecryptUpdate(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())) == 1 &&
        EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &n, in,
                          static_cast<int>(size)) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, expected.data()) == 1 &&
        EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + size, &n) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? std::optional<std::string>(out) : std::nullopt;
  };
  const auto* c = reinterpret_cast<const unsigned char*>(sealed.data());
  const std::size_t id_length = c[4];
  const std::size_t wrap_at = 5 + id_length;
  const std::size_t payload_at = wrap_at + 12 + 16 + 32;
  const std::size_t body_at = payload_at + 12 + 16;
  const std::optional<std::string> dek = gcm(kek.data(), c + wrap_at, sealed.substr(0, wrap_at),
                                             c + wrap_at + 28, 32, c + wrap_at + 12);
  if (!dek || dek->size() != 32) {
    return std::nullopt;
  }
  return gcm(reinterpret_cast<const unsigned char*>(dek->data()), c + payload_at,
             sealed.substr(0, payload_at) + associated_data, c + body_at,
             sealed.size() - body_at, c + payload_at + 12);
}

std::array<unsigned char, 32> keyBytes(const std::string& hex) {
  std::array<unsigned char, 32> key{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  }
  return key;
}

// The wrap IV and payload IV of a sealed envelope (the random parts besides the DEK).
std::string ivsOf(const std::string& sealed) {
  const std::size_t wrap_at = 5 + static_cast<unsigned char>(sealed[4]);
  return sealed.substr(wrap_at, 12) + sealed.substr(wrap_at + 60, 12);
}

std::string payload(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>('A' + i % 26);
  }
  return s;
}

TEST(EnvelopeCipherTest, RoundTripsPayloadsOfAnySize) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  for (const std::size_t size : {0u, 1u, 15u, 16u, 17u, 1024u, 100000u}) {
    const std::string plain = payload(size);
    Result<std::string> sealed = c->seal(plain, "dedupe-key");
    ASSERT_TRUE(sealed.ok()) << sealed.status().toString();
    EXPECT_EQ(sealed->size(), size + kOverhead + 5);
    Result<std::string> opened = c->open(*sealed, "dedupe-key");
    ASSERT_TRUE(opened.ok()) << opened.status().toString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(EnvelopeCipherTest, HeaderNamesTheActiveKey) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string sealed = c->seal("MSH|^~\\&|", "k").value();
  EXPECT_EQ(sealed.substr(0, 4), std::string("GWE\x01", 4));
  EXPECT_EQ(static_cast<unsigned char>(sealed[4]), 5u);
  EXPECT_EQ(sealed.substr(5, 5), "kek-1");
  EXPECT_EQ(EnvelopeCipher::keyIdOf(sealed).value(), "kek-1");
  EXPECT_EQ(c->activeKeyId(), "kek-1");
  EXPECT_EQ(sealed.find("MSH"), std::string::npos);
}

TEST(EnvelopeCipherTest, EverySealIsFresh) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string a = c->seal("same", "k").value();
  const std::string b = c->seal("same", "k").value();
  EXPECT_NE(a, b);
  // Wrapped DEK and both IVs differ, not only the tag.
  EXPECT_NE(a.substr(10, 60), b.substr(10, 60));
}

TEST(EnvelopeCipherTest, WrongAssociatedDataIsDataLoss) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string sealed = c->seal("payload", "row-1").value();
  for (const char* aad : {"row-2", "", "row-1 ", "row-"}) {
    Result<std::string> opened = c->open(sealed, aad);
    EXPECT_EQ(opened.status().code(), StatusCode::DataLoss) << aad;
  }
}

TEST(EnvelopeCipherTest, FlippingAnyBitFails) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string sealed = c->seal(payload(64), "aad").value();
  const std::size_t key_id_end = 5 + 5;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (const unsigned char bit : {0x01, 0x80}) {
      std::string tampered = sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ bit);
      Result<std::string> opened = c->open(tampered, "aad");
      ASSERT_FALSE(opened.ok()) << "byte " << i;
      if (i >= 4 && i < key_id_end) {
        // A changed key id (or its length) names another key: unknown here, or malformed.
        EXPECT_TRUE(opened.status().code() == StatusCode::NotFound ||
                    opened.status().code() == StatusCode::DataLoss)
            << "byte " << i << ": " << opened.status().toString();
      } else {
        EXPECT_EQ(opened.status().code(), StatusCode::DataLoss) << "byte " << i;
      }
    }
  }
}

TEST(EnvelopeCipherTest, TruncationAtEveryLengthIsDataLoss) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string sealed = c->seal(payload(40), "aad").value();
  for (std::size_t length = 0; length < sealed.size(); ++length) {
    Result<std::string> opened = c->open(std::string_view(sealed).substr(0, length), "aad");
    EXPECT_EQ(opened.status().code(), StatusCode::DataLoss) << "length " << length;
  }
  EXPECT_EQ(c->open(sealed + "x", "aad").status().code(), StatusCode::DataLoss);
}

TEST(EnvelopeCipherTest, SwappedRegionsFail) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const std::string a = c->seal(payload(32), "aad").value();
  const std::string b = c->seal(payload(32), "aad").value();
  // Wrapped DEK of one envelope with the payload of another.
  const std::string mixed = a.substr(0, 70) + b.substr(70);
  EXPECT_EQ(c->open(mixed, "aad").status().code(), StatusCode::DataLoss);
  // An unsupported format version.
  std::string v2 = a;
  v2[3] = 2;
  EXPECT_THAT(c->open(v2, "aad").status().message(), HasSubstr("format version 2"));
}

TEST(EnvelopeCipherTest, GarbageNeverCrashes) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 300, '\0');
    for (char& ch : junk) {
      ch = static_cast<char>(rng());
    }
    if (i % 2 == 0 && junk.size() >= 10) {
      junk.replace(0, 10, std::string("GWE\x01\x05kek-1", 10));  // valid prefix, junk after
    }
    Result<std::string> opened = c->open(junk, "aad");
    EXPECT_FALSE(opened.ok());
    EXPECT_TRUE(opened.status().code() == StatusCode::DataLoss ||
                opened.status().code() == StatusCode::NotFound)
        << opened.status().toString();
  }
}

TEST(EnvelopeCipherTest, UnknownKeyIdIsNotFound) {
  const auto writer = cipher("kek-1 " + kHexA + "\n");
  const auto reader = cipher("kek-2 " + kHexB + "\n");
  Result<std::string> opened = reader->open(writer->seal("x", "aad").value(), "aad");
  EXPECT_EQ(opened.status().code(), StatusCode::NotFound);
  EXPECT_THAT(opened.status().message(), HasSubstr("kek-1"));
}

TEST(EnvelopeCipherTest, SameIdWithAnotherKeyIsDataLoss) {
  const auto writer = cipher("kek-1 " + kHexA + "\n");
  const auto reader = cipher("kek-1 " + kHexB + "\n");
  EXPECT_EQ(reader->open(writer->seal("x", "aad").value(), "aad").status().code(),
            StatusCode::DataLoss);
}

TEST(EnvelopeCipherTest, RotationKeepsOldCiphertextsReadable) {
  test::TempDir dir;
  const std::string path = (dir.path() / "gateway.keys").string();
  const SystemTime day = std::chrono::system_clock::from_time_t(1706702400);
  ASSERT_TRUE(KeyRing::generateFile(path, day).ok());
  const auto before = EnvelopeCipher::create(KeyRing::load(path).value()).value();
  const std::string old_sealed = before->seal("old", "aad").value();

  const std::string new_id = KeyRing::appendNewKey(path, day).value();
  const auto after = EnvelopeCipher::create(KeyRing::load(path).value()).value();
  EXPECT_EQ(after->activeKeyId(), new_id);
  const std::string new_sealed = after->seal("new", "aad").value();
  EXPECT_EQ(EnvelopeCipher::keyIdOf(new_sealed).value(), new_id);
  EXPECT_NE(EnvelopeCipher::keyIdOf(old_sealed).value(), new_id);
  EXPECT_EQ(after->open(old_sealed, "aad").value(), "old");
  EXPECT_EQ(after->open(new_sealed, "aad").value(), "new");
  // The old process cannot read what the new key wrote.
  EXPECT_EQ(before->open(new_sealed, "aad").status().code(), StatusCode::NotFound);
}

TEST(EnvelopeCipherTest, RefusesToSealPastTheWrapLimit) {
  const auto c = EnvelopeCipher::createForTest(ring("kek-1 " + kHexA + "\n"), 3).value();
  std::vector<std::string> sealed;
  for (int i = 0; i < 3; ++i) {
    sealed.push_back(c->seal("x", "aad").value());
  }
  for (int i = 0; i < 2; ++i) {
    Result<std::string> refused = c->seal("x", "aad");
    EXPECT_EQ(refused.status().code(), StatusCode::Unavailable);
    EXPECT_EQ(refused.status().message(),
              "key kek-1 reached its encryption limit; run `gateway keys rotate`");
  }
  for (const std::string& s : sealed) {
    EXPECT_EQ(c->open(s, "aad").value(), "x");  // reading is not limited
  }
}

TEST(EnvelopeCipherTest, PersistentWrapCountSurvivesARestartAndStopsAtTheLimit) {
  test::TempDir dir;
  const std::string ledger = (dir.path() / "gateway.keys.usage").string();
  const KeyUsageLedger::Options options{/*block=*/4, /*limit=*/10};
  std::vector<std::string> sealed;
  {
    auto c = EnvelopeCipher::create(ring("kek-1 " + kHexA + "\n"),
                                    KeyUsageLedger::open(ledger, options).value())
                 .value();
    for (int i = 0; i < 5; ++i) {  // two blocks reserved: 8
      sealed.push_back(c->seal("x", "aad").value());
    }
    ASSERT_EQ(c->keyUsage().size(), 1u);
    EXPECT_EQ(c->keyUsage()[0].used, 5u);
    EXPECT_EQ(c->keyUsage()[0].reserved, 8u);
  }
  // A restart resumes at the reserved mark (8): only two more uses fit under 10.
  auto c = EnvelopeCipher::create(ring("kek-1 " + kHexA + "\n"),
                                  KeyUsageLedger::open(ledger, options).value())
               .value();
  EXPECT_TRUE(c->seal("y", "aad").ok());
  EXPECT_TRUE(c->seal("y", "aad").ok());
  const Result<std::string> refused = c->seal("y", "aad");
  EXPECT_EQ(refused.status().code(), StatusCode::Unavailable);
  EXPECT_EQ(refused.status().message(),
            "key kek-1 reached its encryption limit; run `gateway keys rotate`");
  EXPECT_EQ(c->open(sealed[0], "aad").value(), "x");  // reading is not limited

  // After rotation the new key has its own count.
  auto rotated = EnvelopeCipher::create(ring("kek-1 " + kHexA + "\nkek-2 " + kHexB + "\n"),
                                        KeyUsageLedger::open(ledger, options).value())
                     .value();
  EXPECT_TRUE(rotated->seal("z", "aad").ok());
  EXPECT_EQ(rotated->keyUsage().size(), 2u);
}

// Pooled contexts (the KEK's kept key schedule, the reservoir of random bytes) must produce
// exactly the documented envelope, seal after seal, also after failed opens on the same context.
TEST(EnvelopeCipherTest, EverySealOpensWithPlainOpenSslAcrossReusedContexts) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  const auto kek = keyBytes(kHexA);
  std::set<std::string> ivs;
  for (int i = 0; i < 300; ++i) {  // several reservoir refills
    const std::string aad = "key-" + std::to_string(i);
    const std::string plain = payload(static_cast<std::size_t>(i * 7));
    Result<std::string> sealed = c->seal(plain, aad);
    ASSERT_TRUE(sealed.ok()) << sealed.status().toString();
    EXPECT_EQ(openIndependently(*sealed, kek, aad), plain) << "seal " << i;
    EXPECT_FALSE(openIndependently(*sealed, kek, aad + "x").has_value());
    EXPECT_TRUE(ivs.insert(ivsOf(*sealed)).second) << "IVs repeated at seal " << i;
    if (i % 10 == 0) {  // a failed open leaves the context in a failed state
      std::string tampered = *sealed;
      tampered.back() = static_cast<char>(tampered.back() ^ 1);
      EXPECT_EQ(c->open(tampered, aad).status().code(), StatusCode::DataLoss);
      EXPECT_EQ(c->open(*sealed, aad + "x").status().code(), StatusCode::DataLoss);
    }
    EXPECT_EQ(c->open(*sealed, aad).valueOr(std::string("-")), plain);
  }
}

// Random bytes drawn into the reservoir before a fork must not be used by both processes.
TEST(EnvelopeCipherTest, ForkedChildNeverReusesTheParentsRandomBytes) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  ASSERT_TRUE(c->seal("fill the reservoir", "aad").ok());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    Result<std::string> sealed = c->seal("in the child", "aad");
    const std::string ivs = sealed.ok() ? ivsOf(*sealed) : std::string();
    const bool written = ::write(fds[1], ivs.data(), ivs.size()) == static_cast<ssize_t>(ivs.size());
    ::_exit(written && sealed.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  Result<std::string> sealed = c->seal("in the parent", "aad");
  ASSERT_TRUE(sealed.ok());
  std::string child_ivs(24, '\0');
  EXPECT_EQ(::read(fds[0], child_ivs.data(), child_ivs.size()), 24);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(child_ivs, ivsOf(*sealed));
}

TEST(EnvelopeCipherTest, NullLedgerIsRefused) {
  EXPECT_EQ(EnvelopeCipher::create(ring("kek-1 " + kHexA + "\n"), nullptr).status().code(),
            StatusCode::InvalidArgument);
}

TEST(EnvelopeCipherTest, ConcurrentSealAndOpen) {
  const auto c = cipher("kek-1 " + kHexA + "\n");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string aad = std::to_string(t) + ":" + std::to_string(i);
        const std::string plain = payload(static_cast<std::size_t>(i));
        Result<std::string> sealed = c->seal(plain, aad);
        if (!sealed.ok() || c->open(*sealed, aad).valueOr(std::string("-")) != plain) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace gw
