// SPDX-License-Identifier: Apache-2.0
#include "tests/unit/adapters/inbound/fhir/JwtTestKeys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "adapters/inbound/fhir/JwtVerifier.h"

namespace gw::test {

TestKey generateRsaKey() {
  TestKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  if (!key) {
    throw std::runtime_error("RSA key generation failed");
  }
  return key;
}

TestKey generateP384Key() {
  TestKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
  if (!key) {
    throw std::runtime_error("EC key generation failed");
  }
  return key;
}

std::string publicKeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string signJwt(EVP_PKEY* key, const std::string& header_json, const std::string& claims_json) {
  const std::string input =
      fhirin::base64UrlEncode(header_json) + "." + fhirin::base64UrlEncode(claims_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t size = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha384(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string signature(size, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &size,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  signature.resize(size);
  EVP_MD_CTX_free(ctx);
  if (EVP_PKEY_is_a(key, "EC")) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
    std::string raw(96, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 48);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 48, 48);
    ECDSA_SIG_free(sig);
    signature = raw;
  }
  return input + "." + fhirin::base64UrlEncode(signature);
}

}  // namespace gw::test
