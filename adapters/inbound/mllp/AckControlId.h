// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gw::mllp {

// MSH-10 of an ACK is an ST of at most 20 characters (HL7 v2.5.1 ch. 2, MSH-10 length).
inline constexpr std::size_t kMaxControlIdLength = 20;

// A fresh ACK control id: "<prefix><time><sequence>", upper-case letters and digits only:
//   prefix    the first (up to) 4 letters or digits of the listener name, upper-cased ("ADT");
//   time      milliseconds since the Unix epoch, base 36, 9 digits (good until the year 5188);
//   sequence  `sequence` modulo 36^7, base 36, 7 digits.
// At most 20 characters. Two ids of one process collide only if 36^7 (78 billion) ACKs are
// built within one millisecond; ids from restarts differ by their time.
std::string makeAckControlId(std::string_view listener_name, std::uint64_t epoch_ms,
                             std::uint64_t sequence);

// makeAckControlId() with the wall clock and a process-wide counter. Thread-safe.
std::string nextAckControlId(std::string_view listener_name);

}  // namespace gw::mllp
