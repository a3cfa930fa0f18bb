// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"
#include "gateway/crypto/PasswordHash.h"

namespace gw::admin {

// The operator admin API ("admin" in gateway.json), served on the gateway's "web" server.
struct AdminSettings {
  // Serve the API. Refused on a plain-HTTP web listener that is not loopback.
  bool enabled = false;
  // Where the API is mounted on the web server ("/admin/api/": "/admin/api/login", ...).
  std::string path_prefix = "/admin/api/";
  // Consecutive failed logins that lock an account, 1..100.
  int max_failed_logins = 5;
  // How long a locked account stays locked, seconds (1..86400).
  int lockout_seconds = 900;
  // A session ends after this many seconds without a request (60..86400).
  int session_idle_seconds = 900;
  // ... and this many seconds after login whatever happens (60..604800).
  int session_max_seconds = 8 * 3600;
  // Login attempts one client address may make per minute (1..10000); beyond it the API answers
  // 429 before any password is checked (slows password spraying across accounts).
  int login_attempts_per_minute = 30;
  // Accept a verified client certificate (web.tls with a "ca") instead of a bearer token: its
  // subject CN names the account (which must exist and be neither disabled nor locked).
  bool client_certificate_login = false;
  // Cost of new password hashes (not in the config: the defaults are the production ones; tests
  // lower them).
  PasswordHashParams password_kdf;
};

// Reads the "admin" object (keys above), recording positioned errors in `errors`; a path_prefix
// must start with '/'; session_idle_seconds may not exceed session_max_seconds.
void readAdminSettings(const ConfigNode& node, ConfigErrors& errors, AdminSettings& settings);

}  // namespace gw::admin
