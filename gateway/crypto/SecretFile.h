// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "gateway/api/Result.h"
#include "gateway/api/Status.h"

// Files that hold secrets (key files): read only when owner-only, created owner-only from the
// start and synced to disk. `what` names the kind of file in every message ("key file",
// "audit signing key"); messages carry the path, never the contents.
namespace gw {

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor();
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports a failed close (a lost write on some file systems): 0 or -1 (errno).
  int release();

 private:
  int fd_;
};

// "<action> <what> <path>: <strerror(err)>" with the code the errno implies: NotFound (ENOENT,
// ENOTDIR), PermissionDenied (EACCES, EPERM, EROFS), AlreadyExists (EEXIST), else Unavailable.
Status secretFileError(const std::string& path, int err, std::string_view action,
                       std::string_view what);

// Whether readSecretFile() opens a path that is a symbolic link.
enum class SymlinkPolicy { Follow, Refuse };

// Opens `path` and reads it whole with readOpenSecretFile().
Result<std::string> readSecretFile(const std::string& path, std::string_view what,
                                   std::size_t max_bytes, SymlinkPolicy links);

// Checks an open secret file and reads it whole (from offset 0). Errors: InvalidArgument (not a
// regular file, larger than `max_bytes`), PermissionDenied (accessible by group or others:
// mode & 077), and secretFileError() codes. The caller wipes the returned text when done.
Result<std::string> readOpenSecretFile(int fd, const std::string& path, std::string_view what,
                                       std::size_t max_bytes);

// Writes all of `data` to `file` (retrying short writes and EINTR), fsyncs it and closes it,
// reporting a failed close. The caller decides what to do with a partly written file.
Status writeSyncAndClose(FileDescriptor& file, std::string_view data, const std::string& path,
                         std::string_view what);

// Creates `path` holding `content`: missing parent directories get mode 0700, the file is
// created exclusively (O_EXCL) with mode 0600, so an existing file is never overwritten, then
// the file and its directory are fsynced. A partly written file is removed. Errors:
// AlreadyExists, PermissionDenied, NotFound, Unavailable (I/O).
Status createSecretFile(const std::string& path, std::string_view content, std::string_view what);

// Creates each missing ancestor directory of `path` with mode 0700; existing ones are left as
// they are.
Status createParentDirectories(const std::string& path, std::string_view what);

// Replaces `path` atomically with `content` (small state files: key-usage ledger, audit sink
// cursor): missing parent directories get mode 0700, the content goes to "<path>.tmp" (created
// with mode 0600, a stale one from a crash is replaced), which is fsynced and renamed over
// `path`, then the directory is fsynced. Readers see the old or the new content, never a mix.
// Errors: PermissionDenied, NotFound, Unavailable (I/O).
Status replaceSecretFile(const std::string& path, std::string_view content, std::string_view what);

}  // namespace gw
