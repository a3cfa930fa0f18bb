// SPDX-License-Identifier: Apache-2.0
#include "tests/support/TestSupport.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace gw::test {

TempDir::TempDir() {
  std::random_device rd;
  const auto base = std::filesystem::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto candidate = base / ("gw-test-" + std::to_string(rd()) + std::to_string(rd()));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path sourceDir() {
  if (const char* env = std::getenv("GW_SOURCE_DIR")) {
    return env;
  }
  // ctest sets GW_SOURCE_DIR when it runs a test, but not when gtest_discover_tests lists the
  // tests after the build: parameterised tests over the corpus are listed from this fallback.
  return GW_TEST_SOURCE_DIR;
}

std::optional<std::filesystem::path> corpusDir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("GW_CORPUS_DIR")) {
    dir = env;
  } else {
    dir = sourceDir() / ".." / "shared" / "corpus";
  }
  if (std::filesystem::exists(dir / "index.tsv")) {
    return std::filesystem::canonical(dir);
  }
  return std::nullopt;
}

std::string CorpusIndexRow::operator[](const std::string& column) const {
  const auto it = columns_.find(column);
  return it == columns_.end() ? std::string() : it->second;
}

std::vector<CorpusIndexRow> readCorpusIndex() {
  const std::optional<std::filesystem::path> dir = corpusDir();
  if (!dir) {
    return {};
  }
  auto split = [](const std::string& line) {
    std::vector<std::string> columns;
    std::size_t start = 0;
    for (;;) {
      const std::size_t tab = line.find('\t', start);
      columns.push_back(line.substr(start, tab - start));
      if (tab == std::string::npos) {
        return columns;
      }
      start = tab + 1;
    }
  };
  std::ifstream in(*dir / "index.tsv");
  std::vector<CorpusIndexRow> rows;
  std::vector<std::string> header;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    std::vector<std::string> columns = split(line);
    if (header.empty()) {
      header = std::move(columns);
      continue;
    }
    std::map<std::string, std::string> named;
    for (std::size_t i = 0; i < header.size() && i < columns.size(); ++i) {
      named.emplace(header[i], std::move(columns[i]));
    }
    rows.emplace_back(std::move(named));
  }
  return rows;
}

std::string corpusTestName(const std::string& path, std::size_t index) {
  if (path.empty()) {
    return "NoCorpus";
  }
  std::string name;
  for (const char c : path) {
    const bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    name += keep ? c : '_';
  }
  return name + "_" + std::to_string(index);
}

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path.string());
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void writeFile(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

bool waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace gw::test
