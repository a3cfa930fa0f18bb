// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditSigner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include "gateway/audit/Checkpoint.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;

constexpr char kOrigin[] = "gateway.example.invalid/audit";

// Verifies an Ed25519 signature with OpenSSL directly, independent of AuditSigner.
bool opensslVerifies(const std::string& public_key, const std::string& message,
                     const std::string& signature) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      key != nullptr && ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

class AuditSignerTest : public ::testing::Test {
 protected:
  std::string keyPath() const { return (dir_.path() / "keys" / "audit-signing.pem").string(); }
  test::TempDir dir_;
};

TEST_F(AuditSignerTest, GeneratesAnOwnerOnlyPemKeyAndLoadsIt) {
  ASSERT_TRUE(AuditSigner::generateFile(keyPath()).isOk());
  struct stat st {};
  ASSERT_EQ(::stat(keyPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THAT(test::readFile(keyPath()), HasSubstr("-----BEGIN PRIVATE KEY-----"));
  Result<std::unique_ptr<AuditSigner>> signer = AuditSigner::load(keyPath(), kOrigin);
  ASSERT_TRUE(signer.ok()) << signer.status().toString();
  EXPECT_EQ((*signer)->publicKey().size(), 32u);
  EXPECT_EQ((*signer)->keyName(), kOrigin);
  // Never overwrites.
  EXPECT_EQ(AuditSigner::generateFile(keyPath()).code(), StatusCode::AlreadyExists);
}

TEST_F(AuditSignerTest, LoadOrGenerateCreatesOnceAndKeepsTheKey) {
  auto first = AuditSigner::loadOrGenerate(keyPath(), kOrigin, true);
  ASSERT_TRUE(first.ok()) << first.status().toString();
  auto second = AuditSigner::loadOrGenerate(keyPath(), kOrigin, true);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*first)->publicKey(), (*second)->publicKey());
  EXPECT_EQ(AuditSigner::loadOrGenerate(keyPath() + ".other", kOrigin, false).status().code(),
            StatusCode::NotFound);
}

TEST_F(AuditSignerTest, RefusesAKeyFileReadableByOthers) {
  ASSERT_TRUE(AuditSigner::generateFile(keyPath()).isOk());
  ASSERT_EQ(::chmod(keyPath().c_str(), 0640), 0);
  Result<std::unique_ptr<AuditSigner>> signer = AuditSigner::load(keyPath(), kOrigin);
  EXPECT_EQ(signer.status().code(), StatusCode::PermissionDenied);
  EXPECT_THAT(signer.status().message(), HasSubstr("chmod 600"));
}

TEST_F(AuditSignerTest, RefusesWhatIsNotAnEd25519PemKey) {
  test::writeFile(keyPath(), "not a key\n");
  ASSERT_EQ(::chmod(keyPath().c_str(), 0600), 0);
  EXPECT_EQ(AuditSigner::load(keyPath(), kOrigin).status().code(), StatusCode::InvalidArgument);
}

TEST_F(AuditSignerTest, RefusesKeyNamesTheNoteFormatCannotCarry) {
  for (const char* name : {"", "has space", "a+b", "tab\there"}) {
    EXPECT_EQ(AuditSigner::generateForTest(name).status().code(), StatusCode::InvalidArgument)
        << name;
  }
}

TEST_F(AuditSignerTest, SignedCheckpointParsesBackAndItsSignatureVerifiesWithOpenSsl) {
  auto signer = AuditSigner::generateForTest(kOrigin).value();
  Checkpoint c;
  c.origin = kOrigin;
  c.tree_size = 42;
  c.root = merkle::hashLeaf("root");
  const std::string text = formatCheckpoint(c).value();
  const std::string note = signer->sign(text).value();

  SignedNote parsed = parseSignedNote(note).value();
  EXPECT_EQ(parsed.text, text);
  ASSERT_EQ(parsed.signatures.size(), 1u);
  EXPECT_EQ(parsed.signatures[0].key_name, kOrigin);
  // signed-note key hash: SHA-256(name || 0x0A || 0x01 || public key)[0:4].
  std::string id_input = std::string(kOrigin) + "\n\x01" + signer->publicKey();
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id_input.data()), id_input.size(), digest);
  const std::uint32_t expected_hash = (std::uint32_t{digest[0]} << 24) |
                                      (std::uint32_t{digest[1]} << 16) |
                                      (std::uint32_t{digest[2]} << 8) | digest[3];
  EXPECT_EQ(parsed.signatures[0].key_hash, expected_hash);
  EXPECT_EQ(signer->keyHash(), expected_hash);
  EXPECT_TRUE(opensslVerifies(signer->publicKey(), text, parsed.signatures[0].signature));

  Checkpoint back = parseCheckpoint(signer->open(note).value()).value();
  EXPECT_EQ(back.tree_size, 42u);
  EXPECT_EQ(back.root, c.root);
  EXPECT_EQ(openSignedNote(note, kOrigin, signer->publicKey()).value(), text);
  EXPECT_THAT(signer->verifierKey(), HasSubstr(std::string(kOrigin) + "+"));
}

TEST_F(AuditSignerTest, WrongKeyOrAlteredTextFails) {
  auto signer = AuditSigner::generateForTest(kOrigin).value();
  auto other = AuditSigner::generateForTest(kOrigin).value();
  const std::string note = signer->sign("origin\n1\nAAAA\n").value();
  EXPECT_EQ(other->open(note).status().code(), StatusCode::DataLoss);
  EXPECT_EQ(openSignedNote(note, kOrigin, other->publicKey()).status().code(),
            StatusCode::DataLoss);

  std::string altered = note;
  altered[7] = '2';  // the tree size
  EXPECT_EQ(signer->open(altered).status().code(), StatusCode::DataLoss);

  // A forged line claiming our key hash but signed by another key fails too.
  SignedNote forged = parseSignedNote(other->sign("origin\n1\nAAAA\n").value()).value();
  forged.signatures[0].key_hash = signer->keyHash();
  EXPECT_EQ(signer->open(formatSignedNote(forged)).status().code(), StatusCode::DataLoss);
}

TEST_F(AuditSignerTest, RefusesToSignTextTheNoteFormatCannotCarry) {
  auto signer = AuditSigner::generateForTest(kOrigin).value();
  EXPECT_EQ(signer->sign("").status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(signer->sign("no newline").status().code(), StatusCode::InvalidArgument);
  EXPECT_EQ(signer->sign("a\n\nb\n").status().code(), StatusCode::InvalidArgument);
}

}  // namespace
}  // namespace gw
