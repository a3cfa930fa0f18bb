# SPDX-License-Identifier: Apache-2.0
"""MLLP over TLS end to end: the gateway's listener and `gateway mllp-send --tls` with
certificates made by the test (OpenSSL command line)."""
import os
import ssl
import subprocess
import unittest

from gwtest import GatewayTestCase, frame, hl7_message, list_messages, parse_ack, run_cli


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory):
    """A CA, a server certificate for 127.0.0.1/localhost, and a client certificate."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Test CA", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    with open(os.path.join(directory, "wronghost.ext"), "w") as f:
        f.write("subjectAltName=DNS:elsewhere.example.invalid\n")
    for name, subject, ext in (("server", "/CN=localhost", ["-extfile", "server.ext"]),
                               ("wronghost", "/CN=elsewhere.example.invalid",
                                ["-extfile", "wronghost.ext"]),
                               ("client", "/CN=ehr-test/O=Synthetic Hospital", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", subject, cwd=directory)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext, cwd=directory)
    for key in ("ca.key", "server.key", "client.key", "wronghost.key"):
        os.chmod(os.path.join(directory, key), 0o600)
    # A second CA that signed nothing the gateway trusts.
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out",
            "other.pem", "-days", "2", "-subj", "/CN=Other CA", cwd=directory)


class MllpTlsTest(GatewayTestCase):
    def start_tls_gateway(self, mutual=False, subjects=None, server="server"):
        make_pki(self.dir)
        tls = {"enabled": True, "certificate": os.path.join(self.dir, f"{server}.pem"),
               "private_key": os.path.join(self.dir, f"{server}.key")}
        if mutual:
            tls.update({"ca": os.path.join(self.dir, "ca.pem"), "require_client_certificate": True,
                        "allowed_client_subjects": subjects or []})
        return self.start_gateway(listener_overrides={"tls": tls})

    def sample(self, control_id):
        path = os.path.join(self.dir, f"{control_id}.hl7")
        with open(path, "wb") as f:
            f.write(hl7_message(control_id))
        return path

    def test_mllp_send_over_verified_tls(self):
        gw = self.start_tls_gateway()
        out = run_cli("mllp-send", "--tls", "--ca", os.path.join(self.dir, "ca.pem"), "--port",
                      str(gw.port), self.sample("TLS-1"))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().strip(), "TLS-1\tAA")
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["TLS-1"])

    def test_mllp_send_refuses_a_server_it_cannot_verify(self):
        gw = self.start_tls_gateway()
        out = run_cli("mllp-send", "--tls", "--ca", os.path.join(self.dir, "other.pem"), "--port",
                      str(gw.port), self.sample("TLS-2"))
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertEqual(list_messages(self.config_path), [])

    def test_mllp_send_refuses_a_certificate_for_another_host(self):
        gw = self.start_tls_gateway(server="wronghost")
        out = run_cli("mllp-send", "--tls", "--ca", os.path.join(self.dir, "ca.pem"), "--port",
                      str(gw.port), self.sample("TLS-4"))
        self.assertEqual(out.returncode, 2, out.stdout)
        self.assertEqual(list_messages(self.config_path), [])

    def test_python_ssl_client_gets_aa_and_plain_tcp_is_refused(self):
        gw = self.start_tls_gateway()
        context = ssl.create_default_context(cafile=os.path.join(self.dir, "ca.pem"))
        import socket
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(frame(hl7_message("TLS-3")))
                ack = b""
                while not ack.endswith(b"\x1c\r"):
                    ack += tls.recv(4096)
        self.assertEqual(parse_ack(ack)["msa1"], "AA")
        with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as plain:
            plain.sendall(frame(hl7_message("PLAIN-1")))
            try:
                reply = plain.recv(4096)
            except ConnectionResetError:
                reply = b""
            self.assertNotIn(b"MSA|AA", reply)
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["TLS-3"])

    def test_mutual_tls_with_allowed_client_certificate(self):
        gw = self.start_tls_gateway(mutual=True, subjects=["ehr-test"])
        ca = os.path.join(self.dir, "ca.pem")
        with_cert = run_cli("mllp-send", "--tls", "--ca", ca, "--cert",
                            os.path.join(self.dir, "client.pem"), "--key",
                            os.path.join(self.dir, "client.key"), "--port", str(gw.port),
                            self.sample("MTLS-1"))
        self.assertEqual(with_cert.returncode, 0, with_cert.stderr)
        without = run_cli("mllp-send", "--tls", "--ca", ca, "--port", str(gw.port),
                          self.sample("MTLS-2"))
        self.assertNotEqual(without.returncode, 0)
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["MTLS-1"])

    def test_mutual_tls_refuses_a_subject_not_on_the_allow_list(self):
        gw = self.start_tls_gateway(mutual=True, subjects=["someone-else"])
        out = run_cli("mllp-send", "--tls", "--ca", os.path.join(self.dir, "ca.pem"), "--cert",
                      os.path.join(self.dir, "client.pem"), "--key",
                      os.path.join(self.dir, "client.key"), "--port", str(gw.port),
                      self.sample("MTLS-3"))
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(list_messages(self.config_path), [])


if __name__ == "__main__":
    unittest.main()
