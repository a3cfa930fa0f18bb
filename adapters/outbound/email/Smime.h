// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "adapters/outbound/email/EmailSettings.h"
#include "gateway/api/Result.h"

// S/MIME 4.0 (RFC 8551) with OpenSSL CMS: sign with the gateway's certificate (opaque
// SignedData, so no gateway on the way can alter line endings of the signed part), then encrypt
// for the recipient (EnvelopedData with AES-256-CBC or AuthEnvelopedData with AES-256-GCM;
// RSA-OAEP with SHA-256 key transport), as Direct messaging does.
namespace gw::email {

class Smime {
 public:
  // Loads the signing certificate (and chain) and key; checks that they match and that the key
  // file is owner-only. Errors: InvalidArgument / PermissionDenied naming the setting and file.
  static Result<std::unique_ptr<Smime>> create(const SmimeSettings& settings);
  ~Smime();
  Smime(const Smime&) = delete;
  Smime& operator=(const Smime&) = delete;

  // The recipient's certificate file in the directory, as PEM text, or NotFound when the
  // directory holds none for `address` (or it has expired or is not yet valid; the file name is
  // the address in lower case plus ".pem"). `address` must have passed isValidAddress().
  Result<std::string> recipientCertificate(std::string_view address) const;

  // Signs `entity` (a MIME entity: Content-* headers, empty line, body), encrypts the result
  // for the certificate in `recipient_pem` and returns the outer entity
  // ("Content-Type: application/pkcs7-mime; smime-type=enveloped-data" ... base64 body).
  // Errors: InvalidArgument (unusable certificate), Internal (OpenSSL failure). Thread-safe.
  Result<std::string> signAndEncrypt(std::string_view entity, std::string_view recipient_pem) const;

 private:
  struct Keys;
  Smime(SmimeSettings settings, std::unique_ptr<Keys> keys);
  SmimeSettings settings_;
  std::unique_ptr<Keys> keys_;
};

}  // namespace gw::email
