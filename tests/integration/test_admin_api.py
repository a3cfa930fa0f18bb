# SPDX-License-Identifier: Apache-2.0
"""The admin API (issue #7, operator access) against a real `gateway run`: the first admin made
with `gateway users add`, logins and lock-out, roles (a viewer never sees PHI, an operator with a
reason does), replay of a dead letter, audit verify over the API and `gateway audit verify`
afterwards, every call in the audit trail."""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from gwtest import GATEWAY, SOURCE_DIR, midday_zone, to_cr, wait_until  # noqa: E402

PATIENT_FAMILY = "Testpatient"
PATIENT_GIVEN = "Alexa"
ADMIN_PASSWORD = "correct horse battery"
OPERATOR_PASSWORD = "operator pass phrase"
VIEWER_PASSWORD = "viewer pass phrase 1"


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args, input_text=None, timeout=120):
    return subprocess.run([GATEWAY, *args], capture_output=True, text=True, input=input_text,
                          timeout=timeout)


class Api:
    """JSON over HTTP with urllib; returns (status, parsed body, headers)."""

    def __init__(self, base):
        self.base = base

    def call(self, method, path, body=None, token=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes)
                                          else json.dumps(body).encode())
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw), dict(response.headers), raw
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw), dict(e.headers), raw

    def login(self, username, password):
        return self.call("POST", "login", {"username": username, "password": password})


class AdminApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gw-admin-")
        var = os.path.join(cls.dir, "var")
        cls.config = os.path.join(cls.dir, "gateway.json")
        config = {
            "logging": {"level": "information", "file": ""},
            "keys": {"key_file": os.path.join(var, "keys", "gateway.keys"),
                     "generate_if_missing": True},
            "audit": {"signing_key_file": os.path.join(var, "keys", "audit-signing.pem"),
                      "generate_if_missing": True, "origin": "admin.gateway.invalid/audit"},
            "store": {"path": os.path.join(var, "gateway.db")},
            "inbound": {"mllp": [{"name": "adt", "host": "127.0.0.1", "port": 0}]},
            # Mail to a port nobody listens on: the notification fails and, after one attempt,
            # the patient message is a dead letter for the replay test.
            "outbound": {
                "email": {"transport": "smtp", "from": "no-reply@gateway.invalid",
                          "smtp": {"host": "127.0.0.1", "port": closed_port(),
                                   "pool_size": 1, "timeout_ms": 2000}},
                "secure_inbox": {"base_url": "", "secure_cookies": False},
            },
            "delivery": {"max_attempts": 1, "attempt_timeout_ms": 3000},
            "web": {"host": "127.0.0.1", "port": 0, "allow_plain_http": True},
            "mappings": {"directory": os.path.join(SOURCE_DIR, "mappings"),
                         "pseudonym_key_file": os.path.join(var, "keys", "pseudonym.key"),
                         "facility_time_zone": midday_zone()},
            "admin": {"enabled": True, "max_failed_logins": 3, "lockout_seconds": 600,
                      "session_idle_seconds": 600, "session_max_seconds": 3600},
        }
        with open(cls.config, "w") as f:
            json.dump(config, f, indent=2)
        # The first admin, before the gateway runs (password on standard input).
        out = cli("users", "add", "--config", cls.config, "--username", "alice", "--role",
                  "admin", input_text=ADMIN_PASSWORD + "\n")
        assert out.returncode == 0, out.stderr
        cls.log = open(os.path.join(cls.dir, "gateway.log"), "ab")
        cls.proc = subprocess.Popen([GATEWAY, "run", "--config", cls.config],
                                    stdout=subprocess.PIPE, stderr=cls.log, text=True)
        cls.mllp_port = cls.admin_base = None
        deadline = time.monotonic() + 30
        while (cls.mllp_port is None or cls.admin_base is None) and time.monotonic() < deadline:
            line = cls.proc.stdout.readline()
            if not line:
                raise AssertionError("gateway exited at start: " + cls.read_log())
            if m := re.search(r'listener "adt" listening on 127\.0\.0\.1:(\d+)', line):
                cls.mllp_port = int(m.group(1))
            if m := re.search(r"admin API listening on ([\d.]+:\d+)(/\S*)", line):
                cls.admin_base = "http://" + m.group(1) + m.group(2)
        assert cls.mllp_port and cls.admin_base, "gateway did not report its listeners"
        cls.console = []
        cls.reader = threading.Thread(target=lambda: cls.console.extend(cls.proc.stdout),
                                      daemon=True)
        cls.reader.start()
        cls.api = Api(cls.admin_base)

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.terminate()
        rc = cls.proc.wait(timeout=60)
        cls.reader.join(timeout=10)
        cls.proc.stdout.close()
        cls.log.close()
        log = cls.read_log()
        shutil.rmtree(cls.dir, ignore_errors=True)
        assert rc == 0, "gateway did not stop cleanly: " + log[-3000:]
        assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-3000:]

    @classmethod
    def read_log(cls):
        with open(os.path.join(cls.dir, "gateway.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send_sample(self, control_id):
        with open(os.path.join(SOURCE_DIR, "samples", "hl7", "adt_a03_discharge.hl7"), "rb") as f:
            message = to_cr(f.read()).replace(b"SIM-A03-0001", control_id.encode())
        path = os.path.join(self.dir, control_id + ".hl7")
        with open(path, "wb") as f:
            f.write(message)
        out = subprocess.run(["mllp_send", "--loose", "--file", path, "--port",
                              str(self.mllp_port), "127.0.0.1"], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("MSA|AA", out.stdout.replace("\r", "\n"))

    def admin_token(self):
        status, body, _, _ = self.api.login("alice", ADMIN_PASSWORD)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["role"], "admin")
        return body["token"]

    def make_user(self, token, username, role, password):
        status, body, _, _ = self.api.call("POST", "users", {"username": username, "role": role,
                                                            "password": password}, token=token)
        self.assertIn(status, (201, 409), body)

    def audit_rows(self):
        out = cli("audit", "export", "--format", "fhir", "--config", self.config)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_0_users_add_and_config_errors(self):
        # Weak or mistyped passwords and taken names are refused; nothing is created.
        out = cli("users", "add", "--config", self.config, "--username", "bob", "--role",
                  "viewer", input_text="short\n")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertIn("at least 12 characters", out.stderr)
        self.assertNotIn("short", out.stderr.replace("too short", ""))
        out = cli("users", "add", "--config", self.config, "--username", "alice", "--role",
                  "admin", input_text="another long password\n")
        self.assertEqual(out.returncode, 4, out.stderr)
        out = cli("users", "add", "--config", self.config, "--username", "bad name",
                  input_text="another long password\n")
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertEqual(self.api.login("bob", "short")[0], 401)
        # The API on a plain-HTTP web server off loopback is a config error (exit 78).
        with open(self.config) as f:
            config = json.load(f)
        config["web"] = {"host": "0.0.0.0", "port": 0, "allow_plain_http": True}
        config["admin"]["max_failed_logins"] = 0
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            json.dump(config, f, indent=2)
        out = cli("check-config", "--config", bad)
        self.assertEqual(out.returncode, 78, out.stdout + out.stderr)
        self.assertRegex(out.stderr, r"bad\.json:\d+:\d+: error: admin\.enabled needs TLS")
        self.assertRegex(out.stderr, r"bad\.json:\d+:\d+: error: \"admin\.max_failed_logins\"")

    def test_1_login_errors_and_lockout(self):
        status, body, headers, _ = self.api.login("alice", "wrong password here")
        self.assertEqual(status, 401)
        self.assertEqual(body, {"error": "invalid username or password"})
        self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
        # Unknown users get the very same answer.
        status, unknown, _, _ = self.api.login("nobody", "wrong password here")
        self.assertEqual((status, unknown), (401, body))
        # Bad input is 400 / 415, no session is 401.
        self.assertEqual(self.api.call("POST", "login", {"username": "alice"})[0], 400)
        self.assertEqual(self.api.call("POST", "login", b"username=alice",
                                       content_type="application/x-www-form-urlencoded")[0], 415)
        self.assertEqual(self.api.call("GET", "messages")[0], 401)
        self.assertEqual(self.api.call("GET", "messages", token="f" * 64)[0], 401)

        token = self.admin_token()
        self.make_user(token, "mallory", "viewer", "mallory pass phrase")
        for _ in range(3):
            self.assertEqual(self.api.login("mallory", "not her password")[0], 401)
        # Locked: the right password gets the same answer as a wrong one.
        status, locked, _, _ = self.api.login("mallory", "mallory pass phrase")
        self.assertEqual((status, locked), (401, body))
        status, users, _, _ = self.api.call("GET", "users", token=token)
        self.assertEqual(status, 200)
        mallory = [u for u in users["users"] if u["username"] == "mallory"][0]
        self.assertTrue(mallory["locked"])
        self.assertNotIn("password_hash", json.dumps(users))
        # An admin unlocks; she logs in again.
        status, _, _, _ = self.api.call("POST", "users/mallory", {"unlock": True}, token=token)
        self.assertEqual(status, 200)
        self.assertEqual(self.api.login("mallory", "mallory pass phrase")[0], 200)
        exported = self.audit_rows()
        self.assertIn("admin_locked_out", exported)
        self.assertIn("admin_login_failed", exported)

    def test_2_roles_phi_replay_and_audit(self):
        token = self.admin_token()
        self.make_user(token, "victor", "viewer", VIEWER_PASSWORD)
        self.make_user(token, "olga", "operator", OPERATOR_PASSWORD)
        status, body, _, _ = self.api.call("POST", "users", {"username": "weak", "role": "viewer",
                                                            "password": "short"}, token=token)
        self.assertEqual(status, 400, body)
        viewer = self.api.login("victor", VIEWER_PASSWORD)[1]["token"]
        operator = self.api.login("olga", OPERATOR_PASSWORD)[1]["token"]

        self.send_sample("ADMIN-API-0001")
        status, found, _, _ = self.api.call("GET", "messages?control_id=ADMIN-API-0001",
                                            token=viewer)
        self.assertEqual(status, 200, found)
        self.assertEqual(len(found["messages"]), 1)
        event_id = found["messages"][0]["id"]
        self.assertEqual(found["messages"][0]["message_type"], "ADT^A03")
        # Time range: today finds it, a range in the past does not.
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertEqual(len(self.api.call(
            "GET", f"messages?control_id=ADMIN-API-0001&from={today}", token=viewer)[1]
            ["messages"]), 1)
        self.assertEqual(self.api.call(
            "GET", "messages?control_id=ADMIN-API-0001&to=2000-01-01", token=viewer)[1]
            ["messages"], [])
        self.assertEqual(self.api.call("GET", "messages?from=yesterday", token=viewer)[0], 400)

        # The viewer sees metadata, never PHI.
        status, detail, _, raw = self.api.call("GET", f"messages/{event_id}", token=viewer)
        self.assertEqual(status, 200)
        self.assertNotIn(PATIENT_FAMILY.encode(), raw)
        status, denied, _, raw = self.api.call(
            "GET", f"messages/{event_id}/payload?reason=curious", token=viewer)
        self.assertEqual(status, 403, denied)
        self.assertNotIn(PATIENT_FAMILY.encode(), raw)
        # The operator needs a reason; with one, the message is shown (and audited).
        self.assertEqual(self.api.call("GET", f"messages/{event_id}/payload", token=operator)[0],
                         400)
        status, shown, headers, _ = self.api.call(
            "POST", f"messages/{event_id}/payload", {"reason": "ticket 4711"}, token=operator)
        self.assertEqual(status, 200, shown)
        self.assertIn(PATIENT_FAMILY + "^" + PATIENT_GIVEN, shown["payload"])
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(self.api.call("GET", "messages/999999/payload?reason=x",
                                       token=operator)[0], 404)

        # The notification cannot be mailed: one attempt, then a dead letter.
        def dead():
            status, out, _, _ = self.api.call("GET", f"outbox?event_id={event_id}&state=dead",
                                              token=viewer)
            return out["patient_messages"] if status == 200 else None
        dead_messages = wait_until(dead, "a dead letter", timeout=60)
        message_id = dead_messages[0]["id"]
        # What was to be sent: the viewer never sees it, the operator with a reason does.
        status, _, _, raw = self.api.call(
            "GET", f"outbox/{message_id}/content?reason=curious", token=viewer)
        self.assertEqual(status, 403)
        self.assertNotIn(PATIENT_GIVEN.encode(), raw)
        status, content, headers, _ = self.api.call(
            "POST", f"outbox/{message_id}/content", {"reason": "ticket 4713"}, token=operator)
        self.assertEqual(status, 200, content)
        self.assertIn(PATIENT_GIVEN, content["recipient_name"])
        self.assertTrue(content["text"])
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(self.api.call("POST", f"outbox/{message_id}/replay",
                                       {"reason": "smtp fixed"}, token=viewer)[0], 403)
        self.assertEqual(self.api.call("POST", f"outbox/{message_id}/replay", {},
                                       token=operator)[0], 400)
        status, replayed, _, _ = self.api.call("POST", f"outbox/{message_id}/replay",
                                               {"reason": "smtp fixed"}, token=operator)
        self.assertEqual(status, 200, replayed)
        # Not dead any more (pending, or already sending again): a second replay conflicts
        # unless it died again meanwhile.
        status, _, _, _ = self.api.call("POST", f"outbox/{message_id}/replay",
                                        {"reason": "again"}, token=operator)
        self.assertIn(status, (200, 409))

        self.assertEqual(self.api.call("GET", "work", token=viewer)[0], 200)
        # Admin-only calls.
        self.assertEqual(self.api.call("POST", "config/reload", {"reason": "x"},
                                       token=operator)[0], 403)
        status, reloaded, _, _ = self.api.call("POST", "config/reload",
                                               {"reason": "new mapping"}, token=token)
        self.assertEqual(status, 200, reloaded)
        self.assertEqual(self.api.call("GET", "users", token=operator)[0], 403)

        status, verified, _, _ = self.api.call("GET", "audit/verify", token=viewer)
        self.assertEqual(status, 200, verified)
        self.assertTrue(verified["ok"], verified)
        self.assertGreater(verified["records"], 10)

        # Logout ends the session.
        self.assertEqual(self.api.call("POST", "logout", token=viewer)[0], 200)
        self.assertEqual(self.api.call("GET", "messages", token=viewer)[0], 401)

        exported = self.audit_rows()
        self.assertIn("ticket 4711", exported)  # the view's reason
        self.assertIn("ticket 4713", exported)  # the patient message view's reason
        self.assertIn("smtp fixed", exported)   # the replay's reason
        for action in ("admin_login", "admin_search_messages", "admin_view_metadata",
                       "viewed_payload", "viewed_message", "replayed", "admin_audit_verify",
                       "admin_logout",
                       "config_reloaded", "admin_user_created"):
            self.assertIn(action, exported)
        self.assertIn("operator:olga", exported)

    def test_3_cli_audit_verify_and_no_phi_in_log(self):
        token = self.admin_token()
        self.assertEqual(self.api.call("GET", "audit/verify", token=token)[0], 200)
        out = cli("audit", "verify", "--config", self.config)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertTrue(out.stdout.startswith("ok: "), out.stdout)
        log = self.read_log()
        for secret in (PATIENT_FAMILY, "SYN000101", "19800214", ADMIN_PASSWORD, OPERATOR_PASSWORD):
            self.assertNotIn(secret, log)
            self.assertNotIn(secret, "".join(self.console))


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def curl_json(url, ca, cert=None, key=None, data=None, token=None):
    """(status, parsed body) of one HTTPS request with curl (server verified against `ca`)."""
    args = ["curl", "-sS", "--max-time", "60", "--cacert", ca, "-w", "\n%{http_code}"]
    if cert:
        args += ["--cert", cert, "--key", key]
    if token:
        args += ["-H", "Authorization: Bearer " + token]
    if data is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(data)]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError("curl failed: " + out.stderr)
    body, _, status = out.stdout.rpartition("\n")
    return int(status), json.loads(body)


class AdminApiTlsTest(unittest.TestCase):
    """The API over HTTPS on the web server, with client certificate login: a verified
    certificate whose CN names an account acts as that account."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gw-admin-tls-")
        d = self.dir
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.pem", "-days", "2", "-subj", "/CN=Test CA", cwd=d)
        with open(os.path.join(d, "server.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for name, subject, ext in (("server", "/CN=localhost", ["-extfile", "server.ext"]),
                                   ("olga", "/CN=olga/O=Synthetic Hospital", []),
                                   ("nobody", "/CN=nobody/O=Synthetic Hospital", [])):
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                    f"{name}.csr", "-subj", subject, cwd=d)
            openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                    "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext, cwd=d)
        for key in ("ca.key", "server.key", "olga.key", "nobody.key"):
            os.chmod(os.path.join(d, key), 0o600)
        self.config = os.path.join(d, "gateway.json")
        config = {
            "logging": {"level": "information", "file": ""},
            "keys": {"key_file": os.path.join(d, "keys", "gateway.keys"),
                     "generate_if_missing": True},
            "audit": {"signing_key_file": os.path.join(d, "keys", "audit-signing.pem")},
            "store": {"path": os.path.join(d, "gateway.db")},
            "inbound": {"mllp": [{"name": "adt", "host": "127.0.0.1", "port": 0}]},
            "web": {"host": "127.0.0.1", "port": 0,
                    "tls": {"enabled": True, "certificate": os.path.join(d, "server.pem"),
                            "private_key": os.path.join(d, "server.key"),
                            "ca": os.path.join(d, "ca.pem")}},
            "admin": {"enabled": True, "client_certificate_login": True},
        }
        with open(self.config, "w") as f:
            json.dump(config, f, indent=2)
        out = cli("users", "add", "--config", self.config, "--username", "olga", "--role",
                  "operator", input_text=OPERATOR_PASSWORD + "\n")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.log = open(os.path.join(d, "gateway.log"), "ab")
        self.proc = subprocess.Popen([GATEWAY, "run", "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.base = None
        deadline = time.monotonic() + 30
        while self.base is None and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                self.fail("gateway exited at start")
            if m := re.search(r"admin API listening on ([\d.]+:\d+)(/\S*)", line):
                self.base = "https://" + m.group(1) + m.group(2)
        self.assertIsNotNone(self.base)
        self.reader = threading.Thread(target=lambda: list(self.proc.stdout), daemon=True)
        self.reader.start()

    def tearDown(self):
        self.proc.terminate()
        self.assertEqual(self.proc.wait(timeout=60), 0)
        self.reader.join(timeout=10)
        self.proc.stdout.close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_client_certificate_and_password_login_over_tls(self):
        ca = os.path.join(self.dir, "ca.pem")
        cert = (os.path.join(self.dir, "olga.pem"), os.path.join(self.dir, "olga.key"))
        status, body = curl_json(self.base + "session", ca, *cert)
        self.assertEqual((status, body), (200, {"username": "olga", "role": "operator"}))
        status, _ = curl_json(self.base + "messages", ca, *cert)
        self.assertEqual(status, 200)
        # A certificate of the right CA whose CN has no account, and no certificate at all.
        status, _ = curl_json(self.base + "session", ca, os.path.join(self.dir, "nobody.pem"),
                              os.path.join(self.dir, "nobody.key"))
        self.assertEqual(status, 401)
        self.assertEqual(curl_json(self.base + "session", ca)[0], 401)
        # Password login over TLS, then the bearer token.
        status, login = curl_json(self.base + "login", ca,
                                  data={"username": "olga", "password": OPERATOR_PASSWORD})
        self.assertEqual(status, 200, login)
        self.assertEqual(curl_json(self.base + "session", ca, token=login["token"])[0], 200)


if __name__ == "__main__":
    unittest.main()
