// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace gw::test {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Directory of the shared test corpus (../shared/corpus beside the checkout), or nullopt when
// this clone has none (tests then GTEST_SKIP with a clear message).
std::optional<std::filesystem::path> corpusDir();

// Repository root (from GW_SOURCE_DIR set by ctest).
std::filesystem::path sourceDir();

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& content);

// Polls `predicate` until it holds or `timeout` passes; true if it held. For integration code
// waiting on another thread or process, never a fixed sleep.
bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

}  // namespace gw::test
