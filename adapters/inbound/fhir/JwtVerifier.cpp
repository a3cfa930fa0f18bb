// SPDX-License-Identifier: Apache-2.0
#include "adapters/inbound/fhir/JwtVerifier.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/document.h>

#include <cmath>
#include <map>

namespace gw::fhirin {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct SigFree {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

int decodeChar(char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

PkeyPtr readPublicKey(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return nullptr;
  }
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key) {
    return key;
  }
  ERR_clear_error();
  std::unique_ptr<BIO, BioFree> again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return nullptr;
  }
  return PkeyPtr(X509_get_pubkey(cert.get()));
}

bool isP384(EVP_PKEY* key) {
  char group[64] = {0};
  std::size_t length = 0;
  return EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1 &&
         std::string_view(group, length) == "secp384r1";
}

// JWS ES384 signatures are R||S, 48 bytes each; OpenSSL verifies DER ECDSA-Sig-Value.
bool joseToDer(const std::string& jose, std::string& der) {
  if (jose.size() != 96) {
    return false;
  }
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()), 48, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(jose.data()) + 48, 48, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  unsigned char* out = nullptr;
  const int size = i2d_ECDSA_SIG(sig.get(), &out);
  if (size <= 0) {
    return false;
  }
  der.assign(reinterpret_cast<char*>(out), static_cast<std::size_t>(size));
  OPENSSL_free(out);
  return true;
}

Status denied(std::string reason) {
  return Status::permissionDenied(std::move(reason));
}

// A NumericDate claim (RFC 7519 section 2): seconds since the epoch, integer or fraction.
bool numericDate(const rapidjson::Value& object, const char* name, double& out, bool& present) {
  const auto it = object.FindMember(name);
  present = it != object.MemberEnd();
  if (!present) {
    return true;
  }
  if (!it->value.IsNumber()) {
    return false;
  }
  out = it->value.GetDouble();
  return std::isfinite(out);
}

}  // namespace

bool base64UrlDecode(std::string_view text, std::string& out) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) {
    return false;
  }
  out.clear();
  out.reserve(text.size() * 3 / 4);
  unsigned int buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = decodeChar(c);
    if (v < 0) {
      return false;
    }
    buffer = (buffer << 6) | static_cast<unsigned int>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero (canonical encoding).
  return (buffer & ((1U << bits) - 1)) == 0;
}

std::string base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned int buffer = 0;
  int bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 0x3F];
    }
  }
  if (bits > 0) {
    out += kAlphabet[(buffer << (6 - bits)) & 0x3F];
  }
  return out;
}

struct JwtVerifier::Impl {
  struct Key {
    std::string client_id;
    PkeyPtr key;
    bool rsa = false;
  };
  std::map<std::string, Key, std::less<>> by_issuer;
  Options options;
};

JwtVerifier::JwtVerifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::create(const std::vector<Client>& clients,
                                                         Options options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  for (const Client& client : clients) {
    PkeyPtr key = readPublicKey(client.public_key_pem);
    if (!key) {
      return Status::invalidArgument("client \"" + client.id +
                                     "\": public key is not a PEM public key or certificate");
    }
    Impl::Key entry;
    entry.client_id = client.id;
    if (EVP_PKEY_is_a(key.get(), "RSA")) {
      if (EVP_PKEY_get_bits(key.get()) < 2048) {
        return Status::invalidArgument("client \"" + client.id +
                                       "\": RSA public key shorter than 2048 bits");
      }
      entry.rsa = true;
    } else if (!(EVP_PKEY_is_a(key.get(), "EC") && isP384(key.get()))) {
      return Status::invalidArgument("client \"" + client.id +
                                     "\": public key must be RSA (RS384) or EC P-384 (ES384)");
    }
    entry.key = std::move(key);
    if (!impl->by_issuer.emplace(client.issuer, std::move(entry)).second) {
      return Status::invalidArgument("issuer \"" + client.issuer + "\" is configured twice");
    }
  }
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(impl)));
}

Result<std::string> JwtVerifier::verify(std::string_view token, SystemTime now) const {
  GW_ASSIGN_OR_RETURN(Verified verified, verifyToken(token, now));
  return std::move(verified.client);
}

Result<JwtVerifier::Verified> JwtVerifier::verifyToken(std::string_view token,
                                                       SystemTime now) const {
  const std::size_t dot1 = token.find('.');
  const std::size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos ||
      token.size() > 16384) {
    return denied("malformed token (not a compact JWS)");
  }
  std::string header_json;
  std::string claims_json;
  std::string signature;
  if (!base64UrlDecode(token.substr(0, dot1), header_json) ||
      !base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), claims_json) ||
      !base64UrlDecode(token.substr(dot2 + 1), signature)) {
    return denied("malformed token (not base64url)");
  }
  rapidjson::Document header;
  header.Parse(header_json.data(), header_json.size());
  if (header.HasParseError() || !header.IsObject()) {
    return denied("malformed token (header is not a JSON object)");
  }
  const auto alg = header.FindMember("alg");
  if (alg == header.MemberEnd() || !alg->value.IsString()) {
    return denied("malformed token (no alg)");
  }
  const std::string_view alg_name(alg->value.GetString(), alg->value.GetStringLength());
  if (alg_name != "RS384" && alg_name != "ES384") {
    return denied("unsupported alg (RS384 or ES384 required)");
  }
  if (header.HasMember("crit")) {
    return denied("unsupported critical header");
  }
  rapidjson::Document claims;
  claims.Parse(claims_json.data(), claims_json.size());
  if (claims.HasParseError() || !claims.IsObject()) {
    return denied("malformed token (claims are not a JSON object)");
  }
  const auto iss = claims.FindMember("iss");
  if (iss == claims.MemberEnd() || !iss->value.IsString()) {
    return denied("token has no iss");
  }
  const std::string_view issuer(iss->value.GetString(), iss->value.GetStringLength());
  const auto found = impl_->by_issuer.find(issuer);
  if (found == impl_->by_issuer.end()) {
    return denied("unknown issuer");
  }
  const Impl::Key& key = found->second;
  if (key.rsa != (alg_name == "RS384")) {
    return denied("alg does not match the client's key type");
  }

  // Signature over "<header>.<claims>" as sent.
  std::string der;
  const std::string* checked = &signature;
  if (!key.rsa) {
    if (!joseToDer(signature, der)) {
      return denied("bad signature");
    }
    checked = &der;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const std::string_view signed_part = token.substr(0, dot2);
  const bool valid =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(checked->data()),
                       checked->size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  ERR_clear_error();
  if (!valid) {
    return denied("bad signature");
  }

  if (const auto sub = claims.FindMember("sub"); sub != claims.MemberEnd()) {
    if (!sub->value.IsString() ||
        std::string_view(sub->value.GetString(), sub->value.GetStringLength()) != issuer) {
      return denied("sub does not equal iss");
    }
  }
  const auto aud = claims.FindMember("aud");
  bool audience_ok = false;
  if (aud != claims.MemberEnd()) {
    const std::string& want = impl_->options.audience;
    if (aud->value.IsString()) {
      audience_ok = want == std::string_view(aud->value.GetString(), aud->value.GetStringLength());
    } else if (aud->value.IsArray()) {
      for (const auto& v : aud->value.GetArray()) {
        audience_ok = audience_ok || (v.IsString() &&
                                      want == std::string_view(v.GetString(), v.GetStringLength()));
      }
    }
  }
  if (!audience_ok) {
    return denied("wrong audience");
  }
  const double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  const double leeway = static_cast<double>(impl_->options.leeway.count());
  double exp = 0, nbf = 0, iat = 0;
  bool has_exp = false, has_nbf = false, has_iat = false;
  if (!numericDate(claims, "exp", exp, has_exp) || !numericDate(claims, "nbf", nbf, has_nbf) ||
      !numericDate(claims, "iat", iat, has_iat)) {
    return denied("malformed token (exp, nbf or iat is not a number)");
  }
  if (!has_exp) {
    return denied("token has no exp");
  }
  if (now_s > exp + leeway) {
    return denied("token expired");
  }
  const double max_lifetime = static_cast<double>(impl_->options.max_lifetime.count());
  if (exp - now_s > max_lifetime + leeway || (has_iat && exp - iat > max_lifetime)) {
    return denied("token lifetime too long");
  }
  if (has_nbf && nbf > now_s + leeway) {
    return denied("token not yet valid");
  }
  if (has_iat && iat > now_s + leeway) {
    return denied("token issued in the future");
  }
  const auto jti = claims.FindMember("jti");
  if (jti == claims.MemberEnd()) {
    return denied("token has no jti");
  }
  if (!jti->value.IsString() || jti->value.GetStringLength() == 0 ||
      jti->value.GetStringLength() > 255) {
    return denied("malformed token (jti is not a string of 1 to 255 characters)");
  }
  Verified verified;
  verified.client = key.client_id;
  verified.jti.assign(jti->value.GetString(), jti->value.GetStringLength());
  verified.expires_at = SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::duration<double>(exp + leeway)));
  return verified;
}

}  // namespace gw::fhirin
