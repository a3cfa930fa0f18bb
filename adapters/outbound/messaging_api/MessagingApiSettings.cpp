// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/messaging_api/MessagingApiSettings.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

namespace gw {
namespace {

const SourcePosition& positionOf(const ConfigNode& object, std::string_view key) {
  const ConfigNode* member = object.find(key);
  return member != nullptr ? member->position() : object.position();
}

}  // namespace

void readMessagingApiSettings(const ConfigNode& node, ConfigErrors& errors,
                              const std::string& where, MessagingApiSettings& settings) {
  ConfigReader reader(node, errors, where);
  reader.readString("url", settings.url, /*required=*/true);
  reader.readString("ca", settings.ca);
  reader.readString("secret_file", settings.secret_file, /*required=*/true);
  reader.readEnum("min_tls_version", settings.min_tls_version, {"1.2", "1.3"});
  reader.readInt("timeout_ms", settings.timeout_ms, 100, 600000);
  reader.readInt("inbound_tolerance_seconds", settings.inbound_tolerance_seconds, 30, 3600);
  reader.finish();
  if (!node.isObject() || settings.url.empty()) {
    return;
  }
  try {
    const Poco::URI uri(settings.url);
    if (uri.getScheme() != "https" || uri.getHost().empty()) {
      errors.add(positionOf(node, "url"),
                 "\"" + where + ".url\" must be an https:// URL with a host");
    } else if (!uri.getUserInfo().empty()) {
      errors.add(positionOf(node, "url"),
                 "\"" + where + ".url\" must not carry credentials; use secret_file");
    }
  } catch (const Poco::Exception& e) {
    errors.add(positionOf(node, "url"), "\"" + where + ".url\" is not a URL: " + e.message());
  }
}

}  // namespace gw
