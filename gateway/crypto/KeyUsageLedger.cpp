// SPDX-License-Identifier: Apache-2.0
#include "gateway/crypto/KeyUsageLedger.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <sstream>

#include "gateway/crypto/SecretFile.h"

namespace gw {
namespace {

constexpr const char* kWhat = "key usage ledger";

bool isBlank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

Result<std::map<std::string, std::uint64_t>> parseLedger(const std::string& text,
                                                         const std::string& path) {
  std::map<std::string, std::uint64_t> marks;
  std::istringstream in(text);
  std::string line;
  int line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const auto error = [&](const std::string& message) {
      return Status::parseError(path + ":" + std::to_string(line_number) + ": " + message)
          .withPosition(SourcePosition{path, line_number, 1});
    };
    std::size_t at = 0;
    while (at < line.size() && isBlank(line[at])) {
      ++at;
    }
    if (at == line.size() || line[at] == '#') {
      continue;
    }
    std::size_t id_end = at;
    while (id_end < line.size() && !isBlank(line[id_end])) {
      ++id_end;
    }
    const std::string id = line.substr(at, id_end - at);
    std::size_t number_at = id_end;
    while (number_at < line.size() && isBlank(line[number_at])) {
      ++number_at;
    }
    std::size_t number_end = number_at;
    while (number_end < line.size() && !isBlank(line[number_end])) {
      ++number_end;
    }
    std::size_t rest = number_end;
    while (rest < line.size() && isBlank(line[rest])) {
      ++rest;
    }
    std::uint64_t value = 0;
    const char* first = line.data() + number_at;
    const char* last = line.data() + number_end;
    const auto parsed = std::from_chars(first, last, value);
    if (number_at == number_end || parsed.ec != std::errc() || parsed.ptr != last ||
        rest != line.size()) {
      return error("expected \"<key id> <uses reserved>\"");
    }
    if (!marks.emplace(id, value).second) {
      return error("key id " + id + " appears twice");
    }
  }
  return marks;
}

Result<std::map<std::string, std::uint64_t>> readMarks(const std::string& path) {
  Result<std::string> text =
      readSecretFile(path, kWhat, KeyUsageLedger::kMaxFileBytes, SymlinkPolicy::Refuse);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::NotFound) {
      return std::map<std::string, std::uint64_t>{};
    }
    return text.status();
  }
  return parseLedger(*text, path);
}

std::string formatLedger(const std::map<std::string, std::uint64_t>& marks) {
  std::string out =
      "# gateway key usage ledger: <key id> <encryptions reserved>. Written by the gateway;\n"
      "# never lower a number (a key must not exceed 2^32 encryptions).\n";
  for (const auto& [id, mark] : marks) {
    out += id + " " + std::to_string(mark) + "\n";
  }
  return out;
}

// Holds an exclusive flock on "<ledger>.lock" so that processes sharing a ledger reserve
// disjoint blocks.
class LedgerLock {
 public:
  static Result<std::unique_ptr<LedgerLock>> acquire(const std::string& ledger_path) {
    const std::string path = ledger_path + ".lock";
    GW_RETURN_IF_ERROR(createParentDirectories(path, kWhat));
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return secretFileError(path, errno, "cannot open the lock of", kWhat);
    }
    auto lock = std::unique_ptr<LedgerLock>(new LedgerLock(fd));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return secretFileError(path, errno, "cannot lock", kWhat);
      }
    }
    return lock;
  }
  ~LedgerLock() { ::close(fd_); }  // closing releases the flock

 private:
  explicit LedgerLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace

std::string KeyUsageLedger::pathFor(const std::string& key_file) {
  return key_file + ".usage";
}

KeyUsageLedger::KeyUsageLedger(std::string path, Options options,
                               std::map<std::string, std::uint64_t> marks)
    : path_(std::move(path)), options_(options), marks_(std::move(marks)) {}

KeyUsageLedger::~KeyUsageLedger() = default;

Result<std::unique_ptr<KeyUsageLedger>> KeyUsageLedger::open(const std::string& path,
                                                             Options options) {
  if (options.block == 0 || options.limit == 0) {
    return Status::invalidArgument("key usage ledger block and limit must be at least 1");
  }
  if (path.empty()) {
    return Status::invalidArgument("key usage ledger path is empty");
  }
  GW_ASSIGN_OR_RETURN(auto marks, readMarks(path));
  return std::unique_ptr<KeyUsageLedger>(new KeyUsageLedger(path, options, std::move(marks)));
}

Result<std::unique_ptr<KeyUsageLedger>> KeyUsageLedger::open(const std::string& path) {
  return open(path, Options{});
}

std::unique_ptr<KeyUsageLedger> KeyUsageLedger::inMemory(Options options) {
  options.block = std::max<std::uint64_t>(options.block, 1);
  return std::unique_ptr<KeyUsageLedger>(new KeyUsageLedger("", options, {}));
}

Result<std::vector<KeyUsageLedger::Usage>> KeyUsageLedger::readFile(const std::string& path,
                                                                    std::uint64_t limit) {
  GW_ASSIGN_OR_RETURN(auto marks, readMarks(path));
  std::vector<Usage> out;
  for (const auto& [id, mark] : marks) {
    out.push_back(Usage{id, mark, mark, limit});
  }
  return out;
}

Status KeyUsageLedger::acquire(const std::string& key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = counters_.find(key_id);
  if (it == counters_.end()) {
    // Resume at the reserved mark: uses below it may have been granted before a restart.
    const auto mark = marks_.find(key_id);
    const std::uint64_t start = mark == marks_.end() ? 0 : mark->second;
    it = counters_.emplace(key_id, Counter{start, start}).first;
  }
  Counter& counter = it->second;
  if (counter.next >= counter.end) {
    GW_RETURN_IF_ERROR(reserve(key_id, counter));
  }
  ++counter.next;
  return Status::ok();
}

Status KeyUsageLedger::reserve(const std::string& key_id, Counter& counter) {
  const Status limit_reached = Status::unavailable(
      "key " + key_id + " reached its encryption limit; run `gateway keys rotate`");
  if (path_.empty()) {
    std::uint64_t& mark = marks_[key_id];
    mark = std::max(mark, counter.end);
    if (mark >= options_.limit) {
      return limit_reached;
    }
    counter.next = mark;
    counter.end = mark + std::min(options_.block, options_.limit - mark);
    mark = counter.end;
    return Status::ok();
  }
  const std::string context = "cannot reserve uses of key " + key_id;
  Result<std::unique_ptr<LedgerLock>> file_lock = LedgerLock::acquire(path_);
  if (!file_lock.ok()) {
    return file_lock.status().withContext(context);
  }
  // Another process sharing the file may have reserved since we last read it.
  Result<std::map<std::string, std::uint64_t>> on_file = readMarks(path_);
  if (!on_file.ok()) {
    return on_file.status().withContext(context);
  }
  std::map<std::string, std::uint64_t> marks = std::move(on_file).value();
  for (const auto& [id, mark] : marks_) {
    std::uint64_t& on_disk = marks[id];
    on_disk = std::max(on_disk, mark);
  }
  std::uint64_t& mark = marks[key_id];
  mark = std::max(mark, counter.end);
  if (mark >= options_.limit) {
    marks_ = std::move(marks);
    return limit_reached;
  }
  const std::uint64_t start = mark;
  mark = start + std::min(options_.block, options_.limit - start);
  const Status written = replaceSecretFile(path_, formatLedger(marks), kWhat);
  if (!written.isOk()) {
    return written.withContext(context);
  }
  counter.next = start;
  counter.end = mark;
  marks_ = std::move(marks);
  return Status::ok();
}

std::vector<KeyUsageLedger::Usage> KeyUsageLedger::usage() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Usage> out;
  for (const auto& [id, mark] : marks_) {
    const auto counter = counters_.find(id);
    const std::uint64_t used = counter == counters_.end() ? mark : counter->second.next;
    out.push_back(Usage{id, used, mark, options_.limit});
  }
  return out;
}

}  // namespace gw
