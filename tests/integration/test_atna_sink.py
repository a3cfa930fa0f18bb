# SPDX-License-Identifier: Apache-2.0
"""The live IHE ATNA audit sink end to end: the gateway sends every audit record as an RFC 5424
syslog message carrying a DICOM AuditMessage, octet-counted (RFC 5425) over TLS, to a local TLS
syslog receiver started by the test (certificates made by the test's own CA)."""
import base64
import json
import os
import re
import socket
import ssl
import threading
import time
import unittest
import xml.etree.ElementTree as ET

from gwtest import GatewayTestCase, run_cli, to_cr, hl7_message
from test_mllp_tls import make_pki

HEADER = re.compile(rb"^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([!-~]{1,255}) "
                    rb"([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) - \xef\xbb\xbf", re.S)
# The synthetic patient of gwtest.hl7_message: none of it may reach the collector.
PHI = [b"Testpatient", b"Alexa", b"SYN000101", b"19800214"]


def wait_for(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class SyslogTlsReceiver:
    """A TLS syslog collector (RFC 5425): accepts connections on 127.0.0.1, splits each stream
    into octet-counted frames strictly (a bad frame is recorded as an error and closes the
    connection) and keeps every message."""

    def __init__(self, certfile, keyfile, port=0):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.context.load_cert_chain(certfile, keyfile)
        self.port = port
        self.lock = threading.Lock()
        self.messages = []
        self.errors = []
        self.handshake_failures = 0
        self.connections = 0
        self.sock = None
        self.threads = []
        self.open_conns = []
        self.stopped = threading.Event()

    def start(self):
        self.stopped.clear()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def _accept_loop(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, raw):
        raw.settimeout(10)
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.handshake_failures += 1
            raw.close()
            return
        with self.lock:
            self.open_conns.append(conn)
        conn.settimeout(0.1)
        buffer = b""
        try:
            while not self.stopped.is_set():
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                except (ssl.SSLError, OSError):
                    return
                if not chunk:
                    return
                buffer += chunk
                while True:
                    space = buffer.find(b" ")
                    if space < 0:
                        break
                    length_text = buffer[:space]
                    if not re.fullmatch(rb"[1-9][0-9]{0,8}", length_text):
                        with self.lock:
                            self.errors.append("bad MSG-LEN %r" % length_text[:20])
                        return
                    length = int(length_text)
                    if len(buffer) < space + 1 + length:
                        break
                    message = buffer[space + 1:space + 1 + length]
                    buffer = buffer[space + 1 + length:]
                    with self.lock:
                        self.messages.append(message)
        finally:
            with self.lock:
                if conn in self.open_conns:
                    self.open_conns.remove(conn)
            try:
                conn.close()
            except OSError:
                pass

    def stop(self):
        self.stopped.set()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        with self.lock:
            conns = list(self.open_conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(timeout=5)
        self.threads = []

    def snapshot(self):
        with self.lock:
            return list(self.messages)


def parse_message(testcase, message):
    """Checks the RFC 5424 header and returns (priority, app_name, msgid, AuditMessage element)."""
    m = HEADER.match(message)
    testcase.assertIsNotNone(m, message[:200])
    root = ET.fromstring(message[m.end():])
    testcase.assertEqual(root.tag, "AuditMessage")
    return int(m.group(1)), m.group(4).decode(), m.group(6).decode(), root


def audit_seq(root):
    for detail in root.iter("ParticipantObjectDetail"):
        if detail.get("type") == "audit_seq":
            return int(base64.b64decode(detail.get("value")))
    return None


class AtnaSinkTest(GatewayTestCase):
    def setUp(self):
        super().setUp()
        make_pki(self.dir)
        self.receiver = None
        self.sent = 0

    def tearDown(self):
        if self.receiver is not None:
            self.receiver.stop()
        super().tearDown()

    def start_receiver(self, cert="server", port=0):
        self.receiver = SyslogTlsReceiver(os.path.join(self.dir, f"{cert}.pem"),
                                          os.path.join(self.dir, f"{cert}.key"), port).start()
        return self.receiver

    def atna_config(self, port):
        return {"audit": {"signing_key_file": os.path.join(self.dir, "keys", "audit-signing.pem"),
                          "checkpoint_interval_seconds": 3600,
                          "origin": "gateway.test.invalid/audit",
                          "atna": {"enabled": True, "host": "127.0.0.1", "port": port,
                                   "ca_file": os.path.join(self.dir, "ca.pem"),
                                   "app_name": "ehr-gw-test", "hostname": "gw.example.invalid",
                                   "cursor_file": os.path.join(self.dir, "audit", "atna.cursor"),
                                   "poll_interval_ms": 50, "reconnect_min_ms": 50,
                                   "reconnect_max_ms": 200, "io_timeout_ms": 5000}}}

    def send(self, count):
        paths = []
        for _ in range(count):
            self.sent += 1
            path = os.path.join(self.dir, f"atna-{self.sent}.hl7")
            with open(path, "wb") as f:
                f.write(to_cr(hl7_message(f"ATNA-{self.sent}")))
            paths.append(path)
        out = run_cli("mllp-send", "--port", str(self.gateway.port), *paths)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().count("\tAA"), count, out.stdout)

    def exported_seqs(self):
        out = run_cli("audit", "export", "--format", "fhir", "--config", self.config_path,
                      check=True)
        seqs = []
        for line in out.stdout.decode().splitlines():
            event = json.loads(line)
            seqs.append(int(event["id"].rsplit("-", 1)[1]))
        return seqs

    def received_seqs(self):
        return [audit_seq(parse_message(self, m)[3]) for m in self.receiver.snapshot()]

    def test_every_record_arrives_in_order_as_an_atna_message(self):
        receiver = self.start_receiver()
        self.start_gateway(extra=self.atna_config(receiver.port))
        self.send(5)
        expected = self.exported_seqs()
        self.assertGreaterEqual(len(expected), 5)
        self.assertTrue(wait_for(lambda: len(receiver.snapshot()) >= len(expected)),
                        self.gateway.read_log()[-2000:])
        self.assertEqual(self.received_seqs(), expected)
        self.assertEqual(receiver.errors, [])
        for message in receiver.snapshot():
            priority, app, msgid, root = parse_message(self, message)
            self.assertEqual(priority, 85)  # authpriv.notice
            self.assertEqual(app, "ehr-gw-test")
            self.assertEqual(msgid, "IHE+RFC-3881")
            event = root.find("EventIdentification")
            self.assertEqual(event.find("EventID").get("csd-code"), "110107")
            self.assertEqual(event.find("EventID").get("codeSystemName"), "DCM")
            self.assertEqual(event.get("EventActionCode"), "C")
            self.assertEqual(root.find("AuditSourceIdentification").get("AuditSourceID"),
                             "gateway.test.invalid/audit")
            self.assertTrue(root.find("ParticipantObjectIdentification")
                            .get("ParticipantObjectID").startswith("inbound_event:"))
            self.assertTrue(any(p.get("UserID") == "listener:adt"
                                for p in root.findall("ActiveParticipant")))
            for phi in PHI:
                self.assertNotIn(phi, message)
        # Stopping confirms and persists the cursor; nothing is resent after a restart.
        self.assertEqual(self.gateway.stop(), 0)
        with open(os.path.join(self.dir, "audit", "atna.cursor")) as f:
            self.assertEqual(f.read().split()[-1], str(expected[-1]))
        self.assertEqual(os.stat(os.path.join(self.dir, "audit", "atna.cursor")).st_mode & 0o777,
                         0o600)
        self.gateway.start()
        self.send(1)
        expected = self.exported_seqs()
        self.assertTrue(wait_for(lambda: len(receiver.snapshot()) >= len(expected)))
        self.assertEqual(self.received_seqs(), expected)

    def test_records_wait_while_the_collector_is_down_even_across_a_restart(self):
        receiver = self.start_receiver()
        port = receiver.port
        receiver.stop()  # the collector is down from the start
        self.start_gateway(extra=self.atna_config(port))
        self.send(3)
        self.assertTrue(wait_for(lambda: "collector unreachable" in self.gateway.read_log()))
        self.assertEqual(self.gateway.stop(), 0)
        self.gateway.start()
        self.send(2)
        expected = self.exported_seqs()
        self.assertGreaterEqual(len(expected), 5)
        receiver = self.start_receiver(port=port)
        self.assertTrue(wait_for(lambda: len(set(self.received_seqs())) >= len(expected)),
                        self.gateway.read_log()[-2000:])
        received = self.received_seqs()
        self.assertEqual(sorted(set(received)), expected)  # none lost
        first_seen = list(dict.fromkeys(received))
        self.assertEqual(first_seen, expected)  # in seq order

        # The collector goes away mid-stream and comes back: what was written after the last
        # confirmed record is sent again (at least once), nothing is lost.
        receiver.stop()
        self.send(2)
        expected = self.exported_seqs()
        receiver = self.start_receiver(port=port)
        self.assertTrue(wait_for(lambda: set(expected) <= set(self.received_seqs())),
                        self.gateway.read_log()[-2000:])
        self.assertEqual(self.received_seqs()[-1], expected[-1])

    def test_a_collector_with_a_certificate_for_another_host_gets_nothing(self):
        receiver = self.start_receiver(cert="wronghost")
        self.start_gateway(extra=self.atna_config(receiver.port))
        self.send(2)
        self.assertTrue(wait_for(lambda: receiver.handshake_failures >= 2),
                        self.gateway.read_log()[-2000:])
        self.assertEqual(receiver.snapshot(), [])
        log = self.gateway.read_log()
        self.assertIn("certificate not accepted", log)
        for phi in PHI:
            self.assertNotIn(phi.decode(), log)


if __name__ == "__main__":
    unittest.main()
