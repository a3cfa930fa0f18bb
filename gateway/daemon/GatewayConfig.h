// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

#include "adapters/inbound/fhir/FhirSettings.h"
#include "adapters/inbound/mllp/MllpSettings.h"
#include "adapters/outbound/email/EmailSettings.h"
#include "adapters/outbound/messaging_api/MessagingApiSettings.h"
#include "adapters/outbound/secure_inbox/InboxSettings.h"
#include "gateway/admin/AdminSettings.h"
#include "gateway/api/ConfigNode.h"
#include "gateway/audit/AtnaSink.h"
#include "gateway/daemon/PipelineConfig.h"
#include "gateway/http/HttpServer.h"
#include "gateway/store/sqlite/SqliteStore.h"

namespace gw {

struct LoggingSettings {
  // Lowest level written: fatal, critical, error, warning, notice, information, debug, trace.
  std::string level = "information";
  // Log file; empty writes to standard error.
  std::string file;
};

struct KeySettings {
  // Key file (one "<key id> <64 hex chars>" per line; the last is active). Must be mode 0600.
  std::string key_file = "var/keys/gateway.keys";
  // Create the file with a fresh random key when it does not exist (demo/first run).
  bool generate_if_missing = false;
};

// Tamper-evident audit trail: signed checkpoints over the audit records (gateway/audit).
struct AuditSettings {
  // Ed25519 private key (PEM PKCS#8) that signs checkpoints. Must be mode 0600.
  std::string signing_key_file = "var/keys/audit-signing.pem";
  // Create the key file with a fresh key when it does not exist.
  bool generate_if_missing = true;
  // Seconds between checkpoints (written only when the log grew), 1..86400; one more is
  // written at shutdown.
  int checkpoint_interval_seconds = 60;
  // Log origin: first line of every checkpoint and the signing key's name (no spaces, '+' or
  // control characters).
  std::string origin = "gateway.invalid/audit";
  // Live IHE ATNA sink (syslog over TLS to an audit record repository); off by default.
  AtnaSettings atna;
};

// Outbound channels (section "outbound"; adapters/outbound/*/README.md list the keys).
struct OutboundSettings {
  // Email channel and notifier; without the section, the pickup directory defaults apply.
  EmailSettings email;
  // True when "outbound.messaging_api" is present (it has required keys, so no default).
  bool messaging_api_enabled = false;
  MessagingApiSettings messaging_api;
  // Secure patient inbox ("outbound.secure_inbox"): on when the section is present, unless it
  // says "enabled": false.
  bool secure_inbox_enabled = false;
  InboxSettings secure_inbox;
};

// The web server ("web"): the secure inbox pages and the admin API are mounted on it.
struct WebSettings {
  WebSettings() { server.port = 8444; }
  http::HttpServerSettings server;
};

// The whole gateway.json. Relative paths are resolved against the directory of the config file.
struct GatewayConfig {
  std::string config_path;
  LoggingSettings logging;
  KeySettings keys;
  AuditSettings audit;
  std::string store_type = "sqlite";
  SqliteStoreSettings store;
  std::vector<MllpSettings> mllp;
  OutboundSettings outbound;
  PipelineSettings pipeline;
  WebSettings web;
  // FHIR R4 intake over HTTPS ("inbound.fhir"); off unless enabled.
  FhirSettings fhir;
  // Operator admin API ("admin"), on the web server; off unless enabled.
  admin::AdminSettings admin;
};

// Parses and validates the file, reporting every error at once ("file:line:col: error: ..."
// lines in `diagnostics`). Returns false when there was any error.
bool loadGatewayConfig(const std::string& path, GatewayConfig& config, std::string& diagnostics);

// Exit status for configuration errors (sysexits.h EX_CONFIG).
inline constexpr int kExitConfigError = 78;

}  // namespace gw
