// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpSettings.h"

namespace gw {
namespace {

constexpr std::int64_t kMinFrameBytes = 1024;
constexpr std::int64_t kMaxFrameBytes = 64 * 1024 * 1024;

// Position of a member for a cross-field error: the member when present, else its object.
const SourcePosition& positionOf(const ConfigNode& object, std::string_view key) {
  const ConfigNode* member = object.find(key);
  return member != nullptr ? member->position() : object.position();
}

void readTls(ConfigReader& parent, MllpTlsSettings& tls, const std::string& io_model) {
  const ConfigNode* node = parent.object("tls");
  if (node == nullptr) {
    return;
  }
  const std::string where = parent.where().empty() ? "tls" : parent.where() + ".tls";
  ConfigReader reader(*node, parent.errors(), where);
  reader.readBool("enabled", tls.enabled);
  reader.readString("certificate", tls.certificate);
  reader.readString("private_key", tls.private_key);
  reader.readString("ca", tls.ca);
  reader.readBool("require_client_certificate", tls.require_client_certificate);
  reader.readStringList("allowed_client_subjects", tls.allowed_client_subjects);
  reader.readEnum("min_version", tls.min_version, {"1.2", "1.3"});
  reader.finish();

  ConfigErrors& errors = parent.errors();
  if (tls.enabled && tls.certificate.empty()) {
    errors.add(positionOf(*node, "enabled"),
               "\"" + where + ".certificate\" is required when TLS is enabled");
  }
  if (tls.enabled && tls.private_key.empty()) {
    errors.add(positionOf(*node, "enabled"),
               "\"" + where + ".private_key\" is required when TLS is enabled");
  }
  if (tls.enabled && io_model == "reactor") {
    const std::string key = parent.where().empty() ? "io_model" : parent.where() + ".io_model";
    errors.add(positionOf(*node, "enabled"),
               "\"" + key + "\" is \"reactor\", which serves plain TCP only; with TLS use " +
                   "\"auto\" or \"threads\"");
  }
  if (tls.require_client_certificate && tls.ca.empty()) {
    errors.add(positionOf(*node, "require_client_certificate"),
               "\"" + where + ".require_client_certificate\" needs \"" + where +
                   ".ca\" to verify client certificates");
  }
  if (!tls.allowed_client_subjects.empty() && !tls.require_client_certificate) {
    errors.add(positionOf(*node, "allowed_client_subjects"),
               "\"" + where + ".allowed_client_subjects\" needs \"" + where +
                   ".require_client_certificate\": true");
  }
}

}  // namespace

void readMllpSettings(ConfigReader& reader, MllpSettings& settings) {
  reader.readString("name", settings.name, /*required=*/true);
  reader.readString("host", settings.host);
  reader.readInt("port", settings.port, 0, 65535);
  reader.readInt("max_frame_bytes", settings.max_frame_bytes, kMinFrameBytes, kMaxFrameBytes);
  reader.readInt("idle_timeout_seconds", settings.idle_timeout_seconds, 1, 24 * 3600);
  reader.readInt("partial_frame_timeout_seconds", settings.partial_frame_timeout_seconds, 1, 3600);
  reader.readInt("max_connections", settings.max_connections, 1, 4096);
  reader.readInt("commit_timeout_ms", settings.commit_timeout_ms, 1, 600000);
  reader.readStringList("allowed_sending_facilities", settings.allowed_sending_facilities);
  reader.readEnum("io_model", settings.io_model, {"auto", "reactor", "threads"});
  readTls(reader, settings.tls, settings.io_model);
  reader.finish();
}

}  // namespace gw
