// SPDX-License-Identifier: Apache-2.0
#include "adapters/outbound/email/Smime.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "adapters/outbound/email/Mime.h"
#include "gateway/crypto/OpenSslError.h"
#include "gateway/crypto/SecretFile.h"

namespace gw::email {
namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CmsFree {
  void operator()(CMS_ContentInfo* p) const { CMS_ContentInfo_free(p); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

constexpr std::size_t kMaxKeyBytes = 64 * 1024;

int noPassphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*user*/) {
  return 0;
}

BioPtr memoryBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

Result<std::string> der(CMS_ContentInfo* cms) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || i2d_CMS_bio(out.get(), cms) != 1) {
    return opensslError(StatusCode::Internal, "cannot encode CMS");
  }
  return bioText(out.get());
}

bool currentlyValid(X509* certificate) {
  return X509_cmp_current_time(X509_get0_notBefore(certificate)) < 0 &&
         X509_cmp_current_time(X509_get0_notAfter(certificate)) > 0;
}

}  // namespace

struct Smime::Keys {
  X509Ptr certificate;
  X509StackPtr chain{sk_X509_new_null()};
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
};

Smime::Smime(SmimeSettings settings, std::unique_ptr<Keys> keys)
    : settings_(std::move(settings)), keys_(std::move(keys)) {}
Smime::~Smime() = default;

Result<std::unique_ptr<Smime>> Smime::create(const SmimeSettings& settings) {
  clearOpensslErrors();
  auto keys = std::make_unique<Keys>();
  {
    BioPtr bio(BIO_new_file(settings.signing_certificate.c_str(), "r"));
    if (!bio) {
      return opensslError(
          StatusCode::InvalidArgument,
          "smime.signing_certificate \"" + settings.signing_certificate + "\": cannot open");
    }
    keys->certificate.reset(PEM_read_bio_X509(bio.get(), nullptr, &noPassphrase, nullptr));
    if (!keys->certificate) {
      return opensslError(StatusCode::InvalidArgument, "smime.signing_certificate \"" +
                                                           settings.signing_certificate +
                                                           "\": not a PEM certificate");
    }
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, &noPassphrase, nullptr)) {
      sk_X509_push(keys->chain.get(), extra);
    }
    clearOpensslErrors();  // the end of the file reads as an error
  }
  GW_ASSIGN_OR_RETURN(std::string pem, readSecretFile(settings.signing_key, "S/MIME signing key",
                                                      kMaxKeyBytes, SymlinkPolicy::Follow));
  BioPtr key_bio = memoryBio(pem);
  keys->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, &noPassphrase, nullptr));
  std::fill(pem.begin(), pem.end(), '\0');
  if (!keys->key) {
    return opensslError(StatusCode::InvalidArgument, "smime.signing_key \"" + settings.signing_key +
                                                         "\": not an unencrypted PEM private key");
  }
  if (X509_check_private_key(keys->certificate.get(), keys->key.get()) != 1) {
    return opensslError(StatusCode::InvalidArgument,
                        "smime.signing_key \"" + settings.signing_key +
                            "\" does not match smime.signing_certificate");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(settings.certificate_directory, ec)) {
    return Status::invalidArgument("smime.certificate_directory \"" +
                                   settings.certificate_directory + "\" is not a directory");
  }
  return std::unique_ptr<Smime>(new Smime(settings, std::move(keys)));
}

Result<std::string> Smime::recipientCertificate(std::string_view address) const {
  std::string name(address);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!isValidAddress(name)) {
    return Status::invalidArgument("recipient address is not valid");
  }
  const std::filesystem::path path =
      std::filesystem::path(settings_.certificate_directory) / (name + ".pem");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::notFound("no S/MIME certificate for the recipient");
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  BioPtr bio = memoryBio(pem);
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, &noPassphrase, nullptr));
  if (!certificate) {
    clearOpensslErrors();
    return Status::invalidArgument(
        "the recipient's S/MIME certificate file is not a PEM certificate");
  }
  if (!currentlyValid(certificate.get())) {
    return Status::notFound("the recipient's S/MIME certificate has expired or is not yet valid");
  }
  return pem;
}

Result<std::string> Smime::signAndEncrypt(std::string_view entity,
                                          std::string_view recipient_pem) const {
  clearOpensslErrors();
  BioPtr recipient_bio = memoryBio(recipient_pem);
  X509Ptr recipient(PEM_read_bio_X509(recipient_bio.get(), nullptr, &noPassphrase, nullptr));
  if (!recipient) {
    return opensslError(StatusCode::InvalidArgument,
                        "the recipient's S/MIME certificate is not a PEM certificate");
  }

  // 1. Opaque SignedData over the canonical (CRLF) entity; CMS_BINARY keeps it byte for byte.
  BioPtr content = memoryBio(entity);
  CmsPtr signed_data(CMS_sign(keys_->certificate.get(), keys_->key.get(), keys_->chain.get(),
                              content.get(), CMS_BINARY));
  if (!signed_data) {
    return opensslError(StatusCode::Internal, "S/MIME signing failed");
  }
  GW_ASSIGN_OR_RETURN(const std::string signed_der, der(signed_data.get()));
  const std::string signed_entity =
      "Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n" +
      base64Lines(signed_der);

  // 2. Encrypt the signed entity for the recipient, RSA-OAEP (RFC 8017) with SHA-256.
  const bool gcm = settings_.cipher == "aes-256-gcm";
  const EVP_CIPHER* cipher = gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
  const unsigned int flags = CMS_BINARY | CMS_PARTIAL;
  CmsPtr enveloped(CMS_encrypt(nullptr, nullptr, cipher, flags));
  if (!enveloped) {
    return opensslError(StatusCode::Internal, "cannot create S/MIME enveloped data");
  }
  CMS_RecipientInfo* info =
      CMS_add1_recipient_cert(enveloped.get(), recipient.get(), CMS_KEY_PARAM);
  if (info == nullptr) {
    return opensslError(StatusCode::InvalidArgument,
                        "the recipient's S/MIME certificate cannot be used for encryption");
  }
  EVP_PKEY_CTX* key_context = CMS_RecipientInfo_get0_pkey_ctx(info);
  if (key_context == nullptr ||
      EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(key_context, EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(key_context, EVP_sha256()) <= 0) {
    return opensslError(StatusCode::InvalidArgument,
                        "the recipient's S/MIME certificate has no RSA key for RSA-OAEP");
  }
  BioPtr signed_bio = memoryBio(signed_entity);
  if (CMS_final(enveloped.get(), signed_bio.get(), nullptr, flags) != 1) {
    return opensslError(StatusCode::Internal, "S/MIME encryption failed");
  }
  GW_ASSIGN_OR_RETURN(const std::string enveloped_der, der(enveloped.get()));
  const std::string smime_type = gcm ? "authEnveloped-data" : "enveloped-data";
  return "Content-Type: application/pkcs7-mime; smime-type=" + smime_type +
         "; name=\"smime.p7m\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n" +
         base64Lines(enveloped_der);
}

}  // namespace gw::email
