// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"

namespace gw {

// SMTP submission with STARTTLS (config object "outbound.email.smtp").
struct SmtpSettings {
  // Server host name or IP. The server's certificate must name it. Required for transport "smtp".
  std::string host;
  // Submission port (RFC 6409). STARTTLS is always required; implicit TLS (465) is not offered.
  int port = 587;
  // PEM bundle of the CAs the server certificate must chain to; empty uses the system's CAs.
  std::string ca;
  // Lowest TLS version: "1.2" or "1.3". Older versions are never accepted.
  std::string min_tls_version = "1.2";
  // SMTP AUTH user; empty sends no AUTH. Needs password_file.
  std::string username;
  // Owner-only file (mode 0600) holding the SMTP AUTH password (trailing newline ignored).
  std::string password_file;
  // AUTH mechanism: "plain" or "login" (only ever after STARTTLS).
  std::string auth_method = "plain";
  // Name sent in EHLO.
  std::string helo_name = "gateway.invalid";
  // Idle connections kept open for reuse (1..64); more senders at once open more connections.
  int pool_size = 4;
  // Connect, command and data timeout in ms (the message's deadline shortens it).
  int timeout_ms = 30000;
};

// S/MIME for recipients whose certificate is known (config object "outbound.email.smime").
struct SmimeSettings {
  // Directory of recipient certificates, one PEM file per address, named "<address>.pem" in lower
  // case (e.g. "alex@example.invalid.pem"). Empty disables S/MIME.
  std::string certificate_directory;
  // PEM certificate the gateway signs with (then any intermediates). Required with a directory.
  std::string signing_certificate;
  // Unencrypted PEM private key of the signing certificate, mode 0600. Required with a directory.
  std::string signing_key;
  // Content encryption: "aes-256-cbc" (EnvelopedData, widest client support) or "aes-256-gcm"
  // (AuthEnvelopedData, RFC 5083/8551). Key transport is always RSA-OAEP (SHA-256).
  std::string cipher = "aes-256-cbc";
};

// The email channel and notifier (config object "outbound.email").
struct EmailSettings {
  // "pickup": write .eml files to pickup.directory (demo default); "smtp": send via smtp.
  std::string transport = "pickup";
  // Envelope sender and From address.
  std::string from = "no-reply@gateway.invalid";
  // Domain of Message-IDs; empty takes the domain of `from`.
  std::string message_id_domain;
  // Subject of every message that contains PHI (the real subject could disclose a diagnosis).
  std::string phi_subject = "You have a new secure message";
  // Directory for transport "pickup" (created 0700 when missing); files are written 0600.
  std::string pickup_directory = "var/mail/pickup";
  SmtpSettings smtp;
  SmimeSettings smime;
};

// Reads every key of the object `node` ("outbound.email", named `where` in messages) into
// `settings` (which holds the defaults): "transport", "from", "message_id_domain", "phi_subject",
// "pickup": {"directory"}, "smtp": {...}, "smime":
// {...}. Wrong types, out-of-range values, unknown keys and cross-field errors (smtp without
// host, username without password_file, a certificate directory without signing certificate or
// key, an address without '@') are added to `errors` with their positions.
void readEmailSettings(const ConfigNode& node, ConfigErrors& errors, const std::string& where,
                       EmailSettings& settings);

}  // namespace gw
