// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Net/Context.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "adapters/inbound/mllp/MllpSettings.h"
#include "gateway/api/Result.h"

namespace gw::mllp {

// The server TLS context of a listener: protocol versions from tls.min_version up (never below
// TLS 1.2), the certificate chain and unencrypted private key (which must match), and client
// certificate verification: VERIFY_STRICT against `ca` with require_client_certificate,
// VERIFY_RELAXED against `ca` when only `ca` is set (a certificate that is presented must chain
// to it), none otherwise. Verification is OpenSSL's own; no POCO SSLManager handler can relax it.
// Initialises POCO's SSL library once per process.
// Errors: InvalidArgument naming the setting, the file and OpenSSL's reason.
Result<Poco::Net::Context::Ptr> makeServerTlsContext(const MllpTlsSettings& tls);

// RFC 2253 subject of a certificate, e.g. "CN=ehr-prod,O=Hospital".
std::string certificateSubject(const X509* certificate);

// True when the certificate's subject common name, its RFC 2253 subject or its OpenSSL
// one-line subject ("/O=Hospital/CN=ehr-prod") equals an entry of `allowed`.
bool clientSubjectAllowed(const X509* certificate, const std::vector<std::string>& allowed);

}  // namespace gw::mllp
