// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/api/ConfigNode.h"

namespace gw {

// TLS of one MLLP listener (config object "tls").
struct MllpTlsSettings {
  // Serve MLLP over TLS instead of plain TCP.
  bool enabled = false;
  // PEM file: the server certificate, then any intermediate CA certificates. Required if enabled.
  std::string certificate;
  // PEM file with the unencrypted server private key (protect it with file permissions; no
  // passphrase ever goes into config). Required if enabled.
  std::string private_key;
  // PEM bundle of the CAs that client certificates must chain to. Required for mutual TLS.
  std::string ca;
  // Mutual TLS: the handshake fails unless the client presents a certificate signed by `ca`.
  bool require_client_certificate = false;
  // Allowed client certificates: each entry is a subject common name ("ehr-prod") or a whole
  // subject, RFC 2253 ("CN=ehr-prod,O=Hospital") or OpenSSL one-line ("/O=Hospital/CN=ehr-prod").
  // Empty allows any certificate signed by `ca`. Needs require_client_certificate.
  std::vector<std::string> allowed_client_subjects;
  // Lowest protocol version accepted: "1.2" or "1.3". Older versions are never accepted.
  std::string min_version = "1.2";
};

// One HL7 v2 MLLP listener (one element of the config array "inbound.mllp").
struct MllpSettings {
  // Listener name: part of the dedupe key, audit records, log lines and ACK control ids. Required.
  std::string name;
  // Address (IP or host name) to bind. Anything but loopback should use TLS (warned at start).
  std::string host = "127.0.0.1";
  // TCP port; 0 binds any free port (read it back with boundAddress()). IANA's HL7 port is 2575.
  int port = 2575;
  // Largest frame payload in bytes (1 KiB..64 MiB). A larger frame is answered AR when its
  // control id can be read, and the connection is closed.
  std::int64_t max_frame_bytes = 1024 * 1024;
  // Close a connection that starts no frame for this many seconds (quietly; senders reconnect).
  int idle_timeout_seconds = 300;
  // Close a connection whose started frame (or TLS handshake) is not finished within this many
  // seconds, so slow senders cannot hold connections.
  int partial_frame_timeout_seconds = 30;
  // Connections served at once; more are accepted and closed at once (counted as refused).
  int max_connections = 64;
  // Deadline in ms given to InboundSink::accept for one message; a later commit is answered AR.
  int commit_timeout_ms = 5000;
  // Sending facilities (MSH-4.1, compared exactly) allowed to send; empty allows any. Messages
  // from others are answered AR "sending facility not allowed" and never reach the sink.
  std::vector<std::string> allowed_sending_facilities;
  // How connections are served: "reactor" (one epoll I/O thread for all connections, frames of
  // every connection committed in one batch; plain TCP only), "threads" (a thread per
  // connection, one commit per frame) or "auto" (reactor for plain TCP, threads with TLS).
  std::string io_model = "auto";
  // TLS; off by default.
  MllpTlsSettings tls;
};

// Reads every key of one "inbound.mllp[]" object (ranges and defaults as documented on the
// fields, and in adapters/inbound/mllp/README.md) into `settings`, which holds the defaults.
// Wrong types, out-of-range values, unknown keys (reader.finish() is called here, and for
// "tls") and cross-field errors (TLS enabled without certificate or private key, mutual TLS
// without ca, subject allow-list without mutual TLS) are added to reader.errors() with their
// positions. A non-loopback host without TLS is allowed; start() logs a warning.
void readMllpSettings(ConfigReader& reader, MllpSettings& settings);

}  // namespace gw
