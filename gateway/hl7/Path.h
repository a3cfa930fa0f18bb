// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string_view>

// Private to gw_hl7: the parsed form of a path string such as "PID-13[.2=NET].4".
namespace gw::hl7::detail {

enum class RepetitionMode {
  Default,  // no selector: the first repetition, one value per segment even when empty
  Index,    // (R)
  All,      // (*)
  Filter,   // [.C=V] or [.C.S=V]
};

struct PathSpec {
  std::string_view segment;         // "PID"
  std::uint32_t segment_index = 1;  // 1-based; 0 means '*' (every segment of that name)
  std::uint32_t field = 0;          // >= 1
  RepetitionMode repetition_mode = RepetitionMode::Default;
  std::uint32_t repetition = 1;           // for Index
  std::uint32_t component = 0;            // 0 = whole repetition
  std::uint32_t subcomponent = 0;         // 0 = whole component
  std::uint32_t filter_component = 0;     // for Filter, >= 1
  std::uint32_t filter_subcomponent = 0;  // for Filter, 0 = whole component
  std::string_view filter_value;          // for Filter; compared with the decoded value
};

// Parses `path` without allocating; views in `out` refer to `path`. Returns false for a
// malformed path (empty name, index or field 0, numbers above kMaxPathNumber, trailing text...).
bool parsePath(std::string_view path, PathSpec& out);

inline constexpr std::uint32_t kMaxPathNumber = 1000000;

}  // namespace gw::hl7::detail
