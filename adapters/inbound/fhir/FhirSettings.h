// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/api/ConfigNode.h"
#include "gateway/http/HttpServer.h"

namespace gw {

// One EHR allowed to post (config array "inbound.fhir.auth.clients").
struct FhirClientSettings {
  // Client id: the sender in stored events, audit records and the dedupe key. Required, unique.
  std::string id;
  // JWT `iss` (and `sub`, when present) this client signs with. Default: the id.
  std::string issuer;
  // PEM public key (RSA for RS384, EC P-384 for ES384) checking this client's JWTs; empty: the
  // client cannot use bearer tokens.
  std::string public_key_file;
  // Mutual TLS: verified client certificate subjects (CN, RFC 2253 subject) that are this client.
  std::vector<std::string> certificate_subjects;
};

struct FhirAuthSettings {
  // Expected JWT `aud` (the gateway's FHIR base URL as the clients know it). Required when any
  // client has a public key.
  std::string audience;
  // Seconds of clock difference tolerated for exp / nbf / iat.
  int leeway_seconds = 60;
  // Tokens whose exp lies further ahead than this (or further after their iat) are refused;
  // SMART Backend Services allows at most five minutes.
  int max_token_lifetime_seconds = 300;
  // Accept requests without credentials as client "local". Only with plain HTTP on loopback (a
  // demo or a TLS proxy on the same machine).
  bool allow_unauthenticated = false;
  std::vector<FhirClientSettings> clients;
};

// The FHIR R4 intake server ("inbound.fhir").
struct FhirSettings {
  // Serve FHIR. Default off.
  bool enabled = false;
  // Name in stored events' listener field, logs and audit records.
  std::string name = "fhir";
  // Base path of the FHIR endpoints.
  std::string base_path = "/fhir";
  // How long a request waits for its commit before it is answered 503, in ms.
  int commit_timeout_ms = 5000;
  // Retry-After seconds sent with 503.
  int retry_after_seconds = 5;
  // Deepest JSON/XML nesting accepted (400 beyond).
  int max_depth = 64;
  // Longest string in a resource, in bytes (400 beyond).
  std::int64_t max_string_bytes = 1024 * 1024;
  http::HttpServerSettings server;
  FhirAuthSettings auth;
};

// Reads "inbound.fhir" (keys and defaults documented in config/gateway.json and
// adapters/inbound/fhir/README.md). Every error goes to reader.errors() with its position;
// reader.finish() is called. `node` is the object `reader` reads.
void readFhirSettings(ConfigReader& reader, const ConfigNode& node, FhirSettings& settings);

}  // namespace gw
