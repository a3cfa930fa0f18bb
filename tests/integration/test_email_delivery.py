# SPDX-License-Identifier: Apache-2.0
"""The email channel against a real SMTP server (Debian's python3-aiosmtpd) started by the test,
with STARTTLS and a test CA made by the test. Delivered mail is parsed with Python's email
module; S/MIME mail is decrypted and verified with `openssl cms`; servers that offer no
STARTTLS or present a certificate that does not verify receive no PHI (checked on the bytes the
gateway put on the wire)."""
import email
import email.policy
import os
import shutil
import subprocess
import tempfile
import unittest

from test_email_support import (PHI_MARKERS, Pki, SmtpServer, phi_message, run_driver)


class EmailDeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gw-email-")
        cls.pki = Pki(cls.dir)
        cls.server_cert = cls.pki.server("smtp-server")
        cls.wrong_host_cert = cls.pki.server("other-host", san="DNS:other.example.invalid")
        cls.untrusted = Pki(cls.dir, name="untrusted-ca")
        cls.untrusted_cert = cls.untrusted.server("untrusted-server")
        cls.signer = cls.pki.smime("gateway-signing", "no-reply@gateway.invalid")
        cls.recipient = cls.pki.smime("alexa-smime", "alexa.testpatient@example.invalid")
        cls.certs = os.path.join(cls.dir, "recipient-certs")
        os.mkdir(cls.certs)
        shutil.copy(cls.recipient[0], os.path.join(cls.certs, "alexa.testpatient@example.invalid.pem"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.work = tempfile.mkdtemp(dir=self.dir)
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.close()

    def start(self, tls=None, **kwargs):
        server = SmtpServer(tls=tls, **kwargs)
        self.servers.append(server)
        return server

    def settings(self, server, smime=False, cipher="aes-256-cbc", **smtp):
        settings = {"email": {
            "transport": "smtp", "from": "no-reply@gateway.invalid",
            "smtp": {"host": "127.0.0.1", "port": server.port, "ca": self.pki.ca_cert,
                     "timeout_ms": 10000, **smtp}}}
        if smime:
            settings["email"]["smime"] = {
                "certificate_directory": self.certs, "signing_certificate": self.signer[0],
                "signing_key": self.signer[1], "cipher": cipher}
        return settings

    def assert_no_phi(self, wire):
        for marker in PHI_MARKERS:
            self.assertNotIn(marker, wire)
        for command in (b"MAIL FROM", b"RCPT TO", b"DATA"):
            self.assertNotIn(command, wire)

    # -- verified TLS ------------------------------------------------------------------------

    def test_consented_plain_email_over_verified_starttls(self):
        server = self.start(tls=self.server_cert)
        message = phi_message("pm-plain-1", consented=True)
        results, _ = run_driver(self.work, self.settings(server), [message])
        self.assertEqual(results[0][:2], ["ok", "verified_tls"], results)
        self.assertEqual(results[0][2], "250 2.0.0")
        delivered = server.messages
        self.assertEqual(len(delivered), 1)
        mail_from, rcpt_tos, raw = delivered[0]
        self.assertEqual(mail_from, "no-reply@gateway.invalid")
        self.assertEqual(rcpt_tos, ["alexa.testpatient@example.invalid"])
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(parsed["Subject"], "You have a new secure message")
        self.assertEqual(parsed["To"], "alexa.testpatient@example.invalid")
        self.assertRegex(parsed["Message-ID"], r"^<[0-9a-f]{32}@gateway\.invalid>$")
        self.assertIsNotNone(parsed["Date"])
        self.assertEqual(parsed.get_content_type(), "multipart/alternative")
        text = parsed.get_body(preferencelist=("plain",)).get_content()
        self.assertEqual(text.replace("\r\n", "\n"), message["content"]["text"])
        html = parsed.get_body(preferencelist=("html",)).get_content()
        self.assertIn("4.1 mmol/L", html)
        # Nothing readable on the wire: STARTTLS came before any PHI.
        wire = server.relay.wire()
        self.assertIn(b"STARTTLS", wire)
        self.assert_no_phi(wire)

    def test_same_idempotency_key_gives_the_same_message_id(self):
        server = self.start(tls=self.server_cert)
        message = phi_message("pm-retry", consented=True)
        results, _ = run_driver(self.work, self.settings(server), [message, message])
        self.assertEqual([r[0] for r in results], ["ok", "ok"])
        ids = [email.message_from_bytes(m[2])["Message-ID"] for m in server.messages]
        self.assertEqual(len(set(ids)), 1)

    def test_connection_is_reused_for_many_messages(self):
        server = self.start(tls=self.server_cert)
        items = [phi_message(f"pm-reuse-{i}", consented=True) for i in range(10)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual([r[0] for r in results], ["ok"] * 10, results)
        self.assertEqual(len(server.messages), 10)
        self.assertEqual(server.relay.connections, 1)
        self.assertEqual(connections, 1)

    def test_pool_opens_at_most_one_connection_per_concurrent_sender(self):
        server = self.start(tls=self.server_cert)
        items = [phi_message(f"pm-pool-{i}", consented=True) for i in range(40)]
        results, connections = run_driver(self.work, self.settings(server, pool_size=4), items,
                                          threads=4)
        self.assertEqual([r[0] for r in results], ["ok"] * 40, results)
        self.assertEqual(len(server.messages), 40)
        self.assertLessEqual(server.relay.connections, 4)
        self.assertEqual(connections, server.relay.connections)

    def test_idle_connection_closed_by_the_server_is_replaced(self):
        server = self.start(tls=self.server_cert)
        server.handler.close_after.add("closer@example.invalid")
        items = [phi_message("pm-idle-1", email="closer@example.invalid", consented=True),
                 {"pause_ms": 500},
                 phi_message("pm-idle-2", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual([r[0] for r in results], ["ok", "ok", "ok"], results)
        self.assertEqual(len(server.messages), 2)
        self.assertEqual(connections, 2)
        self.assertEqual(server.relay.connections, 2)

    def test_connection_lost_during_data_is_retryable_and_not_reused(self):
        server = self.start(tls=self.server_cert)
        server.handler.abort_in_data.add("dropped@example.invalid")
        items = [phi_message("pm-drop", email="dropped@example.invalid", consented=True),
                 phi_message("pm-after-drop", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual(results[0][:2], ["error", "unavailable"], results)
        self.assertEqual(results[1][0], "ok", results)
        self.assertEqual(connections, 2)

    def test_notification_is_sent(self):
        server = self.start(tls=self.server_cert)
        note = {"notification": {
            "to": "alexa.testpatient@example.invalid", "subject": "Nuevo mensaje de Demo Hospital",
            "text": "Tiene un mensaje nuevo. Ábralo aquí: https://inbox.example.invalid/m/abc",
            "html": "<p>Tiene un mensaje nuevo.</p>", "language": "es",
            "idempotency_key": "inbox-notify:1"}}
        results, _ = run_driver(self.work, self.settings(server), [note])
        self.assertEqual(results[0][0], "ok", results)
        parsed = email.message_from_bytes(server.messages[0][2], policy=email.policy.default)
        self.assertEqual(parsed["Subject"], "Nuevo mensaje de Demo Hospital")
        self.assertEqual(parsed["Content-Language"], "es")
        self.assertIn("Ábralo aquí", parsed.get_body(preferencelist=("plain",)).get_content())

    def test_smtp_auth_after_starttls(self):
        seen = []

        def auth_callback(mechanism, login, password):
            seen.append((mechanism, login, password))
            return login == b"gateway" and password == b"s3cret-test-password"

        server = self.start(tls=self.server_cert, auth_callback=auth_callback)
        password_file = os.path.join(self.work, "smtp-password")
        with open(password_file, "w") as f:
            f.write("s3cret-test-password\n")
        os.chmod(password_file, 0o600)
        message = phi_message("pm-auth", consented=True)
        results, _ = run_driver(self.work, self.settings(
            server, username="gateway", password_file=password_file), [message])
        self.assertEqual(results[0][0], "ok", results)
        self.assertEqual(seen[0][1:], (b"gateway", b"s3cret-test-password"))
        self.assertNotIn(b"s3cret", server.relay.wire())
        # A wrong password is refused permanently and nothing is sent.
        with open(password_file, "w") as f:
            f.write("wrong-password\n")
        results, _ = run_driver(self.work, self.settings(
            server, username="gateway", password_file=password_file), [message])
        self.assertEqual(results[0][:2], ["error", "permission_denied"], results)
        self.assertEqual(len(server.messages), 1)

    def test_recipient_refusals_are_classified(self):
        server = self.start(tls=self.server_cert)
        server.handler.rcpt_answers["gone@example.invalid"] = "550 5.1.1 <gone@example.invalid> unknown"
        server.handler.rcpt_answers["busy@example.invalid"] = "450 4.2.1 <busy@example.invalid> try later"
        items = [phi_message("pm-gone", email="gone@example.invalid", consented=True),
                 phi_message("pm-busy", email="busy@example.invalid", consented=True),
                 phi_message("pm-fine", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual(results[0][:2], ["error", "invalid_argument"], results)
        self.assertIn("550 5.1.1", results[0][2])
        self.assertNotIn("gone@", results[0][2])  # the reply text quotes the address: dropped
        self.assertEqual(results[1][:2], ["error", "unavailable"], results)
        self.assertEqual(results[2][0], "ok", results)
        self.assertEqual(len(server.messages), 1)
        self.assertEqual(connections, 1)  # a refused recipient does not cost the connection

    def test_message_refusals_are_classified(self):
        server = self.start(tls=self.server_cert)
        server.handler.data_answers["spam@example.invalid"] = "554 5.7.1 rejected as spam"
        server.handler.data_answers["full@example.invalid"] = "452 4.3.1 insufficient storage"
        items = [phi_message("pm-554", email="spam@example.invalid", consented=True),
                 phi_message("pm-452", email="full@example.invalid", consented=True),
                 phi_message("pm-ok", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual([r[:2] for r in results],
                         [["error", "invalid_argument"], ["error", "unavailable"],
                          ["ok", "verified_tls"]], results)
        self.assertIn("554 5.7.1", results[0][2])
        self.assertEqual(connections, 1)

    def test_host_name_is_verified_against_dns_names(self):
        # smtp.host "localhost": the certificate's DNS name is checked (not an IP address).
        server = self.start(tls=self.server_cert)
        settings = self.settings(server)
        settings["email"]["smtp"]["host"] = "localhost"
        results, _ = run_driver(self.work, settings, [phi_message("pm-dns", consented=True)])
        self.assertEqual(results[0][:2], ["ok", "verified_tls"], results)
        ip_only = self.start(tls=self.pki.server("ip-only", san="IP:127.0.0.1"))
        settings = self.settings(ip_only)
        settings["email"]["smtp"]["host"] = "localhost"
        results, _ = run_driver(self.work, settings, [phi_message("pm-dns-2", consented=True)])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assert_no_phi(ip_only.relay.wire())

    def test_pipelined_transactions(self):
        server = self.start(tls=self.server_cert)
        server.handler.pipelining = True
        server.handler.rcpt_answers["gone@example.invalid"] = "550 5.1.1 <gone@example.invalid> unknown"
        items = [phi_message("pm-pipe-1", consented=True),
                 phi_message("pm-pipe-gone", email="gone@example.invalid", consented=True),
                 phi_message("pm-pipe-2", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertIn("PIPELINING", server.handler.ehlo_extensions)
        self.assertEqual([r[:2] for r in results],
                         [["ok", "verified_tls"], ["error", "invalid_argument"],
                          ["ok", "verified_tls"]], results)
        self.assertEqual(len(server.messages), 2)
        self.assertEqual(connections, 1)
        # The three envelope commands went out in one write, after STARTTLS (not in clear).
        wire = server.relay.wire()
        self.assert_no_phi(wire)
        text = server.messages[0][2]
        parsed = email.message_from_bytes(text, policy=email.policy.default)
        self.assertIn("potassium", parsed.get_body(preferencelist=("plain",)).get_content())

    def test_pipelined_idle_connection_closed_by_the_server_is_replaced(self):
        server = self.start(tls=self.server_cert)
        server.handler.pipelining = True
        server.handler.close_after.add("closer@example.invalid")
        items = [phi_message("pm-pidle-1", email="closer@example.invalid", consented=True),
                 {"pause_ms": 500},
                 phi_message("pm-pidle-2", consented=True)]
        results, connections = run_driver(self.work, self.settings(server), items)
        self.assertEqual([r[0] for r in results], ["ok", "ok", "ok"], results)
        self.assertEqual(len(server.messages), 2)
        self.assertEqual(connections, 2)

    # -- S/MIME ------------------------------------------------------------------------------

    def decrypt_and_verify(self, raw):
        path = os.path.join(self.work, "smime.eml")
        with open(path, "wb") as f:
            f.write(raw)
        inner = os.path.join(self.work, "inner.eml")
        content = os.path.join(self.work, "content.eml")
        subprocess.run(["openssl", "cms", "-decrypt", "-in", path, "-recip", self.recipient[0],
                        "-inkey", self.recipient[1], "-out", inner], check=True,
                       capture_output=True)
        verify = subprocess.run(["openssl", "cms", "-verify", "-in", inner, "-CAfile",
                                 self.pki.ca_cert, "-purpose", "smimesign", "-out", content],
                                capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        self.assertIn("Verification successful", verify.stderr)
        with open(content, "rb") as f:
            return email.message_from_bytes(f.read(), policy=email.policy.default)

    def check_smime(self, cipher, smime_type):
        server = self.start(tls=self.server_cert)
        message = phi_message(f"pm-smime-{cipher}")  # no consent needed with S/MIME
        results, _ = run_driver(self.work, self.settings(server, smime=True, cipher=cipher),
                                [message])
        self.assertEqual(results[0][:2], ["ok", "smime"], results)
        raw = server.messages[0][2]
        outer = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(outer.get_content_type(), "application/pkcs7-mime")
        self.assertEqual(outer.get_param("smime-type"), smime_type)
        self.assertEqual(outer["Subject"], "You have a new secure message")
        for marker in PHI_MARKERS[:3]:
            self.assertNotIn(marker, raw)
        inner = self.decrypt_and_verify(raw)
        text = inner.get_body(preferencelist=("plain",)).get_content()
        self.assertEqual(text.replace("\r\n", "\n"), message["content"]["text"])

    def test_smime_aes_cbc_decrypts_and_verifies_with_openssl(self):
        self.check_smime("aes-256-cbc", "enveloped-data")

    def test_smime_aes_gcm_decrypts_and_verifies_with_openssl(self):
        self.check_smime("aes-256-gcm", "authEnveloped-data")

    def test_smime_uses_rsa_oaep_key_transport(self):
        server = self.start(tls=self.server_cert)
        run_driver(self.work, self.settings(server, smime=True), [phi_message("pm-oaep")])
        raw = server.messages[0][2]
        outer = email.message_from_bytes(raw)
        der = os.path.join(self.work, "outer.der")
        with open(der, "wb") as f:
            f.write(outer.get_payload(decode=True))
        dump = subprocess.run(["openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", der],
                              capture_output=True, text=True, check=True).stdout
        self.assertIn("rsaesOaep", dump)
        self.assertIn("aes-256-cbc", dump)

    # -- nothing with PHI leaves ---------------------------------------------------------------

    def test_without_certificate_or_consent_nothing_is_sent(self):
        server = self.start(tls=self.server_cert)
        results, _ = run_driver(self.work, self.settings(server, smime=True),
                                [phi_message("pm-none", email="other.patient@example.invalid")])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assertEqual(server.relay.connections, 0)
        self.assertEqual(server.messages, [])

    def test_server_without_starttls_receives_no_phi(self):
        server = self.start(tls=None)
        results, _ = run_driver(self.work, self.settings(server),
                                [phi_message("pm-nostarttls", consented=True),
                                 {"notification": {"to": "alexa.testpatient@example.invalid",
                                                   "subject": "New message", "text": "Open it",
                                                   "idempotency_key": "n-1"}}])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assertIn("STARTTLS", results[0][2])
        self.assertEqual(results[1][:2], ["error", "failed_precondition"], results)
        wire = server.relay.wire()
        self.assertIn(b"EHLO", wire)
        self.assert_no_phi(wire)
        self.assertEqual(server.messages, [])

    def test_certificate_for_another_host_receives_no_phi(self):
        server = self.start(tls=self.wrong_host_cert)
        results, _ = run_driver(self.work, self.settings(server),
                                [phi_message("pm-wronghost", consented=True)])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assertIn("not verified", results[0][2])
        wire = server.relay.wire()
        self.assertIn(b"STARTTLS", wire)
        self.assert_no_phi(wire)
        self.assertEqual(server.messages, [])

    def test_untrusted_certificate_receives_no_phi(self):
        server = self.start(tls=self.untrusted_cert)
        results, _ = run_driver(self.work, self.settings(server),
                                [phi_message("pm-untrusted", consented=True)])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assert_no_phi(server.relay.wire())
        self.assertEqual(server.messages, [])

    def test_tls_minimum_version_is_enforced(self):
        # A server capped at TLS 1.2 is refused when the gateway requires 1.3.
        import ssl

        from test_email_support import server_context
        capped = server_context(*self.server_cert)
        capped.maximum_version = ssl.TLSVersion.TLSv1_2
        server = self.start_with_context(capped)
        results, _ = run_driver(self.work, self.settings(server, min_tls_version="1.3"),
                                [phi_message("pm-tls12", consented=True)])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assert_no_phi(server.relay.wire())
        results, _ = run_driver(self.work, self.settings(server, min_tls_version="1.2"),
                                [phi_message("pm-tls12b", consented=True)])
        self.assertEqual(results[0][0], "ok", results)

    def start_with_context(self, context):
        import test_email_support as support
        original = support.server_context
        support.server_context = lambda cert, key: context
        try:
            return self.start(tls=self.server_cert)
        finally:
            support.server_context = original

    def test_unreachable_server_is_retryable(self):
        server = self.start(tls=self.server_cert)
        port = server.port
        server.close()
        self.servers.remove(server)
        settings = self.settings(server)
        settings["email"]["smtp"]["port"] = port
        results, _ = run_driver(self.work, settings, [phi_message("pm-down", consented=True)])
        self.assertEqual(results[0][:2], ["error", "unavailable"], results)


class OutboundConfigTest(unittest.TestCase):
    """`gateway check-config` reads the outbound section and reports every error, positioned."""

    def test_check_config_reports_outbound_errors(self):
        gateway = os.environ.get("GW_BINARY")
        if not gateway:
            self.skipTest("GW_BINARY not set")
        with tempfile.TemporaryDirectory() as work:
            path = os.path.join(work, "gateway.json")
            with open(path, "w") as f:
                f.write('{"store": {"path": "gw.db"},\n'
                        ' "inbound": {"mllp": [{"name": "adt", "port": 0}]},\n'
                        ' "outbound": {\n'
                        '  "email": {"transport": "smtp", "smtp": {"pool_sise": 2}},\n'
                        '  "messaging_api": {"url": "http://msg.example.invalid/"}}}\n')
            proc = subprocess.run([gateway, "check-config", "--config", path],
                                  capture_output=True, text=True)
            self.assertEqual(proc.returncode, 78, proc.stdout + proc.stderr)
            out = proc.stdout + proc.stderr
            self.assertIn(f"{path}:4:", out)
            self.assertIn("pool_sise", out)
            self.assertIn("outbound.email.smtp.host\" is required", out)
            self.assertIn(f"{path}:5:", out)
            self.assertIn("https://", out)
            self.assertIn("secret_file", out)


if __name__ == "__main__":
    unittest.main()
