// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/KeyRing.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "tests/support/TestSupport.h"

namespace gw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHexA = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const std::string kHexB = "FFEEDDCCBBAA99887766554433221100FFEEDDCCBBAA99887766554433221100";

// 2024-01-31T12:00:00Z
SystemTime fixedTime() {
  return std::chrono::system_clock::from_time_t(1706702400);
}

// "kek-20240131-" followed by 8 lower-case hex digits.
bool isGeneratedIdFor20240131(const std::string& id) {
  const std::string prefix = "kek-20240131-";
  if (id.size() != prefix.size() + 8 || id.compare(0, prefix.size(), prefix) != 0) {
    return false;
  }
  for (std::size_t i = prefix.size(); i < id.size(); ++i) {
    if (std::string_view("0123456789abcdef").find(id[i]) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

unsigned modeOf(const std::filesystem::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

class KeyRingTest : public ::testing::Test {
 protected:
  std::string writeKeyFile(const std::string& content, unsigned mode) {
    const auto path = dir_.path() / "keys" / "gateway.keys";
    std::filesystem::remove(path);
    test::writeFile(path, content);
    std::filesystem::permissions(path, static_cast<std::filesystem::perms>(mode));
    return path.string();
  }

  test::TempDir dir_;
};

TEST_F(KeyRingTest, LoadsKeysAndLastIsActive) {
  const std::string path = writeKeyFile(
      "# rotation history\n\n  # indented comment\nold " + kHexA + "\nnew\t" + kHexB + "  \r\n",
      0600);
  Result<KeyRing> ring = KeyRing::load(path);
  ASSERT_TRUE(ring.ok()) << ring.status().toString();
  EXPECT_EQ(ring->size(), 2u);
  EXPECT_EQ(ring->active().id, "new");
  EXPECT_EQ(ring->keyIds(), (std::vector<std::string>{"old", "new"}));
  const KeyRing::Key* old_key = ring->find("old");
  ASSERT_NE(old_key, nullptr);
  for (std::size_t i = 0; i < KeyRing::kKeyBytes; ++i) {
    EXPECT_EQ(old_key->bytes[i], i);
  }
  EXPECT_EQ(ring->active().bytes[0], 0xFF);  // upper-case hex
  EXPECT_EQ(ring->find("missing"), nullptr);
}

TEST_F(KeyRingTest, RefusesFileReadableByGroupOrOthers) {
  for (const unsigned mode : {0644u, 0640u, 0604u, 0660u, 0602u}) {
    const std::string path = writeKeyFile("k1 " + kHexA + "\n", mode);
    Result<KeyRing> ring = KeyRing::load(path);
    ASSERT_FALSE(ring.ok()) << std::oct << mode;
    EXPECT_EQ(ring.status().code(), StatusCode::PermissionDenied);
    EXPECT_THAT(ring.status().message(), HasSubstr(path));
    EXPECT_THAT(ring.status().message(), HasSubstr("chmod 600"));
  }
  const std::string path = writeKeyFile("k1 " + kHexA + "\n", 0644);
  EXPECT_THAT(KeyRing::load(path).status().message(),
              HasSubstr("accessible by group and others (mode 0644)"));
}

TEST_F(KeyRingTest, AcceptsOwnerOnlyModes) {
  for (const unsigned mode : {0600u, 0400u}) {
    const std::string path = writeKeyFile("k1 " + kHexA + "\n", mode);
    EXPECT_TRUE(KeyRing::load(path).ok()) << std::oct << mode;
  }
}

TEST_F(KeyRingTest, MissingFileIsNotFound) {
  const std::string path = (dir_.path() / "nope.keys").string();
  Result<KeyRing> ring = KeyRing::load(path);
  EXPECT_EQ(ring.status().code(), StatusCode::NotFound);
  EXPECT_THAT(ring.status().message(), HasSubstr(path));
}

TEST_F(KeyRingTest, DirectoryIsNotAKeyFile) {
  std::filesystem::create_directories(dir_.path() / "d");
  std::filesystem::permissions(dir_.path() / "d", std::filesystem::perms::owner_all);
  EXPECT_EQ(KeyRing::load((dir_.path() / "d").string()).status().code(),
            StatusCode::InvalidArgument);
}

struct MalformedCase {
  std::string text;
  int line;
  int column;
  std::string message;
};

TEST_F(KeyRingTest, MalformedLinesAreParseErrorsWithLineNumbers) {
  const std::vector<MalformedCase> cases = {
      {"# c\nk1 " + kHexA.substr(1) + "\n", 2, 4, "64 hex characters"},
      {"k1 " + kHexA + "\nk2 " + kHexA.substr(0, 63) + "g\n", 2, 4, "non-hex"},
      {"\n\nk1\n", 3, 1, "expected '<key id> <64 hex characters>'"},
      {"k1 " + kHexA + " extra\n", 1, 69, "unexpected text"},
      {"k/1 " + kHexA + "\n", 1, 1, "key id may only contain"},
      {std::string(65, 'k') + " " + kHexA + "\n", 1, 1, "longer than 64"},
      {"k1 " + kHexA + "\n# x\nk1 " + kHexB + "\n", 3, 1, "duplicate key id 'k1'"},
      {"# only comments\n", 1, 1, "holds no key"},
      {"", 0, 1, "holds no key"},
  };
  for (const MalformedCase& c : cases) {
    const std::string path = writeKeyFile(c.text, 0600);
    Result<KeyRing> ring = KeyRing::load(path);
    ASSERT_FALSE(ring.ok()) << c.text;
    EXPECT_EQ(ring.status().code(), StatusCode::ParseError) << c.text;
    ASSERT_TRUE(ring.status().position().has_value()) << c.text;
    EXPECT_EQ(ring.status().position()->file, path);
    EXPECT_EQ(ring.status().position()->line, c.line) << c.text;
    EXPECT_EQ(ring.status().position()->column, c.column) << c.text;
    EXPECT_THAT(ring.status().message(), HasSubstr(c.message)) << c.text;
    // Never echoes key material.
    EXPECT_THAT(ring.status().toString(), Not(HasSubstr(kHexA.substr(0, 16))));
    EXPECT_THAT(ring.status().toString(), Not(HasSubstr(kHexB.substr(0, 16))));
  }
}

TEST_F(KeyRingTest, GenerateFileCreatesOwnerOnlyFileAndDirectories) {
  const std::filesystem::path path = dir_.path() / "var" / "keys" / "gateway.keys";
  const mode_t old_umask = ::umask(0);  // the file must be 0600 whatever the umask
  Result<std::string> id = KeyRing::generateFile(path.string(), fixedTime());
  ::umask(old_umask);
  ASSERT_TRUE(id.ok()) << id.status().toString();
  EXPECT_TRUE(isGeneratedIdFor20240131(*id)) << *id;
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(modeOf(path.parent_path()), 0700u);
  EXPECT_EQ(modeOf(path.parent_path().parent_path()), 0700u);

  Result<KeyRing> ring = KeyRing::load(path.string());
  ASSERT_TRUE(ring.ok()) << ring.status().toString();
  EXPECT_EQ(ring->size(), 1u);
  EXPECT_EQ(ring->active().id, *id);
}

TEST_F(KeyRingTest, GenerateFileNeverOverwrites) {
  const std::string path = writeKeyFile("k1 " + kHexA + "\n", 0600);
  Result<std::string> id = KeyRing::generateFile(path, fixedTime());
  EXPECT_EQ(id.status().code(), StatusCode::AlreadyExists);
  EXPECT_EQ(test::readFile(path), "k1 " + kHexA + "\n");
}

TEST_F(KeyRingTest, GeneratedKeysDiffer) {
  const std::string a = (dir_.path() / "a.keys").string();
  const std::string b = (dir_.path() / "b.keys").string();
  ASSERT_TRUE(KeyRing::generateFile(a, fixedTime()).ok());
  ASSERT_TRUE(KeyRing::generateFile(b, fixedTime()).ok());
  const KeyRing ring_a = KeyRing::load(a).value();
  const KeyRing ring_b = KeyRing::load(b).value();
  EXPECT_NE(ring_a.active().id, ring_b.active().id);
  EXPECT_NE(ring_a.active().bytes, ring_b.active().bytes);
}

TEST_F(KeyRingTest, AppendNewKeyRotates) {
  const std::string path = (dir_.path() / "gateway.keys").string();
  const std::string first = KeyRing::generateFile(path, fixedTime()).value();
  Result<std::string> second = KeyRing::appendNewKey(path, fixedTime());
  ASSERT_TRUE(second.ok()) << second.status().toString();
  EXPECT_NE(*second, first);
  EXPECT_EQ(modeOf(path), 0600u);

  const KeyRing ring = KeyRing::load(path).value();
  EXPECT_EQ(ring.keyIds(), (std::vector<std::string>{first, *second}));
  EXPECT_EQ(ring.active().id, *second);
}

TEST_F(KeyRingTest, AppendNewKeyAfterLastLineWithoutNewline) {
  const std::string path = writeKeyFile("k1 " + kHexA, 0600);
  Result<std::string> id = KeyRing::appendNewKey(path, fixedTime());
  ASSERT_TRUE(id.ok()) << id.status().toString();
  const KeyRing ring = KeyRing::load(path).value();
  EXPECT_EQ(ring.keyIds(), (std::vector<std::string>{"k1", *id}));
}

TEST_F(KeyRingTest, AppendNewKeyRefusesBadFiles) {
  EXPECT_EQ(
      KeyRing::appendNewKey(writeKeyFile("k1 " + kHexA + "\n", 0644), fixedTime()).status().code(),
      StatusCode::PermissionDenied);
  EXPECT_EQ(KeyRing::appendNewKey(writeKeyFile("k1 abc\n", 0600), fixedTime()).status().code(),
            StatusCode::ParseError);
  EXPECT_EQ(KeyRing::appendNewKey((dir_.path() / "missing").string(), fixedTime()).status().code(),
            StatusCode::NotFound);
  EXPECT_EQ(test::readFile(dir_.path() / "keys" / "gateway.keys"), "k1 abc\n");
}

}  // namespace
}  // namespace gw
