// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "gateway/api/ConfigNode.h"

namespace gw {

// The secure patient inbox (config object "outbound.secure_inbox").
struct InboxSettings {
  // Public URL of the inbox pages, ending in '/', e.g. "https://patients.example.org/inbox/".
  // Links in notifications are base_url + "l/" + token. Must be https (http only for a loopback
  // host, for tests). Required.
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
// daemon's defaults). InvalidArgument names the first bad field.
Status validateInboxSettings(const InboxSettings& settings);

}  // namespace gw
