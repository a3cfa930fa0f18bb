# SPDX-License-Identifier: Apache-2.0
"""The messaging API channel against a local HTTPS server (http.server + ssl) started by the test
with a test CA: the HMAC signature is verified here, the Idempotency-Key header checked, and
2xx / 4xx / 5xx / timeout answers classified (receipt, dead letter, retry)."""
import hashlib
import hmac
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from test_email_support import PHI_MARKERS, Pki, Relay, phi_message, run_driver, server_context

SECRET = b"messaging-api-test-secret-0123456789"


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output clean (and free of bodies)
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        record = {"path": self.path, "headers": dict(self.headers), "body": body,
                  "signature_ok": hmac.compare_digest(self.headers.get("X-Signature", ""), expected)}
        server = self.server
        with server.lock:
            server.requests.append(record)
            status, delay = server.answers.get(self.headers.get("Idempotency-Key"), (202, 0))
        if delay:
            time.sleep(delay)
        if not record["signature_ok"]:
            status = 401
        answer = json.dumps({"status": status, "echo": "Alexa Testpatient"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # refused handshakes are what some tests expect


class HttpsServer:
    def __init__(self, cert, key):
        self.httpd = QuietServer(("127.0.0.1", 0), Recorder)
        self.httpd.daemon_threads = True
        self.httpd.lock = threading.Lock()
        self.httpd.requests = []
        self.httpd.answers = {}
        context = server_context(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.relay = Relay(self.port)

    @property
    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    def close(self):
        self.relay.close()
        self.httpd.shutdown()
        self.httpd.server_close()


class MessagingApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gw-msgapi-")
        cls.pki = Pki(cls.dir)
        cls.server_cert = cls.pki.server("api-server")
        cls.wrong_host_cert = cls.pki.server("api-other", san="DNS:other.example.invalid")
        cls.secret_file = os.path.join(cls.dir, "api-secret")
        with open(cls.secret_file, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(cls.secret_file, 0o600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.work = tempfile.mkdtemp(dir=self.dir)
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.close()

    def start(self, cert=None):
        server = HttpsServer(*(cert or self.server_cert))
        self.servers.append(server)
        return server

    def settings(self, server, timeout_ms=5000):
        return {"messaging_api": {"url": f"https://127.0.0.1:{server.relay.port}/v1/messages",
                                  "ca": self.pki.ca_cert, "secret_file": self.secret_file,
                                  "timeout_ms": timeout_ms}}

    def test_signed_post_with_idempotency_key(self):
        server = self.start()
        message = phi_message("pm-api-1")
        results, _ = run_driver(self.work, self.settings(server), [message])
        self.assertEqual(results[0], ["ok", "messaging_api", "HTTP 202"])
        request = server.requests[0]
        self.assertEqual(request["path"], "/v1/messages")
        self.assertTrue(request["signature_ok"], request["headers"])
        self.assertEqual(request["headers"]["Idempotency-Key"], "pm-api-1")
        self.assertTrue(request["headers"]["Content-Type"].startswith("application/json"))
        body = json.loads(request["body"])
        self.assertEqual(body["idempotency_key"], "pm-api-1")
        self.assertEqual(body["recipient"]["email"], "alexa.testpatient@example.invalid")
        self.assertEqual(body["text"], message["content"]["text"])
        self.assertEqual(body["quick_replies"], [{"id": "question", "label": "I have a question"}])
        for marker in PHI_MARKERS:  # TLS on the wire
            self.assertNotIn(marker, server.relay.wire())

    def test_retry_sends_the_same_idempotency_key_and_signature(self):
        server = self.start()
        message = phi_message("pm-api-retry")
        run_driver(self.work, self.settings(server), [message, message])
        keys = [r["headers"]["Idempotency-Key"] for r in server.requests]
        signatures = [r["headers"]["X-Signature"] for r in server.requests]
        self.assertEqual(keys, ["pm-api-retry", "pm-api-retry"])
        self.assertEqual(signatures[0], signatures[1])

    def test_answers_are_classified(self):
        server = self.start()
        server.httpd.answers.update({
            "pm-500": (500, 0), "pm-503": (503, 0), "pm-429": (429, 0), "pm-400": (400, 0),
            "pm-404": (404, 0), "pm-422": (422, 0), "pm-200": (200, 0)})
        keys = ["pm-500", "pm-503", "pm-429", "pm-400", "pm-404", "pm-422", "pm-200"]
        results, _ = run_driver(self.work, self.settings(server), [phi_message(k) for k in keys])
        codes = [r[1] for r in results]
        self.assertEqual(codes, ["unavailable", "unavailable", "unavailable", "invalid_argument",
                                 "invalid_argument", "invalid_argument", "messaging_api"], results)
        self.assertIn("HTTP 400", results[3][2])
        for result in results:  # the server's answer body is never echoed
            self.assertNotIn("Testpatient", "\t".join(result))

    def test_timeout_is_retryable(self):
        server = self.start()
        server.httpd.answers["pm-slow"] = (202, 3)
        started = time.monotonic()
        results, _ = run_driver(self.work, self.settings(server, timeout_ms=500),
                                [phi_message("pm-slow")])
        self.assertEqual(results[0][:2], ["error", "deadline_exceeded"], results)
        self.assertLess(time.monotonic() - started, 10)

    def test_server_down_is_retryable(self):
        server = self.start()
        settings = self.settings(server)
        server.close()
        self.servers.remove(server)
        results, _ = run_driver(self.work, settings, [phi_message("pm-down")])
        self.assertEqual(results[0][:2], ["error", "unavailable"], results)

    def test_certificate_for_another_host_gets_nothing(self):
        server = self.start(cert=self.wrong_host_cert)
        results, _ = run_driver(self.work, self.settings(server), [phi_message("pm-wrong-host")])
        self.assertEqual(results[0][:2], ["error", "failed_precondition"], results)
        self.assertEqual(server.requests, [])
        for marker in PHI_MARKERS:
            self.assertNotIn(marker, server.relay.wire())

    def test_wrong_secret_is_refused_by_the_platform(self):
        server = self.start()
        other_secret = os.path.join(self.work, "other-secret")
        with open(other_secret, "w") as f:
            f.write("not-the-shared-secret-at-all\n")
        os.chmod(other_secret, 0o600)
        settings = self.settings(server)
        settings["messaging_api"]["secret_file"] = other_secret
        results, _ = run_driver(self.work, settings, [phi_message("pm-badsig")])
        self.assertEqual(results[0][:2], ["error", "invalid_argument"], results)
        self.assertFalse(server.requests[0]["signature_ok"])


if __name__ == "__main__":
    unittest.main()
