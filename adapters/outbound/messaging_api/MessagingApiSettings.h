// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"

namespace gw {

// The messaging API channel (config object "outbound.messaging_api").
struct MessagingApiSettings {
  // Endpoint the JSON message is POSTed to: "https://host[:port]/path". Required; only https.
  std::string url;
  // PEM bundle of the CAs the server certificate must chain to; empty uses the system's CAs. The
  // certificate must also name the URL's host (DNS name or IP address).
  std::string ca;
  // Owner-only file (mode 0600) holding the shared HMAC secret (trailing newline ignored, at
  // least 16 bytes). The body is signed as "X-Signature: sha256=<hex HMAC-SHA256(secret, body)>".
  std::string secret_file;
  // Lowest TLS version: "1.2" or "1.3".
  std::string min_tls_version = "1.2";
  // Connect, send and answer timeout in ms (the message's deadline shortens it).
  int timeout_ms = 10000;
  // Replies coming back (POST /hooks/messaging/inbound on the "web" server), signed with the
  // same secret: accept a signature whose X-Timestamp is at most this many seconds from now
  // (either way). Older ones are refused as replays.
  int inbound_tolerance_seconds = 300;
};

// Reads every key of the object `node` (named `where` in messages) into `settings`, which holds
// the defaults. Wrong types, unknown keys, a missing url or secret_file and a url that is not an
// https URL with a host are added to `errors` with their positions.
void readMessagingApiSettings(const ConfigNode& node, ConfigErrors& errors,
                              const std::string& where, MessagingApiSettings& settings);

}  // namespace gw
