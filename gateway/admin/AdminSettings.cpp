// SPDX-License-Identifier: Apache-2.0
#include "gateway/admin/AdminSettings.h"

namespace gw::admin {

void readAdminSettings(const ConfigNode& node, ConfigErrors& errors, AdminSettings& s) {
  ConfigReader r(node, errors, "admin");
  r.readBool("enabled", s.enabled);
  r.readString("path_prefix", s.path_prefix);
  r.readInt("max_failed_logins", s.max_failed_logins, 1, 100);
  r.readInt("lockout_seconds", s.lockout_seconds, 1, 86400);
  r.readInt("session_idle_seconds", s.session_idle_seconds, 60, 86400);
  r.readInt("session_max_seconds", s.session_max_seconds, 60, 7 * 86400);
  r.readInt("login_attempts_per_minute", s.login_attempts_per_minute, 1, 10000);
  r.readBool("client_certificate_login", s.client_certificate_login);
  r.finish();
  if (s.path_prefix.empty() || s.path_prefix.front() != '/' ||
      s.path_prefix.find_first_of("?# ") != std::string::npos) {
    errors.add(node.position(),
               "admin.path_prefix \"" + s.path_prefix + "\" must be a path starting with '/'");
  }
  if (s.session_idle_seconds > s.session_max_seconds) {
    errors.add(node.position(),
               "admin.session_idle_seconds must not exceed admin.session_max_seconds");
  }
}

}  // namespace gw::admin
