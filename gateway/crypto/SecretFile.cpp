// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/SecretFile.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

namespace gw {
namespace {

// "64 KiB", "1 MiB" or "100 bytes", for the size-limit message.
std::string sizeText(std::size_t bytes) {
  if (bytes != 0 && bytes % (std::size_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  if (bytes != 0 && bytes % 1024 == 0) {
    return std::to_string(bytes / 1024) + " KiB";
  }
  return std::to_string(bytes) + " bytes";
}

Status syncDirectoryOf(const std::string& path, std::string_view what) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) {
    dir = ".";
  }
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return secretFileError(path, errno, "cannot open the directory of", what);
  }
  FileDescriptor closer(fd);
  if (::fsync(fd) != 0) {
    return secretFileError(path, errno, "cannot sync the directory of", what);
  }
  return Status::ok();
}

}  // namespace

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

int FileDescriptor::release() {
  const int rc = ::close(fd_);
  fd_ = -1;
  return rc;
}

Status secretFileError(const std::string& path, int err, std::string_view action,
                       std::string_view what) {
  const std::string message =
      std::string(action) + " " + std::string(what) + " " + path + ": " + std::strerror(err);
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

Result<std::string> readSecretFile(const std::string& path, std::string_view what,
                                   std::size_t max_bytes, SymlinkPolicy links) {
  const int flags = O_RDONLY | O_CLOEXEC | (links == SymlinkPolicy::Refuse ? O_NOFOLLOW : 0);
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    return secretFileError(path, errno, "cannot open", what);
  }
  FileDescriptor closer(fd);
  return readOpenSecretFile(fd, path, what, max_bytes);
}

Result<std::string> readOpenSecretFile(int fd, const std::string& path, std::string_view what,
                                       std::size_t max_bytes) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return secretFileError(path, errno, "cannot stat", what);
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::invalidArgument(std::string(what) + " " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const char* who = (st.st_mode & 070) != 0 && (st.st_mode & 07) != 0 ? "group and others"
                      : (st.st_mode & 070) != 0                         ? "group"
                                                                        : "others";
    return Status::permissionDenied(std::string(what) + " " + path + " is accessible by " + who +
                                    " (mode " + mode + "); chmod 600 it");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return Status::invalidArgument(std::string(what) + " " + path + " is larger than " +
                                   sizeText(max_bytes));
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      OPENSSL_cleanse(text.data(), text.size());
      return secretFileError(path, err, "cannot read", what);
    }
    if (n == 0) {
      break;  // shrank while reading: the caller parses what is there
    }
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);  // shrinks in place, and the move below copies nothing: no stray copy
  return Result<std::string>(std::move(text));
}

Status writeSyncAndClose(FileDescriptor& file, std::string_view data, const std::string& path,
                         std::string_view what) {
  while (!data.empty()) {
    const ssize_t n = ::write(file.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return secretFileError(path, errno, "cannot write", what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fsync(file.get()) != 0) {
    return secretFileError(path, errno, "cannot sync", what);
  }
  if (file.release() != 0) {
    return secretFileError(path, errno, "cannot close", what);
  }
  return Status::ok();
}

Status createSecretFile(const std::string& path, std::string_view content, std::string_view what) {
  GW_RETURN_IF_ERROR(createParentDirectories(path, what));
  // Created owner-only from the start: a chmod after writing would leave a window.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return secretFileError(path, errno, "cannot create", what);
  }
  FileDescriptor file(fd);
  const Status written = writeSyncAndClose(file, content, path, what);
  if (!written.isOk()) {
    ::unlink(path.c_str());
    return written;
  }
  return syncDirectoryOf(path, what);
}

Status createParentDirectories(const std::string& path, std::string_view what) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::filesystem::path partial;
  for (const auto& part : parent) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return secretFileError(path, errno,
                             "cannot create the directory " + partial.string() + " for", what);
    }
  }
  return Status::ok();
}

Status replaceSecretFile(const std::string& path, std::string_view content, std::string_view what) {
  GW_RETURN_IF_ERROR(createParentDirectories(path, what));
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());  // left over from a crash between create and rename
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return secretFileError(temp, errno, "cannot create", what);
  }
  FileDescriptor file(fd);
  Status written = writeSyncAndClose(file, content, temp, what);
  if (written.isOk() && ::rename(temp.c_str(), path.c_str()) != 0) {
    written = secretFileError(path, errno, "cannot replace", what);
  }
  if (!written.isOk()) {
    ::unlink(temp.c_str());
    return written;
  }
  return syncDirectoryOf(path, what);
}

}  // namespace gw
