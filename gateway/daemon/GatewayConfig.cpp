// SPDX-License-Identifier: Apache-2.0
#include "gateway/daemon/GatewayConfig.h"

#include <filesystem>
#include <set>

#include "gateway/configuration/ConfigParser.h"

namespace gw {
namespace {

std::string resolve(const std::filesystem::path& base, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) {
    return path;
  }
  return (base / path).lexically_normal().string();
}

void readStore(ConfigReader& top, GatewayConfig& config) {
  const ConfigNode* node = top.object("store");
  if (node == nullptr) {
    return;
  }
  ConfigReader r(*node, top.errors(), "store");
  r.readEnum("type", config.store_type, {"sqlite"});
  SqliteStoreSettings& s = config.store;
  r.readString("path", s.path);
  r.readEnum("durability", s.durability, {"process", "power"});
  r.readInt("max_batch", s.max_batch, 1, 65536);
  r.readInt("max_queue", s.max_queue, 1, 1000000);
  r.readInt("busy_timeout_ms", s.busy_timeout_ms, 0, 600000);
  r.finish();
}

void readOutbound(ConfigReader& top, OutboundSettings& outbound) {
  const ConfigNode* node = top.object("outbound");
  if (node == nullptr) {
    return;
  }
  ConfigReader r(*node, top.errors(), "outbound");
  if (const ConfigNode* email = r.object("email")) {
    readEmailSettings(*email, top.errors(), "outbound.email", outbound.email);
  }
  if (const ConfigNode* inbox = r.object("secure_inbox")) {
    // "enabled" is ours; every other key belongs to the inbox settings reader.
    outbound.secure_inbox_enabled = true;
    ConfigNode pages(ConfigNode::Kind::Object, inbox->position());
    for (const auto& [key, value] : inbox->members()) {
      if (key == "enabled") {
        if (value.kind() != ConfigNode::Kind::Bool) {
          top.errors().add(value.position(), "outbound.secure_inbox.enabled must be true or false");
        } else {
          outbound.secure_inbox_enabled = value.boolValue();
        }
        continue;
      }
      pages.mutableMembers().emplace_back(key, value);
    }
    readInboxSettings(pages, top.errors(), outbound.secure_inbox);
  }
  if (const ConfigNode* api = r.object("messaging_api")) {
    outbound.messaging_api_enabled = true;
    readMessagingApiSettings(*api, top.errors(), "outbound.messaging_api", outbound.messaging_api);
  }
  r.finish();
}

void resolveOutbound(const std::filesystem::path& base, OutboundSettings& outbound) {
  EmailSettings& email = outbound.email;
  for (std::string* path : {&email.pickup_directory, &email.smtp.ca, &email.smtp.password_file,
                            &email.smime.certificate_directory, &email.smime.signing_certificate,
                            &email.smime.signing_key, &outbound.messaging_api.ca,
                            &outbound.messaging_api.secret_file}) {
    *path = resolve(base, *path);
  }
}

void readAtna(const ConfigNode& node, ConfigErrors& errors, AtnaSettings& s) {
  ConfigReader r(node, errors, "audit.atna");
  r.readBool("enabled", s.enabled);
  r.readString("host", s.host);
  r.readInt("port", s.port, 1, 65535);
  r.readString("ca_file", s.ca_file);
  r.readString("certificate_file", s.certificate_file);
  r.readString("private_key_file", s.private_key_file);
  r.readString("app_name", s.app_name);
  r.readString("hostname", s.hostname);
  r.readString("cursor_file", s.cursor_file);
  r.readInt("poll_interval_ms", s.poll_interval_ms, 10, 3600000);
  r.readInt("reconnect_min_ms", s.reconnect_min_ms, 10, 3600000);
  r.readInt("reconnect_max_ms", s.reconnect_max_ms, 10, 3600000);
  r.readInt("io_timeout_ms", s.io_timeout_ms, 100, 600000);
  r.readInt("max_batch", s.max_batch, 1, 10000);
  r.finish();
  if (s.enabled) {
    for (std::string& error : atnaSettingsErrors(s)) {
      errors.add(node.position(), std::move(error));
    }
  }
}

}  // namespace

bool loadGatewayConfig(const std::string& path, GatewayConfig& config, std::string& diagnostics) {
  Result<ConfigNode> root = config::parseJsonFile(path);
  if (!root.ok()) {
    diagnostics = root.status().toString() + "\n";
    return false;
  }
  config.config_path = path;
  ConfigErrors errors;
  ConfigReader top(*root, errors, "");

  if (const ConfigNode* node = top.object("logging")) {
    ConfigReader r(*node, errors, "logging");
    r.readEnum(
        "level", config.logging.level,
        {"fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"});
    r.readString("file", config.logging.file);
    r.finish();
  }
  if (const ConfigNode* node = top.object("keys")) {
    ConfigReader r(*node, errors, "keys");
    r.readString("key_file", config.keys.key_file);
    r.readBool("generate_if_missing", config.keys.generate_if_missing);
    r.finish();
  }
  readStore(top, config);
  if (const ConfigNode* node = top.object("audit")) {
    ConfigReader r(*node, errors, "audit");
    AuditSettings& a = config.audit;
    r.readString("signing_key_file", a.signing_key_file);
    r.readBool("generate_if_missing", a.generate_if_missing);
    r.readInt("checkpoint_interval_seconds", a.checkpoint_interval_seconds, 1, 86400);
    r.readString("origin", a.origin);
    if (const ConfigNode* atna = r.object("atna")) {
      readAtna(*atna, errors, a.atna);
    }
    r.finish();
    bool origin_ok = !a.origin.empty();
    for (const char c : a.origin) {
      origin_ok = origin_ok && static_cast<unsigned char>(c) > 0x20 && c != 0x7F && c != '+';
    }
    if (!origin_ok) {
      errors.add(node->position(), "audit.origin \"" + a.origin +
                                       "\" must be non-empty without spaces, '+' or control "
                                       "characters (e.g. \"gateway.example.org/audit\")");
    }
  }
  if (const ConfigNode* inbound = top.object("inbound")) {
    ConfigReader r(*inbound, errors, "inbound");
    if (const ConfigNode* list = r.array("mllp")) {
      std::set<std::string> names;
      for (std::size_t i = 0; i < list->elements().size(); ++i) {
        const ConfigNode& element = list->elements()[i];
        ConfigReader lr(element, errors, "inbound.mllp[" + std::to_string(i) + "]");
        MllpSettings settings;
        readMllpSettings(lr, settings);
        if (!settings.name.empty() && !names.insert(settings.name).second) {
          errors.add(element.position(), "listener name \"" + settings.name + "\" is used twice");
        }
        config.mllp.push_back(std::move(settings));
      }
    }
    if (const ConfigNode* fhir = r.object("fhir")) {
      ConfigReader fr(*fhir, errors, "inbound.fhir");
      readFhirSettings(fr, *fhir, config.fhir);
    }
    r.finish();
  }
  readOutbound(top, config.outbound);
  readPipelineSettings(top, config.pipeline);
  if (const ConfigNode* web = top.object("web")) {
    ConfigReader r(*web, errors, "web");
    http::readHttpServerSettings(r, *web, config.web.server);
    r.finish();
  }
  if (const ConfigNode* admin = top.object("admin")) {
    admin::readAdminSettings(*admin, errors, config.admin);
    if (config.admin.enabled) {
      // Passwords and session tokens travel in every request: TLS, or loopback (a local proxy).
      const http::HttpServerSettings& web = config.web.server;
      if (!web.tls.enabled && !(web.allow_plain_http && http::isLoopbackHost(web.host))) {
        errors.add(admin->position(),
                   "admin.enabled needs TLS on the web server (web.tls) or a plain-HTTP web "
                   "server on a loopback host with web.allow_plain_http");
      }
      if (config.admin.client_certificate_login && (!web.tls.enabled || web.tls.ca.empty())) {
        errors.add(admin->position(),
                   "admin.client_certificate_login needs web.tls with a \"ca\" that client "
                   "certificates chain to");
      }
      const auto trimmed = [](std::string p) {
        while (p.size() > 1 && p.back() == '/') {
          p.pop_back();
        }
        return p;
      };
      if (config.outbound.secure_inbox_enabled &&
          trimmed(config.admin.path_prefix) == trimmed(config.outbound.secure_inbox.path_prefix)) {
        errors.add(admin->position(), "admin.path_prefix \"" + config.admin.path_prefix +
                                          "\" is the secure inbox's path_prefix too");
      }
    }
  }
  top.finish();

  if (config.mllp.empty() && !config.fhir.enabled && errors.empty()) {
    errors.add(root->position(),
               "no inbound listener configured (inbound.mllp is empty, inbound.fhir disabled)");
  }
  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  config.logging.file = resolve(base, config.logging.file);
  config.keys.key_file = resolve(base, config.keys.key_file);
  config.audit.signing_key_file = resolve(base, config.audit.signing_key_file);
  AtnaSettings& atna = config.audit.atna;
  atna.audit_source_id = config.audit.origin;
  atna.ca_file = resolve(base, atna.ca_file);
  atna.certificate_file = resolve(base, atna.certificate_file);
  atna.private_key_file = resolve(base, atna.private_key_file);
  atna.cursor_file = resolve(base, atna.cursor_file);
  config.store.path = resolve(base, config.store.path);
  if (config.store.path.empty()) {
    errors.add(root->position(), "store.path is required");
  }
  for (MllpSettings& m : config.mllp) {
    m.tls.certificate = resolve(base, m.tls.certificate);
    m.tls.private_key = resolve(base, m.tls.private_key);
    m.tls.ca = resolve(base, m.tls.ca);
  }
  resolveOutbound(base, config.outbound);
  config.pipeline.mappings.directory = resolve(base, config.pipeline.mappings.directory);
  config.pipeline.mappings.pseudonym_key_file =
      resolve(base, config.pipeline.mappings.pseudonym_key_file);
  for (std::string* file : {&config.web.server.tls.certificate, &config.web.server.tls.private_key,
                            &config.web.server.tls.ca}) {
    *file = resolve(base, *file);
  }
  for (std::string* file : {&config.fhir.server.tls.certificate,
                            &config.fhir.server.tls.private_key, &config.fhir.server.tls.ca}) {
    *file = resolve(base, *file);
  }
  for (FhirClientSettings& client : config.fhir.auth.clients) {
    client.public_key_file = resolve(base, client.public_key_file);
  }
  diagnostics = errors.toString();
  return errors.empty();
}

}  // namespace gw
