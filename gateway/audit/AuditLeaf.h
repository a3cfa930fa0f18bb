// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "gateway/api/Result.h"
#include "gateway/api/AuditStore.h"

namespace gw {

// Milliseconds since the Unix epoch (UTC), truncated toward zero: how the store keeps times.
std::int64_t toUnixMillis(SystemTime time);
SystemTime fromUnixMillis(std::int64_t millis);

// Canonical encoding (version 1) of one audit record, the input of its leaf hash:
//   0x01                                   encoding version
//   then eight fields in this order, each as a 4-byte big-endian byte length followed by the
//   bytes: seq, time, actor, action, object, outcome, source, reason.
//   seq and time are 8-byte big-endian two's-complement integers (time in milliseconds since
//   the Unix epoch, UTC, as stored); the strings are their stored UTF-8 bytes.
// Appends the encoding to `out` (which a caller may reuse to avoid allocations).
void appendAuditLeafEncoding(std::string& out, std::int64_t seq, const AuditEntry& entry);

// RFC 6962 section 2.1 leaf hash of the record: lower-case hex SHA-256(0x00 || encoding).
// Internal when OpenSSL fails.
Result<std::string> auditLeafHash(std::int64_t seq, const AuditEntry& entry);
// The same, reusing `scratch` and writing the hex into `hex` (no allocation once both have
// grown), for callers hashing many records.
Status auditLeafHashInto(std::int64_t seq, const AuditEntry& entry, std::string& scratch,
                         std::string& hex);

}  // namespace gw
