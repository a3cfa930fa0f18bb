// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/KeyRing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "gateway/crypto/Digest.h"
#include "gateway/crypto/OpenSslError.h"

namespace gw {
namespace {

constexpr std::size_t kMaxKeyFileBytes = 1 << 20;

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

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports a failed close (a lost write on some file systems).
  int release() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errnoText(int err) {
  return std::strerror(err);
}

Status openError(const std::string& path, int err, std::string_view what) {
  const std::string message = std::string(what) + " key file " + path + ": " + errnoText(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Status::notFound(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return Status::permissionDenied(message);
    case EEXIST:
      return Status::alreadyExists(message);
    default:
      return Status::unavailable(message);
  }
}

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

// Checks an open key file (regular, owner-only) and reads it whole.
Result<std::string> readOpenKeyFile(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return openError(path, errno, "cannot stat");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::invalidArgument("key file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const char* who = (st.st_mode & 070) != 0 && (st.st_mode & 07) != 0 ? "group and others"
                      : (st.st_mode & 070) != 0                         ? "group"
                                                                        : "others";
    return Status::permissionDenied("key file " + path + " is accessible by " + who + " (mode " +
                                    mode + "); chmod 600 it");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxKeyFileBytes) {
    return Status::invalidArgument("key file " + path + " is larger than 1 MiB");
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  WipeOnExit wipe(text);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return openError(path, errno, "cannot read");
    }
    if (n == 0) {
      break;  // shrank while reading: parse what is there
    }
    done += static_cast<std::size_t>(n);
  }
  std::string out(text.data(), done);
  return out;
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return openError(path, errno, "cannot write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::ok();
}

Status syncDirectoryOf(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return openError(path, errno, "cannot open the directory of");
  }
  FileDescriptor closer(fd);
  if (::fsync(fd) != 0) {
    return openError(path, errno, "cannot sync the directory of");
  }
  return Status::ok();
}

// Creates each missing ancestor directory of `path` with mode 0700; existing ones are left as
// they are.
Status createParentDirectories(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) {
    return Status::ok();
  }
  std::filesystem::path partial;
  for (const auto& part : parent) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return openError(path, errno, "cannot create the directory " + partial.string() + " for");
    }
  }
  return Status::ok();
}

// "<prefix><id> <hex>\n" for a fresh random key; the caller wipes the returned line.
Result<std::string> newKeyLine(std::string_view prefix, const std::string& id) {
  std::array<unsigned char, KeyRing::kKeyBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return crypto_internal::opensslError(StatusCode::Internal, "cannot generate a key");
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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return openError(path, errno, "cannot open");
  }
  FileDescriptor closer(fd);
  GW_ASSIGN_OR_RETURN(std::string text, readOpenKeyFile(fd, path));
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
    return crypto_internal::opensslError(StatusCode::Internal, "cannot generate a key id");
  }
  char date[40];
  std::snprintf(date, sizeof(date), "%04d%02d%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday);
  return "kek-" + std::string(date) + "-" +
         toHex(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
}

Result<std::string> KeyRing::generateFile(const std::string& path, SystemTime now) {
  GW_RETURN_IF_ERROR(createParentDirectories(path));
  GW_ASSIGN_OR_RETURN(std::string id, newKeyId(now));
  GW_ASSIGN_OR_RETURN(std::string line, newKeyLine("", id));
  WipeOnExit wipe(line);
  // Created owner-only from the start: a chmod after writing would leave a window.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return openError(path, errno, "cannot create");
  }
  FileDescriptor file(fd);
  std::string content;
  content.reserve(256 + line.size());
  content +=
      "# Gateway key-encryption keys: <key id> <64 hex chars> (AES-256), one per line.\n"
      "# The last key wraps new data keys; keep older keys for reading. Keep this file mode "
      "0600.\n";
  WipeOnExit wipe_content(content);
  content += line;
  Status written = writeAll(fd, content, path);
  if (written.isOk() && ::fsync(fd) != 0) {
    written = openError(path, errno, "cannot sync");
  }
  if (written.isOk() && file.release() != 0) {
    written = openError(path, errno, "cannot close");
  }
  if (!written.isOk()) {
    ::unlink(path.c_str());
    return written;
  }
  GW_RETURN_IF_ERROR(syncDirectoryOf(path));
  return id;
}

Result<std::string> KeyRing::appendNewKey(const std::string& path, SystemTime now) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    return openError(path, errno, "cannot open");
  }
  FileDescriptor file(fd);
  // Serialises concurrent rotations of the same file.
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      return openError(path, errno, "cannot lock");
    }
  }
  GW_ASSIGN_OR_RETURN(std::string text, readOpenKeyFile(fd, path));
  WipeOnExit wipe_text(text);
  GW_ASSIGN_OR_RETURN(const KeyRing ring, parse(text, path));

  std::string id;
  do {
    GW_ASSIGN_OR_RETURN(id, newKeyId(now));
  } while (ring.find(id) != nullptr);
  const bool needs_newline = !text.empty() && text.back() != '\n';
  GW_ASSIGN_OR_RETURN(std::string line, newKeyLine(needs_newline ? "\n" : "", id));
  WipeOnExit wipe_line(line);
  Status written = writeAll(fd, line, path);
  if (written.isOk() && ::fsync(fd) != 0) {
    written = openError(path, errno, "cannot sync");
  }
  if (written.isOk() && file.release() != 0) {
    written = openError(path, errno, "cannot close");
  }
  GW_RETURN_IF_ERROR(written);
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
