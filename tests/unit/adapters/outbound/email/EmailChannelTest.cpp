// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "adapters/outbound/email/EmailChannel.h"
#include "adapters/outbound/email/Mime.h"
#include "tests/support/TestSupport.h"

namespace gw {
namespace {

namespace fs = std::filesystem;

class FixedClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::from_time_t(1795442709); }
  SteadyTime steadyNow() const override { return SteadyTime{}; }
};

// A transport that records what it was given and answers with a chosen status.
class RecordingTransport final : public email::MailTransport {
 public:
  std::string_view method() const override { return "verified_tls"; }
  Result<std::string> send(const email::OutgoingMail& mail, Deadline /*deadline*/) override {
    sent.push_back(mail);
    if (!answer.isOk()) {
      return answer;
    }
    return std::string("250 2.0.0");
  }
  std::vector<email::OutgoingMail> sent;
  Status answer;
};

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct CmsFree {
  void operator()(CMS_ContentInfo* p) const { CMS_ContentInfo_free(p); }
};
struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};

struct Identity {
  std::unique_ptr<EVP_PKEY, KeyFree> key;
  std::unique_ptr<X509, CertFree> cert;
};

// A self-signed RSA certificate for `email` (valid for a day).
Identity makeIdentity(const std::string& cn, const std::string& email) {
  Identity id;
  id.key.reset(EVP_RSA_gen(2048));
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), 7);
  X509_gmtime_adj(X509_getm_notBefore(c), -60);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_set_pubkey(c, id.key.get());
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, c, c, nullptr, nullptr, 0);
  const std::string san = "email:" + email;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(c, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(c, id.key.get(), EVP_sha256());
  return id;
}

void writePem(const fs::path& path, X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "w"));
  PEM_write_bio_X509(bio.get(), cert);
}
void writeKey(const fs::path& path, EVP_PKEY* key) {
  {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "w"));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  ::chmod(path.c_str(), 0600);
}

OutboundMessage phiMessage() {
  OutboundMessage m;
  m.message_id = 42;
  m.idempotency_key = "pm-42";
  m.purpose = "result";
  m.contains_phi = true;
  m.content.language = "en";
  m.content.recipient_name = "Alexa Testpatient";
  m.content.email = "alexa.testpatient@example.invalid";
  m.content.facility_name = "Demo Hospital";
  m.content.subject = "Your potassium result";
  m.content.text = "Dear Alexa Testpatient,\nyour potassium result is 4.1 mmol/L.\n";
  m.content.html = "<p>Dear Alexa Testpatient, your potassium result is 4.1 mmol/L.</p>";
  return m;
}

class EmailChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.transport = "pickup";
    settings_.pickup_directory = (dir_.path() / "pickup").string();
  }

  EmailOutbound make() {
    Result<EmailOutbound> made = makeEmailOutbound(settings_, std::make_shared<FixedClock>());
    EXPECT_TRUE(made.ok()) << made.status().toString();
    return made.ok() ? std::move(*made) : EmailOutbound{};
  }

  std::vector<fs::path> pickupFiles() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(settings_.pickup_directory)) {
      files.push_back(entry.path());
    }
    return files;
  }

  // Sets up S/MIME with a signing identity and a certificate for the test patient.
  void enableSmime() {
    const fs::path certs = dir_.path() / "certs";
    fs::create_directories(certs);
    signer_ = makeIdentity("Demo Hospital Gateway", "no-reply@gateway.invalid");
    recipient_ = makeIdentity("Alexa Testpatient", "alexa.testpatient@example.invalid");
    writePem(dir_.path() / "sign.pem", signer_.cert.get());
    writeKey(dir_.path() / "sign.key", signer_.key.get());
    writePem(certs / "alexa.testpatient@example.invalid.pem", recipient_.cert.get());
    settings_.smime.certificate_directory = certs.string();
    settings_.smime.signing_certificate = (dir_.path() / "sign.pem").string();
    settings_.smime.signing_key = (dir_.path() / "sign.key").string();
  }

  // Decrypts with the recipient's key and verifies the signer; returns the signed entity.
  std::string decryptAndVerify(const std::string& message) {
    std::unique_ptr<BIO, BioFree> in(
        BIO_new_mem_buf(message.data(), static_cast<int>(message.size())));
    std::unique_ptr<CMS_ContentInfo, CmsFree> enveloped(SMIME_read_CMS(in.get(), nullptr));
    EXPECT_TRUE(enveloped) << "not S/MIME";
    if (!enveloped) {
      return {};
    }
    std::unique_ptr<BIO, BioFree> signed_out(BIO_new(BIO_s_mem()));
    BIO_set_mem_eof_return(signed_out.get(), 0);  // end of data is the end, not "retry"
    EXPECT_EQ(CMS_decrypt(enveloped.get(), recipient_.key.get(), recipient_.cert.get(), nullptr,
                          signed_out.get(), CMS_BINARY),
              1);
    std::unique_ptr<CMS_ContentInfo, CmsFree> signed_data(
        SMIME_read_CMS(signed_out.get(), nullptr));
    EXPECT_TRUE(signed_data) << "decrypted part is not S/MIME signed data";
    if (!signed_data) {
      return {};
    }
    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    X509_STORE_add_cert(store.get(), signer_.cert.get());
    std::unique_ptr<BIO, BioFree> content(BIO_new(BIO_s_mem()));
    EXPECT_EQ(CMS_verify(signed_data.get(), nullptr, store.get(), nullptr, content.get(),
                         CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY),
              1);
    char* data = nullptr;
    const long size = BIO_get_mem_data(content.get(), &data);
    return std::string(data, static_cast<std::size_t>(size));
  }

  test::TempDir dir_;
  EmailSettings settings_;
  Identity signer_;
  Identity recipient_;
  const Deadline deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(30);
};

TEST_F(EmailChannelTest, RefusesPhiWithoutCertificateOrConsentAndWritesNothing) {
  EmailOutbound email = make();
  const Result<DeliveryReceipt> r = email.channel->deliver(phiMessage(), deadline_);
  EXPECT_EQ(r.status().code(), StatusCode::FailedPrecondition);
  EXPECT_EQ(r.status().message().find("example.invalid"), std::string::npos);
  EXPECT_TRUE(pickupFiles().empty());
}

TEST_F(EmailChannelTest, WritesConsentedPlainPhiToPickupWithGenericSubject) {
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.plain_email_consented = true;
  const Result<DeliveryReceipt> r = email.channel->deliver(m, deadline_);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->method, "pickup");
  const std::vector<fs::path> files = pickupFiles();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].extension(), ".eml");
  EXPECT_EQ(r->detail, files[0].filename().string());
  struct stat st {};
  ASSERT_EQ(::stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = test::readFile(files[0]);
  EXPECT_NE(text.find("Subject: " + settings_.phi_subject + "\r\n"), std::string::npos);
  EXPECT_EQ(text.find("potassium"), std::string::npos);  // neither subject nor body in clear
  EXPECT_NE(text.find("To: alexa.testpatient@example.invalid\r\n"), std::string::npos);
  EXPECT_NE(text.find("Message-ID: " + *email::messageId("pm-42", "gateway.invalid")),
            std::string::npos);
  EXPECT_NE(text.find("Date: Mon, 23 Nov 2026 14:05:09 +0000\r\n"), std::string::npos);
  EXPECT_NE(text.find(email::base64Lines(email::toCrlf(m.content.text))), std::string::npos);
  EXPECT_NE(text.find("multipart/alternative"), std::string::npos);
}

TEST_F(EmailChannelTest, RetryReplacesThePickupFile) {
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.plain_email_consented = true;
  ASSERT_TRUE(email.channel->deliver(m, deadline_).ok());
  m.attempt = 2;
  ASSERT_TRUE(email.channel->deliver(m, deadline_).ok());
  EXPECT_EQ(pickupFiles().size(), 1u);
  m.idempotency_key = "pm-43";
  ASSERT_TRUE(email.channel->deliver(m, deadline_).ok());
  EXPECT_EQ(pickupFiles().size(), 2u);
}

TEST_F(EmailChannelTest, MessageWithoutPhiKeepsItsSubjectAndNeedsNoConsent) {
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.contains_phi = false;
  m.content.subject = "Clinic opening hours";
  ASSERT_TRUE(email.channel->deliver(m, deadline_).ok());
  const std::string text = test::readFile(pickupFiles().at(0));
  EXPECT_NE(text.find("Subject: Clinic opening hours\r\n"), std::string::npos);
}

TEST_F(EmailChannelTest, RejectsBadRecipientsAndKeys) {
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.plain_email_consented = true;
  m.content.email = "";
  EXPECT_EQ(email.channel->deliver(m, deadline_).status().code(), StatusCode::NotFound);
  m.content.email = "alexa@example.invalid\r\nBcc: someone@example.invalid";
  const Status bad = email.channel->deliver(m, deadline_).status();
  EXPECT_EQ(bad.code(), StatusCode::InvalidArgument);
  EXPECT_EQ(bad.message().find("alexa"), std::string::npos);
  m.content.email = "alexa@example.invalid";
  m.idempotency_key = "";
  EXPECT_EQ(email.channel->deliver(m, deadline_).status().code(), StatusCode::InvalidArgument);
  m.idempotency_key = "k";
  m.content.text.clear();
  m.content.html.clear();
  EXPECT_EQ(email.channel->deliver(m, deadline_).status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(pickupFiles().empty());
}

TEST_F(EmailChannelTest, SignsAndEncryptsWhenTheRecipientCertificateIsKnown) {
  enableSmime();
  EmailOutbound email = make();
  const OutboundMessage m = phiMessage();  // no consent needed for S/MIME
  const Result<DeliveryReceipt> r = email.channel->deliver(m, deadline_);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->method, "smime");
  const std::string text = test::readFile(pickupFiles().at(0));
  EXPECT_NE(text.find("smime-type=enveloped-data"), std::string::npos);
  EXPECT_EQ(text.find("potassium"), std::string::npos);
  EXPECT_EQ(text.find(email::base64Lines(email::toCrlf(m.content.text))), std::string::npos);
  const std::string inner = decryptAndVerify(text);
  EXPECT_NE(inner.find("multipart/alternative"), std::string::npos);
  EXPECT_NE(inner.find(email::base64Lines(email::toCrlf(m.content.text))), std::string::npos);
}

TEST_F(EmailChannelTest, AesGcmUsesAuthEnvelopedData) {
  enableSmime();
  settings_.smime.cipher = "aes-256-gcm";
  EmailOutbound email = make();
  const OutboundMessage m = phiMessage();
  ASSERT_TRUE(email.channel->deliver(m, deadline_).ok());
  const std::string text = test::readFile(pickupFiles().at(0));
  EXPECT_NE(text.find("smime-type=authEnveloped-data"), std::string::npos);
  EXPECT_NE(decryptAndVerify(text).find(email::base64Lines(email::toCrlf(m.content.text))),
            std::string::npos);
}

TEST_F(EmailChannelTest, RecipientWithoutCertificateNeedsConsentEvenWithSmime) {
  enableSmime();
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.content.email = "other.testpatient@example.invalid";
  EXPECT_EQ(email.channel->deliver(m, deadline_).status().code(), StatusCode::FailedPrecondition);
  m.plain_email_consented = true;
  const Result<DeliveryReceipt> r = email.channel->deliver(m, deadline_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "pickup");
}

TEST_F(EmailChannelTest, UnusableRecipientCertificateNeverFallsBackToPlainEmail) {
  enableSmime();
  test::writeFile(
      fs::path(settings_.smime.certificate_directory) / "alexa.testpatient@example.invalid.pem",
      "not a certificate\n");
  EmailOutbound email = make();
  OutboundMessage m = phiMessage();
  m.plain_email_consented = true;
  EXPECT_EQ(email.channel->deliver(m, deadline_).status().code(), StatusCode::FailedPrecondition);
  EXPECT_TRUE(pickupFiles().empty());
}

TEST_F(EmailChannelTest, SmimeRefusesAWorldReadableSigningKey) {
  enableSmime();
  ::chmod(settings_.smime.signing_key.c_str(), 0644);
  EXPECT_EQ(makeEmailOutbound(settings_, nullptr).status().code(), StatusCode::PermissionDenied);
}

TEST_F(EmailChannelTest, PassesTransportErrorsThrough) {
  auto transport = std::make_shared<RecordingTransport>();
  EmailChannel channel(settings_, transport, nullptr, std::make_shared<FixedClock>());
  OutboundMessage m = phiMessage();
  m.plain_email_consented = true;
  transport->answer = Status::failedPrecondition("the SMTP server does not offer STARTTLS");
  EXPECT_EQ(channel.deliver(m, deadline_).status().code(), StatusCode::FailedPrecondition);
  transport->answer = Status::unavailable("down");
  EXPECT_EQ(channel.deliver(m, deadline_).status().code(), StatusCode::Unavailable);
  transport->answer = Status::ok();
  const Result<DeliveryReceipt> r = channel.deliver(m, deadline_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "verified_tls");
  EXPECT_EQ(r->detail, "250 2.0.0");
  ASSERT_EQ(transport->sent.size(), 3u);
  EXPECT_EQ(transport->sent[0].to, "alexa.testpatient@example.invalid");
  EXPECT_EQ(transport->sent[0].from, "no-reply@gateway.invalid");
}

TEST_F(EmailChannelTest, NotifierSendsItsSubjectAndText) {
  EmailOutbound email = make();
  Notification n;
  n.to = "alexa.testpatient@example.invalid";
  n.subject = "Nuevo mensaje de Demo Hospital";
  n.text = "Tiene un mensaje nuevo: https://inbox.example.invalid/m/abc";
  n.language = "es";
  n.idempotency_key = "inbox-notify:42";
  ASSERT_TRUE(email.notifier->notify(n, deadline_).isOk());
  const std::string text = test::readFile(pickupFiles().at(0));
  EXPECT_NE(text.find("Subject: Nuevo mensaje de Demo Hospital\r\n"), std::string::npos);
  EXPECT_NE(text.find("Content-Language: es\r\n"), std::string::npos);
  EXPECT_NE(text.find(email::base64Lines(n.text)), std::string::npos);
  n.to = "bad";
  EXPECT_EQ(email.notifier->notify(n, deadline_).code(), StatusCode::InvalidArgument);
  n.to = "alexa.testpatient@example.invalid";
  n.text.clear();
  EXPECT_EQ(email.notifier->notify(n, deadline_).code(), StatusCode::InvalidArgument);
}

}  // namespace
}  // namespace gw
