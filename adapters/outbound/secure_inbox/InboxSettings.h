// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"
#include "gateway/api/Result.h"

namespace gw {

// The secure patient inbox (config object "outbound.secure_inbox").
struct InboxSettings {
  // Public URL of the inbox pages, ending in '/', e.g. "https://patients.example.org/inbox/".
  // Links in notifications are base_url + "l/" + token. Must be https (http only for a loopback
  // host, for tests). Empty: the daemon derives it from the web server's bound address and
  // path_prefix once it listens (derivedInboxBaseUrl); only for a specific loopback or TLS host.
  std::string base_url;
  // Path the pages are mounted under on the HTTPS server; starts and ends with '/'.
  std::string path_prefix = "/inbox/";
  // Days a link stays valid (1..365); the content is shredded when it (or the message) expires.
  int link_validity_days = 30;
  // Seconds a one-time code stays valid (60..3600).
  int code_validity_seconds = 600;
  // Wrong birth dates plus wrong codes before the link locks (1..10).
  int max_attempts = 5;
  // Session idle timeout in seconds (60..3600) and absolute lifetime (300..86400).
  int session_idle_timeout_seconds = 600;
  int session_max_age_seconds = 3600;
  // One-time codes sent per link per hour (1..20).
  int codes_per_hour = 5;
  // Requests per client IP per minute (1..1000000; patients behind one NAT share an address) and
  // per link per minute (1..100000).
  int requests_per_ip_per_minute = 60;
  int requests_per_link_per_minute = 30;
  // Mark the session cookie Secure. Only a loopback plain-HTTP test server may turn this off.
  bool secure_cookies = true;
  // Language of pages when the message's language has no translation: "en" or "es".
  std::string default_language = "en";
  // Milliseconds given to the Notifier for one notification (100..120000).
  int notify_timeout_ms = 10000;
};

// Reads every key of the object `node` ("outbound.secure_inbox") into `settings` (which holds the
// defaults); wrong types, out-of-range values, unknown keys and a base_url that is not https (or
// http on loopback) or does not end in '/' are added to `errors` with their positions.
void readInboxSettings(const ConfigNode& node, ConfigErrors& errors, InboxSettings& settings);

// The same checks on a filled struct, for code that builds settings directly (tests, the
// daemon's defaults). InvalidArgument names the first bad field. An empty base_url is accepted
// only with `allow_derived_base_url` (the daemon sets it once the web server listens).
Status validateInboxSettings(const InboxSettings& settings, bool allow_derived_base_url = false);

// InvalidArgument unless `url` is a usable base URL: https://host.../ ending in '/', or plain
// http on a loopback host.
Status validateInboxBaseUrl(const std::string& url);

// The base URL of pages served at `path_prefix` by a server bound to `bound_address`
// ("host:port", "[v6]:port"): "https://" with TLS, else "http://". InvalidArgument for a
// wildcard address (0.0.0.0, [::]), which names no host a patient could reach: configure
// base_url then.
Result<std::string> derivedInboxBaseUrl(const std::string& bound_address, bool tls,
                                        const std::string& path_prefix);

}  // namespace gw
