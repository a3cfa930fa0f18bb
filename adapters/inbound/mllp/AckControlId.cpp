// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/AckControlId.h"

#include <atomic>
#include <cctype>
#include <chrono>

namespace gw::mllp {
namespace {

constexpr std::size_t kPrefixLength = 4;
constexpr std::size_t kTimeDigits = 9;
constexpr std::size_t kSequenceDigits = 7;

void appendBase36(std::string& out, std::uint64_t value, std::size_t digits) {
  static constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string text(digits, '0');
  for (std::size_t i = digits; i > 0 && value > 0; --i) {
    text[i - 1] = kDigits[value % 36];
    value /= 36;
  }
  out += text;
}

std::uint64_t power36(std::size_t exponent) {
  std::uint64_t result = 1;
  for (std::size_t i = 0; i < exponent; ++i) {
    result *= 36;
  }
  return result;
}

}  // namespace

std::string makeAckControlId(std::string_view listener_name, std::uint64_t epoch_ms,
                             std::uint64_t sequence) {
  std::string id;
  id.reserve(kMaxControlIdLength);
  for (const char c : listener_name) {
    if (id.size() == kPrefixLength) {
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 && u < 0x80) {
      id += static_cast<char>(std::toupper(u));
    }
  }
  appendBase36(id, epoch_ms % power36(kTimeDigits), kTimeDigits);
  appendBase36(id, sequence % power36(kSequenceDigits), kSequenceDigits);
  return id;
}

std::string nextAckControlId(std::string_view listener_name) {
  static std::atomic<std::uint64_t> sequence{0};
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto epoch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now).count();
  return makeAckControlId(listener_name, static_cast<std::uint64_t>(epoch_ms),
                          sequence.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace gw::mllp
