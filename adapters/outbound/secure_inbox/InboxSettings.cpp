// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/secure_inbox/InboxSettings.h"

#include <string_view>

namespace gw {
namespace {

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Empty when the URL is acceptable, else why not.
std::string baseUrlProblem(const std::string& url) {
  if (url.empty()) {
    return "base_url is required";
  }
  if (url.back() != '/') {
    return "base_url must end with '/'";
  }
  if (startsWith(url, "https://")) {
    return url.size() > 9 ? "" : "base_url has no host";
  }
  if (startsWith(url, "http://127.0.0.1:") || startsWith(url, "http://127.0.0.1/") ||
      startsWith(url, "http://localhost:") || startsWith(url, "http://localhost/") ||
      startsWith(url, "http://[::1]")) {
    return "";
  }
  return "base_url must be https:// (plain http only for a loopback test server)";
}

std::string prefixProblem(const std::string& prefix) {
  if (prefix.size() < 2 || prefix.front() != '/' || prefix.back() != '/') {
    return "path_prefix must start and end with '/' and not be just '/'";
  }
  return "";
}

}  // namespace

void readInboxSettings(const ConfigNode& node, ConfigErrors& errors, InboxSettings& settings) {
  ConfigReader reader(node, errors, "outbound.secure_inbox");
  reader.readString("base_url", settings.base_url);
  reader.readString("path_prefix", settings.path_prefix);
  reader.readInt("link_validity_days", settings.link_validity_days, 1, 365);
  reader.readInt("code_validity_seconds", settings.code_validity_seconds, 60, 3600);
  reader.readInt("max_attempts", settings.max_attempts, 1, 10);
  reader.readInt("session_idle_timeout_seconds", settings.session_idle_timeout_seconds, 60, 3600);
  reader.readInt("session_max_age_seconds", settings.session_max_age_seconds, 300, 86400);
  reader.readInt("codes_per_hour", settings.codes_per_hour, 1, 20);
  reader.readInt("requests_per_ip_per_minute", settings.requests_per_ip_per_minute, 1, 1000000);
  reader.readInt("requests_per_link_per_minute", settings.requests_per_link_per_minute, 1, 100000);
  reader.readBool("secure_cookies", settings.secure_cookies);
  reader.readEnum("default_language", settings.default_language, {"en", "es"});
  reader.readInt("notify_timeout_ms", settings.notify_timeout_ms, 100, 120000);
  reader.finish();
  if (const ConfigNode* url = node.find("base_url"); url != nullptr && !settings.base_url.empty()) {
    if (std::string problem = baseUrlProblem(settings.base_url); !problem.empty()) {
      errors.add(url->position(), "outbound.secure_inbox." + problem);
    }
  }
  if (const ConfigNode* prefix = node.find("path_prefix"); prefix != nullptr) {
    if (std::string problem = prefixProblem(settings.path_prefix); !problem.empty()) {
      errors.add(prefix->position(), "outbound.secure_inbox." + problem);
    }
  }
}

Status validateInboxBaseUrl(const std::string& url) {
  if (std::string problem = baseUrlProblem(url); !problem.empty()) {
    return Status::invalidArgument(problem);
  }
  return Status::ok();
}

Result<std::string> derivedInboxBaseUrl(const std::string& bound_address, bool tls,
                                        const std::string& path_prefix) {
  const std::size_t colon = bound_address.rfind(':');
  if (bound_address.empty() || colon == std::string::npos || colon == 0) {
    return Status::invalidArgument("web server address \"" + bound_address + "\" has no host:port");
  }
  const std::string host = bound_address.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::") {
    return Status::invalidArgument(
        "outbound.secure_inbox.base_url is empty but the web server listens on every address "
        "(" +
        host + "): set base_url to the address patients use");
  }
  if (std::string problem = prefixProblem(path_prefix); !problem.empty()) {
    return Status::invalidArgument(problem);
  }
  std::string url = std::string(tls ? "https://" : "http://") + bound_address + path_prefix;
  GW_RETURN_IF_ERROR(validateInboxBaseUrl(url));
  return url;
}

Status validateInboxSettings(const InboxSettings& s, bool allow_derived_base_url) {
  if (!(allow_derived_base_url && s.base_url.empty())) {
    GW_RETURN_IF_ERROR(validateInboxBaseUrl(s.base_url));
  }
  if (std::string problem = prefixProblem(s.path_prefix); !problem.empty()) {
    return Status::invalidArgument(problem);
  }
  const auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  if (!in(s.link_validity_days, 1, 365) || !in(s.code_validity_seconds, 60, 3600) ||
      !in(s.max_attempts, 1, 10) || !in(s.session_idle_timeout_seconds, 60, 3600) ||
      !in(s.session_max_age_seconds, 300, 86400) || !in(s.codes_per_hour, 1, 20) ||
      !in(s.requests_per_ip_per_minute, 1, 1000000) ||
      !in(s.requests_per_link_per_minute, 1, 100000) || !in(s.notify_timeout_ms, 100, 120000)) {
    return Status::invalidArgument("secure_inbox: a numeric setting is out of range");
  }
  if (s.default_language != "en" && s.default_language != "es") {
    return Status::invalidArgument("default_language must be \"en\" or \"es\"");
  }
  return Status::ok();
}

}  // namespace gw
