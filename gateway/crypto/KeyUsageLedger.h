// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/Result.h"

namespace gw {

// How many times each key-encryption key has been used, persisted across restarts, so that no
// key exceeds the NIST SP 800-38D section 8.3 limit of 2^32 encryptions with random 96-bit IVs.
//
// The ledger does not write per encryption: it reserves blocks of uses (`block`, 2^16 by
// default). The file records, per key id, the high-water mark of uses reserved so far; a process
// takes uses from its current block in memory and, when the block is spent, reserves the next one
// (re-reading the file under an flock, atomic replace + fsync, mode 0600) before the use is
// granted. After a restart (or in another process sharing the file) counting resumes at the
// reserved mark, so at most one block per process lifetime is wasted and a crash never lets a key
// count backwards.
//
// Ledger file format (text, written by the gateway; "<key file>.usage" beside the key file):
//   # comment lines start with '#'; blank lines are ignored
//   <key id> <uses reserved, decimal>
//
// Thread-safety: acquire() and usage() may be called concurrently. Never throws.
class KeyUsageLedger {
 public:
  static constexpr std::uint64_t kDefaultBlock = std::uint64_t{1} << 16;
  static constexpr std::uint64_t kDefaultLimit = std::uint64_t{1} << 32;
  static constexpr std::size_t kMaxFileBytes = 1 << 20;

  struct Options {
    // Uses reserved per file write (>= 1).
    std::uint64_t block = kDefaultBlock;
    // Uses allowed per key over its lifetime (>= 1); injectable so tests can reach it.
    std::uint64_t limit = kDefaultLimit;
  };

  // One key's counters, for reports.
  struct Usage {
    std::string key_id;
    std::uint64_t used = 0;      // uses granted so far (by this process, counting from the mark
                                 // it resumed at; for a ledger file read by readFile(): reserved)
    std::uint64_t reserved = 0;  // high-water mark recorded in the file
    std::uint64_t limit = 0;
  };

  // The ledger path for a key file: "<key_file>.usage".
  static std::string pathFor(const std::string& key_file);

  // Opens the ledger at `path`, reading it when it exists (a missing file is an empty ledger, and
  // is created at the first reservation). Errors: InvalidArgument (block or limit 0; not a regular
  // file), PermissionDenied (accessible by group or others), ParseError (malformed line,
  // duplicate key id; position() names the line), Unavailable (I/O).
  static Result<std::unique_ptr<KeyUsageLedger>> open(const std::string& path, Options options);
  static Result<std::unique_ptr<KeyUsageLedger>> open(const std::string& path);
  // A ledger that lives in memory only (per-process counting; tests and tools that never seal).
  static std::unique_ptr<KeyUsageLedger> inMemory(Options options);

  // Reads the reserved marks of a ledger file without opening it for use (for `gateway keys`
  // output); a missing file gives an empty list. Errors as open().
  static Result<std::vector<Usage>> readFile(const std::string& path,
                                             std::uint64_t limit = kDefaultLimit);

  ~KeyUsageLedger();
  KeyUsageLedger(const KeyUsageLedger&) = delete;
  KeyUsageLedger& operator=(const KeyUsageLedger&) = delete;

  // Grants one use of `key_id`. Errors: Unavailable "key <id> reached its encryption limit; run
  // `gateway keys rotate`" once `limit` uses were granted (over all processes and restarts), or
  // Unavailable/PermissionDenied when the next block could not be recorded (the use is refused:
  // nothing is granted that the file does not cover).
  Status acquire(const std::string& key_id);

  // Counters of every key this ledger knows, by key id.
  std::vector<Usage> usage() const;

  const std::string& path() const { return path_; }

 private:
  struct Counter {
    std::uint64_t next = 0;  // next use to grant
    std::uint64_t end = 0;   // end of the reserved block (exclusive)
  };

  KeyUsageLedger(std::string path, Options options, std::map<std::string, std::uint64_t> marks);
  Status reserve(const std::string& key_id, Counter& counter);

  const std::string path_;  // empty: in memory only
  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> marks_;  // reserved high-water marks, as last written/read
  std::map<std::string, Counter> counters_;
};

}  // namespace gw
