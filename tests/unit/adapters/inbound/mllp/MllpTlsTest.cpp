// SPDX-License-Identifier: Apache-2.0
// MLLP over TLS, with a throwaway CA, server and client certificates made by the openssl CLI.
#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "adapters/inbound/mllp/MllpAdapter.h"
#include "tests/support/TestSupport.h"
#include "tests/unit/adapters/inbound/mllp/FakeSink.h"
#include "tests/unit/adapters/inbound/mllp/MllpTestClient.h"

namespace gw {
namespace {

using std::chrono::seconds;
using test::adtMessage;
using test::field;
using test::MllpTestClient;
using test::waitFor;

// Certificates shared by every test of the suite.
struct Pki {
  std::unique_ptr<test::TempDir> dir;
  std::string path(const std::string& name) const { return (dir->path() / name).string(); }
};

Pki* g_pki = nullptr;

void run(const std::string& command) {
  const std::string quiet = command + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(quiet.c_str()), 0) << command;
}

class MllpTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_pki = new Pki{std::make_unique<test::TempDir>()};
    const Pki& p = *g_pki;
    test::writeFile(p.dir->path() / "openssl.cnf",
                    "[req]\n"
                    "distinguished_name = dn\n"
                    "[dn]\n"
                    "[ca]\n"
                    "basicConstraints = critical,CA:TRUE\n"
                    "keyUsage = critical,keyCertSign,cRLSign\n"
                    "subjectKeyIdentifier = hash\n"
                    "[server]\n"
                    "basicConstraints = CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = serverAuth\n"
                    "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
                    "[client]\n"
                    "basicConstraints = CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    "extendedKeyUsage = clientAuth\n");
    const std::string cnf = p.path("openssl.cnf");
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const auto makeCa = [&](const std::string& name, const std::string& subject) {
      run("openssl req -x509 -config " + cnf + " -extensions ca" + ec + " -days 2 -subj '" +
          subject + "' -keyout " + p.path(name + ".key") + " -out " + p.path(name + ".pem"));
    };
    const auto makeLeaf = [&](const std::string& name, const std::string& subject,
                              const std::string& ca, const std::string& extensions) {
      run("openssl req -new -config " + cnf + ec + " -subj '" + subject + "' -keyout " +
          p.path(name + ".key") + " -out " + p.path(name + ".csr"));
      run("openssl x509 -req -in " + p.path(name + ".csr") + " -CA " + p.path(ca + ".pem") +
          " -CAkey " + p.path(ca + ".key") + " -CAcreateserial -days 2 -extfile " + cnf +
          " -extensions " + extensions + " -out " + p.path(name + ".pem"));
    };
    makeCa("ca", "/O=Test Hospital/CN=Test CA");
    makeCa("other-ca", "/O=Elsewhere/CN=Other CA");
    makeLeaf("server", "/O=Test Hospital/CN=localhost", "ca", "server");
    makeLeaf("client-a", "/O=Test Hospital/CN=ehr-a", "ca", "client");
    makeLeaf("client-b", "/O=Test Hospital/CN=ehr-b", "ca", "client");
    makeLeaf("client-x", "/O=Elsewhere/CN=ehr-a", "other-ca", "client");
    run("openssl pkey -in " + p.path("server.key") + " -aes256 -passout pass:secret -out " +
        p.path("encrypted.key"));
  }

  static void TearDownTestSuite() {
    delete g_pki;
    g_pki = nullptr;
  }

  ~MllpTlsTest() override {
    if (adapter_) {
      adapter_->stop();
    }
  }

  static std::string path(const std::string& name) { return g_pki->path(name); }

  static MllpSettings tlsSettings() {
    MllpSettings s;
    s.name = "tls";
    s.port = 0;
    s.tls.enabled = true;
    s.tls.certificate = path("server.pem");
    s.tls.private_key = path("server.key");
    return s;
  }

  static MllpSettings mutualTlsSettings() {
    MllpSettings s = tlsSettings();
    s.tls.ca = path("ca.pem");
    s.tls.require_client_certificate = true;
    s.tls.allowed_client_subjects = {"ehr-a"};
    return s;
  }

  void start(const MllpSettings& settings) {
    Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    adapter_ = std::move(made).value();
    const Status started = adapter_->start();
    ASSERT_TRUE(started.isOk()) << started.toString();
  }

  MllpStats stats() const { return dynamic_cast<const MllpAdapter&>(*adapter_).stats(); }

  // A client context trusting our CA, with an optional client certificate and a protocol range.
  static Poco::Net::Context::Ptr clientContext(const std::string& certificate = "",
                                               int min_version = TLS1_2_VERSION,
                                               int max_version = 0) {
    Poco::Net::Context::Params params;
    params.verificationMode = Poco::Net::Context::VERIFY_RELAXED;
    params.caLocation = path("ca.pem");
    params.cipherList = "DEFAULT:@SECLEVEL=0";  // lets the TLS 1.1 client offer its suites
    if (!certificate.empty()) {
      params.certificateFile = path(certificate + ".pem");
      params.privateKeyFile = path(certificate + ".key");
    }
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    SSL_CTX_set_security_level(context->sslContext(), 0);
    SSL_CTX_set_min_proto_version(context->sslContext(), min_version);
    SSL_CTX_set_max_proto_version(context->sslContext(), max_version);
    return context;
  }

  // Sends one message over TLS; the ACK code, or nullopt when the connection was refused.
  std::optional<std::string> exchange(const Poco::Net::Context::Ptr& context,
                                      const std::string& control_id) {
    try {
      MllpTestClient client(adapter_->boundAddress(), context);
      if (!client.sendFrame(adtMessage(control_id))) {
        return std::nullopt;
      }
      const std::optional<std::string> ack = client.readFrame(seconds(10));
      if (!ack) {
        return std::nullopt;
      }
      return field(*ack, "MSA", 1);
    } catch (const Poco::Exception&) {
      return std::nullopt;
    }
  }

  test::FakeSink sink_;
  InboundAdapterPtr adapter_;
};

TEST_F(MllpTlsTest, TlsClientGetsAa) {
  start(tlsSettings());
  EXPECT_EQ(exchange(clientContext(), "TLS1"), "AA");
  ASSERT_EQ(sink_.events().size(), 1U);
  EXPECT_EQ(sink_.events()[0].control_id, "TLS1");
}

TEST_F(MllpTlsTest, Tls11ClientIsRefused) {
  start(tlsSettings());
  EXPECT_EQ(exchange(clientContext("", TLS1_1_VERSION, TLS1_1_VERSION), "OLD1"), std::nullopt);
  EXPECT_TRUE(waitFor([&] { return stats().tls_handshake_failures == 1; }, seconds(10)));
  EXPECT_EQ(sink_.calls(), 0U);
  // The same client limited to TLS 1.2 is served.
  EXPECT_EQ(exchange(clientContext("", TLS1_2_VERSION, TLS1_2_VERSION), "NEW1"), "AA");
}

TEST_F(MllpTlsTest, MinVersion13RefusesTls12) {
  MllpSettings settings = tlsSettings();
  settings.tls.min_version = "1.3";
  start(settings);
  EXPECT_EQ(exchange(clientContext("", TLS1_2_VERSION, TLS1_2_VERSION), "V12"), std::nullopt);
  EXPECT_EQ(exchange(clientContext("", TLS1_3_VERSION, TLS1_3_VERSION), "V13"), "AA");
}

TEST_F(MllpTlsTest, PlainTcpClientOnTlsPortIsClosedAndServingContinues) {
  start(tlsSettings());
  {
    MllpTestClient plain(adapter_->boundAddress());
    plain.sendFrame(adtMessage("PLAIN1"));
    EXPECT_TRUE(plain.waitClosed(seconds(10)));
  }
  EXPECT_TRUE(waitFor([&] { return stats().tls_handshake_failures == 1; }, seconds(10)));
  EXPECT_EQ(sink_.calls(), 0U);
  EXPECT_EQ(exchange(clientContext(), "AFTER1"), "AA");
}

TEST_F(MllpTlsTest, SilentClientIsClosedAtThePartialFrameTimeout) {
  MllpSettings settings = tlsSettings();
  settings.partial_frame_timeout_seconds = 1;
  start(settings);
  MllpTestClient silent(adapter_->boundAddress());  // TCP only: the handshake never starts
  EXPECT_TRUE(silent.waitClosed(seconds(10)));
  EXPECT_TRUE(waitFor([&] { return stats().partial_frame_timeouts == 1; }, seconds(5)));
  EXPECT_EQ(stats().tls_handshake_failures, 0U);
}

TEST_F(MllpTlsTest, MutualTlsAllowedClientGetsAa) {
  start(mutualTlsSettings());
  EXPECT_EQ(exchange(clientContext("client-a"), "MTLS1"), "AA");
}

TEST_F(MllpTlsTest, MutualTlsAllowListAcceptsTheFullSubject) {
  MllpSettings settings = mutualTlsSettings();
  settings.tls.allowed_client_subjects = {"CN=ehr-b,O=Test Hospital"};
  start(settings);
  EXPECT_EQ(exchange(clientContext("client-b"), "FULL1"), "AA");
  EXPECT_EQ(exchange(clientContext("client-a"), "FULL2"), std::nullopt);
}

TEST_F(MllpTlsTest, MutualTlsClientNotInAllowListIsRefused) {
  start(mutualTlsSettings());
  EXPECT_EQ(exchange(clientContext("client-b"), "MTLS2"), std::nullopt);
  EXPECT_TRUE(waitFor([&] { return stats().client_certificates_rejected == 1; }, seconds(10)));
  EXPECT_EQ(sink_.calls(), 0U);
  EXPECT_EQ(exchange(clientContext("client-a"), "MTLS3"), "AA");  // still serving
}

TEST_F(MllpTlsTest, MutualTlsClientWithoutCertificateIsRefused) {
  start(mutualTlsSettings());
  EXPECT_EQ(exchange(clientContext(), "NOCERT"), std::nullopt);
  EXPECT_TRUE(waitFor([&] { return stats().tls_handshake_failures == 1; }, seconds(10)));
  EXPECT_EQ(sink_.calls(), 0U);
}

TEST_F(MllpTlsTest, MutualTlsCertificateFromAnotherCaIsRefused) {
  start(mutualTlsSettings());
  // Same CN as the allowed client, but signed by a CA we do not trust.
  EXPECT_EQ(exchange(clientContext("client-x"), "OTHERCA"), std::nullopt);
  EXPECT_TRUE(waitFor([&] { return stats().tls_handshake_failures == 1; }, seconds(10)));
  EXPECT_EQ(sink_.calls(), 0U);
}

TEST_F(MllpTlsTest, MissingCertificateIsAClearErrorAtConstruction) {
  MllpSettings settings = tlsSettings();
  settings.tls.certificate = path("nope.pem");
  const Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(made.status().message().find("tls.certificate \"" + path("nope.pem") + "\""),
            std::string::npos)
      << made.status().message();
}

TEST_F(MllpTlsTest, MismatchedPrivateKeyIsAClearError) {
  MllpSettings settings = tlsSettings();
  settings.tls.private_key = path("client-a.key");
  const Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("does not match tls.certificate"), std::string::npos)
      << made.status().message();
}

TEST_F(MllpTlsTest, EncryptedPrivateKeyIsAClearError) {
  MllpSettings settings = tlsSettings();
  settings.tls.private_key = path("encrypted.key");
  const Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("not an unencrypted PEM private key"), std::string::npos)
      << made.status().message();
}

TEST_F(MllpTlsTest, UnreadableCaIsAClearError) {
  MllpSettings settings = mutualTlsSettings();
  settings.tls.ca = path("missing-ca.pem");
  const Result<InboundAdapterPtr> made = makeMllpAdapter(settings, sink_);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.status().message().find("tls.ca"), std::string::npos) << made.status().message();
}

}  // namespace
}  // namespace gw
