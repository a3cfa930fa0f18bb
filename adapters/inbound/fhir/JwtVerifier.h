// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/api/Clock.h"
#include "gateway/api/Result.h"

namespace gw::fhirin {

// Checks `Authorization: Bearer` JWTs (RFC 7519, compact JWS RFC 7515) the way SMART Backend
// Services client assertions are checked: signed RS384 (RSASSA-PKCS1-v1_5 SHA-384) or ES384
// (ECDSA P-384 SHA-384, JWS R||S signature) with the public key configured for the client
// named by `iss`; `sub`, when present, equals `iss`; `aud` (string or array) contains the
// configured audience; `exp` is required and in the future; `nbf` and `iat`, when present, are
// not in the future; leeway applies to all three; exp may lie at most max_lifetime ahead (SMART
// Backend Services: at most five minutes), and so may exp - iat when iat is sent; `jti` is
// required (a string of 1..255 characters). Whether a jti was used before is the caller's check
// (TokenReplayLedger), since it needs durable state.
// The key type must match `alg` (no RSA/EC confusion, never "none" or HMAC).
// Thread-safe after construction (const use).
class JwtVerifier {
 public:
  struct Client {
    std::string id;
    std::string issuer;
    std::string public_key_pem;  // PEM SubjectPublicKeyInfo or certificate
  };
  struct Options {
    std::string audience;
    std::chrono::seconds leeway{60};
    std::chrono::seconds max_lifetime{300};
  };

  // What a valid token says.
  struct Verified {
    std::string client;     // the configured client id
    std::string jti;        // the token id, for replay detection
    SystemTime expires_at;  // exp plus the leeway: until then the token would be accepted
  };

  // InvalidArgument naming the client when a key cannot be read or has an unsupported type.
  static Result<std::unique_ptr<JwtVerifier>> create(const std::vector<Client>& clients,
                                                     Options options);
  ~JwtVerifier();
  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;

  // The client id the token authenticates. PermissionDenied with a reason that names the
  // failed check (never the token or its claims' values): "malformed token", "unsupported
  // alg", "unknown issuer", "bad signature", "token expired", "wrong audience", ...
  Result<std::string> verify(std::string_view token, SystemTime now) const;
  // As verify(), with the token id and expiry.
  Result<Verified> verifyToken(std::string_view token, SystemTime now) const;

  struct Impl;

 private:
  explicit JwtVerifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RFC 4648 section 5 base64url without padding (padding tolerated on input). nullopt-like:
// false when the text is not base64url.
bool base64UrlDecode(std::string_view text, std::string& out);
std::string base64UrlEncode(std::string_view bytes);

}  // namespace gw::fhirin
