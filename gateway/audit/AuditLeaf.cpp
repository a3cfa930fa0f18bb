// SPDX-License-Identifier: Apache-2.0
#include "gateway/audit/AuditLeaf.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <array>

namespace gw {
namespace {

void appendBigEndian(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = 8 * (bytes - 1); shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
  }
}

void appendField(std::string& out, std::string_view bytes) {
  appendBigEndian(out, bytes.size(), 4);
  out.append(bytes);
}

void appendInteger(std::string& out, std::int64_t value) {
  appendBigEndian(out, 8, 4);
  appendBigEndian(out, static_cast<std::uint64_t>(value), 8);
}

}  // namespace

std::int64_t toUnixMillis(SystemTime time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

SystemTime fromUnixMillis(std::int64_t millis) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(millis)));
}

void appendAuditLeafEncoding(std::string& out, std::int64_t seq, const AuditEntry& entry) {
  out.push_back('\x01');
  appendInteger(out, seq);
  appendInteger(out, toUnixMillis(entry.time));
  appendField(out, entry.actor);
  appendField(out, entry.action);
  appendField(out, entry.object);
  appendField(out, entry.outcome);
  appendField(out, entry.source);
  appendField(out, entry.reason);
}

Status auditLeafHashInto(std::int64_t seq, const AuditEntry& entry, std::string& scratch,
                         std::string& hex) {
  scratch.clear();
  scratch.push_back('\x00');  // RFC 6962 leaf prefix (interior nodes use 0x01)
  appendAuditLeafEncoding(scratch, seq, entry);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(scratch.data(), scratch.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
      1) {
    ERR_clear_error();
    return Status::internal("SHA-256 of an audit record failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  hex.resize(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xF];
  }
  return Status::ok();
}

Result<std::string> auditLeafHash(std::int64_t seq, const AuditEntry& entry) {
  std::string scratch;
  std::string hex;
  GW_RETURN_IF_ERROR(auditLeafHashInto(seq, entry, scratch, hex));
  return hex;
}

}  // namespace gw
