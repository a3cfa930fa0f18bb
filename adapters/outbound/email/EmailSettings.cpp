// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/email/EmailSettings.h"

#include "adapters/outbound/email/Mime.h"

namespace gw {
namespace {

const SourcePosition& positionOf(const ConfigNode& object, std::string_view key) {
  const ConfigNode* member = object.find(key);
  return member != nullptr ? member->position() : object.position();
}

std::string child(const ConfigReader& parent, const char* key) {
  return parent.where().empty() ? key : parent.where() + "." + key;
}

void readPickup(ConfigReader& parent, EmailSettings& settings) {
  const ConfigNode* node = parent.object("pickup");
  if (node == nullptr) {
    return;
  }
  ConfigReader reader(*node, parent.errors(), child(parent, "pickup"));
  reader.readString("directory", settings.pickup_directory);
  reader.finish();
  if (settings.pickup_directory.empty()) {
    parent.errors().add(positionOf(*node, "directory"),
                        "\"" + reader.where() + ".directory\" must not be empty");
  }
}

// Returns the node read, for cross-field positions (nullptr when absent).
const ConfigNode* readSmtp(ConfigReader& parent, SmtpSettings& smtp) {
  const ConfigNode* node = parent.object("smtp");
  if (node == nullptr) {
    return nullptr;
  }
  ConfigReader reader(*node, parent.errors(), child(parent, "smtp"));
  reader.readString("host", smtp.host);
  reader.readInt("port", smtp.port, 1, 65535);
  reader.readString("ca", smtp.ca);
  reader.readEnum("min_tls_version", smtp.min_tls_version, {"1.2", "1.3"});
  reader.readString("username", smtp.username);
  reader.readString("password_file", smtp.password_file);
  reader.readEnum("auth_method", smtp.auth_method, {"plain", "login"});
  reader.readString("helo_name", smtp.helo_name);
  reader.readInt("pool_size", smtp.pool_size, 1, 64);
  reader.readInt("timeout_ms", smtp.timeout_ms, 100, 600000);
  reader.finish();
  if (!smtp.username.empty() && smtp.password_file.empty()) {
    parent.errors().add(
        positionOf(*node, "username"),
        "\"" + reader.where() + ".username\" needs \"" + reader.where() + ".password_file\"");
  }
  if (smtp.helo_name.empty() || smtp.helo_name.find_first_of(" \r\n\t") != std::string::npos) {
    parent.errors().add(positionOf(*node, "helo_name"),
                        "\"" + reader.where() + ".helo_name\" must be a host name");
  }
  return node;
}

void readSmime(ConfigReader& parent, SmimeSettings& smime) {
  const ConfigNode* node = parent.object("smime");
  if (node == nullptr) {
    return;
  }
  ConfigReader reader(*node, parent.errors(), child(parent, "smime"));
  reader.readString("certificate_directory", smime.certificate_directory);
  reader.readString("signing_certificate", smime.signing_certificate);
  reader.readString("signing_key", smime.signing_key);
  reader.readEnum("cipher", smime.cipher, {"aes-256-cbc", "aes-256-gcm"});
  reader.finish();
  if (!smime.certificate_directory.empty()) {
    if (smime.signing_certificate.empty()) {
      parent.errors().add(positionOf(*node, "certificate_directory"),
                          "\"" + reader.where() + ".signing_certificate\" is required with \"" +
                              reader.where() + ".certificate_directory\"");
    }
    if (smime.signing_key.empty()) {
      parent.errors().add(positionOf(*node, "certificate_directory"),
                          "\"" + reader.where() + ".signing_key\" is required with \"" +
                              reader.where() + ".certificate_directory\"");
    }
  }
}

bool plausibleAddress(const std::string& address) {
  return email::isValidAddress(address);
}

}  // namespace

void readEmailSettings(const ConfigNode& node, ConfigErrors& errors, const std::string& where,
                       EmailSettings& settings) {
  ConfigReader reader(node, errors, where);
  reader.readEnum("transport", settings.transport, {"pickup", "smtp"});
  reader.readString("from", settings.from);
  reader.readString("message_id_domain", settings.message_id_domain);
  reader.readString("phi_subject", settings.phi_subject);
  readPickup(reader, settings);
  const ConfigNode* smtp_node = readSmtp(reader, settings.smtp);
  readSmime(reader, settings.smime);
  reader.finish();
  if (!node.isObject()) {
    return;
  }
  if (!plausibleAddress(settings.from)) {
    errors.add(positionOf(node, "from"),
               "\"" + child(reader, "from") + "\" must be one address (local@domain)");
  }
  if (settings.phi_subject.empty() ||
      settings.phi_subject.find_first_of("\r\n") != std::string::npos) {
    errors.add(positionOf(node, "phi_subject"),
               "\"" + child(reader, "phi_subject") + "\" must be one non-empty line");
  }
  if (settings.message_id_domain.find_first_of(" \t\r\n<>@") != std::string::npos) {
    errors.add(positionOf(node, "message_id_domain"),
               "\"" + child(reader, "message_id_domain") + "\" must be a domain name");
  }
  if (settings.transport == "smtp" && settings.smtp.host.empty()) {
    errors.add(smtp_node != nullptr ? smtp_node->position() : positionOf(node, "transport"),
               "\"" + child(reader, "smtp") + ".host\" is required when transport is \"smtp\"");
  }
}

}  // namespace gw
