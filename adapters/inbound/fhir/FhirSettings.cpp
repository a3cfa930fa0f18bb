// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/FhirSettings.h"

#include <set>

namespace gw {

void readFhirSettings(ConfigReader& reader, const ConfigNode& object, FhirSettings& s) {
  reader.readBool("enabled", s.enabled);
  reader.readString("name", s.name);
  reader.readString("base_path", s.base_path);
  reader.readInt("commit_timeout_ms", s.commit_timeout_ms, 1, 600000);
  reader.readInt("retry_after_seconds", s.retry_after_seconds, 1, 3600);
  reader.readInt("max_depth", s.max_depth, 8, 512);
  reader.readInt("max_string_bytes", s.max_string_bytes, 1024, 64LL * 1024 * 1024);
  http::readHttpServerSettings(reader, object, s.server);
  const std::string where = reader.where().empty() ? "auth" : reader.where() + ".auth";
  bool any_key = false;
  if (const ConfigNode* node = reader.object("auth")) {
    ConfigReader r(*node, reader.errors(), where);
    FhirAuthSettings& auth = s.auth;
    r.readString("audience", auth.audience);
    r.readInt("leeway_seconds", auth.leeway_seconds, 0, 600);
    r.readInt("max_token_lifetime_seconds", auth.max_token_lifetime_seconds, 60, 300);
    r.readBool("allow_unauthenticated", auth.allow_unauthenticated);
    if (const ConfigNode* list = r.array("clients")) {
      std::set<std::string> ids;
      for (std::size_t i = 0; i < list->elements().size(); ++i) {
        const ConfigNode& element = list->elements()[i];
        ConfigReader cr(element, reader.errors(), where + ".clients[" + std::to_string(i) + "]");
        FhirClientSettings client;
        cr.readString("id", client.id, /*required=*/true);
        cr.readString("issuer", client.issuer);
        cr.readString("public_key_file", client.public_key_file);
        cr.readStringList("certificate_subjects", client.certificate_subjects);
        cr.finish();
        if (client.issuer.empty()) {
          client.issuer = client.id;
        }
        if (!client.id.empty() && !ids.insert(client.id).second) {
          reader.errors().add(element.position(), "client id \"" + client.id + "\" is used twice");
        }
        if (client.public_key_file.empty() && client.certificate_subjects.empty()) {
          reader.errors().add(element.position(),
                              "client \"" + client.id +
                                  "\" needs \"public_key_file\" (JWT) or \"certificate_subjects\" "
                                  "(mutual TLS)");
        }
        any_key = any_key || !client.public_key_file.empty();
        auth.clients.push_back(std::move(client));
      }
    }
    r.finish();
    if (any_key && auth.audience.empty()) {
      reader.errors().add(node->position(),
                          "\"" + where + ".audience\" is required when a client uses JWTs");
    }
    if (auth.allow_unauthenticated &&
        (s.server.tls.enabled || !http::isLoopbackHost(s.server.host))) {
      reader.errors().add(node->position(),
                          "\"" + where +
                              ".allow_unauthenticated\" is only allowed for plain HTTP on a "
                              "loopback host");
    }
  }
  reader.finish();
  if (s.base_path.empty() || s.base_path.front() != '/') {
    reader.errors().add(object.position(), "\"base_path\" must start with '/' (e.g. \"/fhir\")");
  }
  if (s.enabled && !http::plainHttpAllowed(s.server)) {
    reader.errors().add(object.position(),
                        "\"tls.enabled\" is false: plain HTTP is only allowed on a loopback host "
                        "with \"allow_plain_http\": true");
  }
  if (s.enabled && s.auth.clients.empty() && !s.auth.allow_unauthenticated) {
    reader.errors().add(object.position(),
                        "FHIR intake is enabled but no client can authenticate: configure "
                        "\"auth.clients\" (or \"auth.allow_unauthenticated\" on loopback)");
  }
}

}  // namespace gw
