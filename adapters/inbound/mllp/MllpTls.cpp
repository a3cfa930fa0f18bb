// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/mllp/MllpTls.h"

#include <Poco/Exception.h>
#include <Poco/Net/NetSSL.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace gw::mllp {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct OpensslFree {
  void operator()(char* p) const { OPENSSL_free(p); }
};

// TLS 1.2 suites: forward secrecy and AEAD first; TLS 1.3 suites are OpenSSL's defaults.
constexpr const char* kCipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES:!PSK:!SRP:!kRSA";
constexpr unsigned char kSessionContext[] = "gw-mllp";

// Drains OpenSSL's error queue into one line.
std::string openSslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    out += out.empty() ? "" : "; ";
    out += text;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Status fileError(const char* setting, const std::string& path, const std::string& what) {
  return Status::invalidArgument("tls." + std::string(setting) + " \"" + path + "\": " + what +
                                 ": " + openSslErrors());
}

// A passphrase is never read: encrypted keys fail to load with a clear error.
int noPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) { return 0; }

Status loadPrivateKey(SSL_CTX* ctx, const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    return fileError("private_key", path, "cannot open");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &noPassphrase, nullptr));
  if (!key) {
    return fileError("private_key", path, "not an unencrypted PEM private key");
  }
  X509* certificate = SSL_CTX_get0_certificate(ctx);
  if (certificate != nullptr && X509_check_private_key(certificate, key.get()) != 1) {
    return fileError("private_key", path, "does not match tls.certificate");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return fileError("private_key", path, "cannot use the key");
  }
  return Status::ok();
}

Status configure(SSL_CTX* ctx, const MllpTlsSettings& tls, int verify_mode) {
  ERR_clear_error();
  const int min_version = tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1) {
    return Status::invalidArgument("tls.min_version \"" + tls.min_version +
                                   "\" is not supported: " + openSslErrors());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) != 1) {
    return fileError("certificate", tls.certificate, "cannot load a PEM certificate chain");
  }
  GW_RETURN_IF_ERROR(loadPrivateKey(ctx, tls.private_key));
  if (!tls.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca.c_str(), nullptr) != 1) {
      return fileError("ca", tls.ca, "cannot load PEM CA certificates");
    }
    // The CA names go into the CertificateRequest, so clients pick the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.ca.c_str());
    if (names == nullptr) {
      return fileError("ca", tls.ca, "cannot read CA names");
    }
    SSL_CTX_set_client_CA_list(ctx, names);
  }
  // Replace POCO's callback (which asks SSLManager's handlers) by OpenSSL's own verification.
  SSL_CTX_set_verify(ctx, verify_mode, nullptr);
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  return Status::ok();
}

std::string nameText(const X509_NAME* name, unsigned long flags) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
    return {};
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string commonName(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* value =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int size = ASN1_STRING_to_UTF8(&utf8, value);
  if (size < 0) {
    return {};
  }
  std::unique_ptr<char, OpensslFree> owned(reinterpret_cast<char*>(utf8));
  return std::string(owned.get(), static_cast<std::size_t>(size));
}

std::string oneLine(const X509_NAME* name) {
  std::unique_ptr<char, OpensslFree> text(X509_NAME_oneline(name, nullptr, 0));
  return text ? std::string(text.get()) : std::string();
}

}  // namespace

Result<Poco::Net::Context::Ptr> makeServerTlsContext(const MllpTlsSettings& tls) {
  static std::once_flag ssl_initialized;
  std::call_once(ssl_initialized, [] { Poco::Net::initializeSSL(); });

  Poco::Net::Context::VerificationMode mode = Poco::Net::Context::VERIFY_NONE;
  if (tls.require_client_certificate) {
    mode = Poco::Net::Context::VERIFY_STRICT;
  } else if (!tls.ca.empty()) {
    mode = Poco::Net::Context::VERIFY_RELAXED;
  }
  Poco::Net::Context::Ptr context;
  try {
    Poco::Net::Context::Params params;
    params.verificationMode = mode;
    params.cipherList = kCipherList;
    params.dhUse2048Bits = true;
    context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    context->disableProtocols(Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
                              Poco::Net::Context::PROTO_TLSV1 |
                              Poco::Net::Context::PROTO_TLSV1_1);
    // A client certificate names a client, not a host: the subject allow-list checks it.
    context->enableExtendedCertificateVerification(false);
  } catch (const Poco::Exception& e) {
    return Status::invalidArgument("cannot create the TLS context: " + e.displayText());
  }
  GW_RETURN_IF_ERROR(configure(context->sslContext(), tls, static_cast<int>(mode)));
  return context;
}

std::string certificateSubject(const X509* certificate) {
  if (certificate == nullptr) {
    return {};
  }
  return nameText(X509_get_subject_name(certificate), XN_FLAG_RFC2253);
}

bool clientSubjectAllowed(const X509* certificate, const std::vector<std::string>& allowed) {
  if (certificate == nullptr) {
    return false;
  }
  const X509_NAME* name = X509_get_subject_name(certificate);
  const std::string candidates[] = {commonName(name), nameText(name, XN_FLAG_RFC2253),
                                    oneLine(name)};
  for (const std::string& candidate : candidates) {
    if (!candidate.empty() &&
        std::find(allowed.begin(), allowed.end(), candidate) != allowed.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace gw::mllp
