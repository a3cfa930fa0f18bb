// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gw {

struct MessagesListOptions {
  std::string config_path;
  std::string format = "table";  // "table" or "tsv"
  std::optional<std::string> state;
  std::optional<std::string> control_id;
  std::size_t limit = 0;  // 0 = all
};

// `gateway messages list`: one line per stored inbound message: id, received time (UTC),
// MSH-9, MSH-10, sending facility, state. Metadata only, never PHI.
int listMessages(const MessagesListOptions& options);

struct MessagesShowOptions {
  std::string config_path;
  std::int64_t id = 0;
  bool payload = false;   // decrypt and print the message (PHI): needs a reason, audited
  std::string reason;
  std::string actor;      // operator name for the audit record
};

// `gateway messages show ID`: metadata, and with --payload the decrypted message.
int showMessage(const MessagesShowOptions& options);

}  // namespace gw
