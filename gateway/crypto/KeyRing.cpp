// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/KeyRing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "gateway/crypto/Digest.h"
#include "gateway/crypto/OpenSslError.h"
#include "gateway/crypto/SecretFile.h"

namespace gw {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 1 << 20;
constexpr std::string_view kWhat = "key file";

// Wipes a buffer that held key material when it goes out of scope.
class WipeOnExit {
 public:
  explicit WipeOnExit(std::string& s) : s_(s) {}
  ~WipeOnExit() { OPENSSL_cleanse(s_.data(), s_.size()); }
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;

 private:
  std::string& s_;
};

bool isKeyIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// "<prefix><id> <hex>\n" for a fresh random key; the caller wipes the returned line.
Result<std::string> newKeyLine(std::string_view prefix, const std::string& id) {
  std::array<unsigned char, KeyRing::kKeyBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return opensslError(StatusCode::Internal, "cannot generate a key");
  }
  std::string hex =
      toHex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  OPENSSL_cleanse(bytes.data(), bytes.size());
  std::string line;
  line.reserve(prefix.size() + id.size() + hex.size() + 2);
  line.append(prefix).append(id).append(" ").append(hex).append("\n");
  OPENSSL_cleanse(hex.data(), hex.size());
  return line;
}

}  // namespace

KeyRing::Key::~Key() {
  OPENSSL_cleanse(bytes.data(), bytes.size());
}

Result<KeyRing> KeyRing::parse(std::string_view text, const std::string& origin) {
  std::vector<Key> keys;
  int line_number = 0;
  const auto error = [&](int column, std::string message) {
    return Status::parseError(std::move(message)).withPosition({origin, line_number, column});
  };
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);

    std::size_t pos = 0;
    while (pos < line.size() && isBlank(line[pos])) {
      ++pos;
    }
    if (pos == line.size() || line[pos] == '#') {
      continue;
    }
    const std::size_t id_begin = pos;
    while (pos < line.size() && !isBlank(line[pos])) {
      ++pos;
    }
    const std::string_view id = line.substr(id_begin, pos - id_begin);
    const int id_column = static_cast<int>(id_begin) + 1;
    if (id.size() > kMaxKeyIdLength) {
      return error(id_column, "key id is longer than 64 characters");
    }
    for (const char c : id) {
      if (!isKeyIdChar(c)) {
        return error(id_column, "key id may only contain letters, digits, '.', '_' and '-'");
      }
    }
    while (pos < line.size() && isBlank(line[pos])) {
      ++pos;
    }
    const std::size_t hex_begin = pos;
    while (pos < line.size() && !isBlank(line[pos])) {
      ++pos;
    }
    const std::string_view hex = line.substr(hex_begin, pos - hex_begin);
    const int hex_column = static_cast<int>(hex_begin) + 1;
    while (pos < line.size() && isBlank(line[pos])) {
      ++pos;
    }
    if (hex.empty()) {
      return error(id_column, "expected '<key id> <64 hex characters>'");
    }
    if (pos != line.size()) {
      return error(static_cast<int>(pos) + 1,
                   "unexpected text after the key (expected '<key id> <64 hex characters>')");
    }
    if (hex.size() != 2 * kKeyBytes) {
      return error(hex_column, "key must be 64 hex characters (AES-256), found " +
                                   std::to_string(hex.size()) + " characters");
    }
    Key key;
    for (std::size_t i = 0; i < kKeyBytes; ++i) {
      const int hi = hexValue(hex[2 * i]);
      const int lo = hexValue(hex[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        return error(hex_column,
                     "key must be 64 hex characters (AES-256); found a non-hex character");
      }
      key.bytes[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    for (const Key& existing : keys) {
      if (existing.id == id) {
        return error(id_column, "duplicate key id '" + std::string(id) + "'");
      }
    }
    key.id = std::string(id);
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    return Status::parseError("key file " + origin + " holds no key")
        .withPosition({origin, line_number, 1});
  }
  return KeyRing(std::move(keys));
}

Result<KeyRing> KeyRing::load(const std::string& path) {
  GW_ASSIGN_OR_RETURN(std::string text,
                      readSecretFile(path, kWhat, kMaxKeyFileBytes, SymlinkPolicy::Follow));
  WipeOnExit wipe(text);
  return parse(text, path);
}

Result<std::string> KeyRing::newKeyId(SystemTime now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  if (::gmtime_r(&t, &utc) == nullptr) {
    return Status::invalidArgument("time out of range for a key id");
  }
  std::array<unsigned char, 4> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return opensslError(StatusCode::Internal, "cannot generate a key id");
  }
  char date[40];
  std::snprintf(date, sizeof(date), "%04d%02d%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday);
  return "kek-" + std::string(date) + "-" +
         toHex(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

Result<std::string> KeyRing::generateFile(const std::string& path, SystemTime now) {
  GW_ASSIGN_OR_RETURN(std::string id, newKeyId(now));
  GW_ASSIGN_OR_RETURN(std::string line, newKeyLine("", id));
  WipeOnExit wipe(line);
  std::string content;
  content.reserve(256 + line.size());
  content +=
      "# Gateway key-encryption keys: <key id> <64 hex chars> (AES-256), one per line.\n"
      "# The last key wraps new data keys; keep older keys for reading. Keep this file mode "
      "0600.\n";
  WipeOnExit wipe_content(content);
  content += line;
  GW_RETURN_IF_ERROR(createSecretFile(path, content, kWhat));
  return id;
}

Result<std::string> KeyRing::appendNewKey(const std::string& path, SystemTime now) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    return secretFileError(path, errno, "cannot open", kWhat);
  }
  FileDescriptor file(fd);
  // Serialises concurrent rotations of the same file.
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return secretFileError(path, errno, "cannot lock", kWhat);
    }
  }
  GW_ASSIGN_OR_RETURN(std::string text, readOpenSecretFile(fd, path, kWhat, kMaxKeyFileBytes));
  WipeOnExit wipe_text(text);
  GW_ASSIGN_OR_RETURN(const KeyRing ring, parse(text, path));

  std::string id;
  do {
    GW_ASSIGN_OR_RETURN(id, newKeyId(now));
  } while (ring.find(id) != nullptr);
  const bool needs_newline = !text.empty() && text.back() != '\n';
  GW_ASSIGN_OR_RETURN(std::string line, newKeyLine(needs_newline ? "\n" : "", id));
  WipeOnExit wipe_line(line);
  GW_RETURN_IF_ERROR(writeSyncAndClose(file, line, path, kWhat));
  return id;
}

const KeyRing::Key* KeyRing::find(std::string_view id) const {
  for (const Key& key : keys_) {
    if (key.id == id) {
      return &key;
    }
  }
  return nullptr;
}

std::vector<std::string> KeyRing::keyIds() const {
  std::vector<std::string> ids;
  ids.reserve(keys_.size());
  for (const Key& key : keys_) {
    ids.push_back(key.id);
  }
  return ids;
}

}  // namespace gw
