// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

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

// One row of <corpus>/index.tsv, by column name ("path", "kind", "msh9", ...); a missing
// column reads as "".
class CorpusIndexRow {
 public:
  explicit CorpusIndexRow(std::map<std::string, std::string> columns) : columns_(std::move(columns)) {}
  std::string operator[](const std::string& column) const;

 private:
  std::map<std::string, std::string> columns_;
};

// Every row of <corpus>/index.tsv (CR before LF tolerated); empty when there is no corpus.
std::vector<CorpusIndexRow> readCorpusIndex();

// A gtest parameter name for a corpus file: its path with non-alphanumerics as '_', plus the
// index; "NoCorpus" for the placeholder case of a clone without the corpus.
std::string corpusTestName(const std::string& path, std::size_t index);

// Repository root (from GW_SOURCE_DIR set by ctest).
std::filesystem::path sourceDir();

std::string readFile(const std::filesystem::path& path);
void writeFile(const std::filesystem::path& path, const std::string& content);

// Polls `predicate` until it holds or `timeout` passes; true if it held. For integration code
// waiting on another thread or process, never a fixed sleep.
bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout);

}  // namespace gw::test
