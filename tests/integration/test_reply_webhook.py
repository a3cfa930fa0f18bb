# SPDX-License-Identifier: Apache-2.0
"""Text replies against a real `gateway run` (issue 5): the shipped lab-results mapping routed to
the messaging API (a local HTTPS platform with a test CA), then the platform's inbound webhook
POSTed with curl: a signed STOP opts the patient out (the next result is suppressed), HELP is
answered on the same channel without PHI, other text becomes an operator work item, a bad or
stale signature changes nothing, and `gateway audit verify` holds afterwards."""
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

from test_e2e import RunningGateway, cli, wait_until  # noqa: E402
from test_email_support import Pki  # noqa: E402
from test_messaging_api import SECRET, HttpsServer  # noqa: E402

SOURCE_DIR = os.environ.get("GW_SOURCE_DIR", os.path.join(HERE, "..", ".."))
PATIENT_EMAIL = "jordan.exampleson@example.invalid"  # samples/hl7/oru_r01_result.hl7
PATIENT_PHONE = "+15550100199"  # added to the sample's PID-13 (synthetic, 555-01xx)


def result_message(control_id, filler):
    """samples/hl7/oru_r01_result.hl7 with a phone number, a control id and a filler order."""
    with open(os.path.join(SOURCE_DIR, "samples", "hl7", "oru_r01_result.hl7")) as f:
        text = f.read()
    text = text.replace("||^NET^Internet^", f"||{PATIENT_PHONE}^PRN^PH~^NET^Internet^")
    return text.replace("SIM-R01-0001", control_id).replace("FIL0202", filler)


class ReplyWebhookTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gw-reply-")
        self.pki = Pki(self.dir)
        self.platform = HttpsServer(*self.pki.server("platform"))
        secret_file = os.path.join(self.dir, "api-secret")
        with open(secret_file, "wb") as f:
            f.write(SECRET + b"\n")
        os.chmod(secret_file, 0o600)
        # The shipped mappings, with lab results going out over the messaging API.
        mappings = os.path.join(self.dir, "mappings")
        shutil.copytree(os.path.join(SOURCE_DIR, "mappings"), mappings)
        lab = os.path.join(mappings, "lab-results.json")
        with open(lab) as f:
            text = f.read()
        with open(lab, "w") as f:
            f.write(text.replace('"channel": "secure_inbox"', '"channel": "messaging_api"')
                    .replace('"patient.email": "PID-13[.2=NET].4",',
                             '"patient.email": "PID-13[.2=NET].4", '
                             '"patient.phone": "PID-13[.2=PRN].1",')
                    .replace('"email": "patient.email",',
                             '"email": "patient.email", "phone": "patient.phone",'))
        self.gateway = RunningGateway(
            self.dir, mappings, pickup=os.path.join(self.dir, "var", "pickup"),
            messaging_api={"url": f"https://127.0.0.1:{self.platform.relay.port}/v1/messages",
                           "ca": self.pki.ca_cert, "secret_file": secret_file,
                           "inbound_tolerance_seconds": 120})
        self.config = self.gateway.config
        self.db = os.path.join(self.dir, "var", "gateway.db")
        self.web = self.gateway.web.split("/")[0]

    def tearDown(self):
        self.gateway.stop()
        self.platform.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, text):
        self.assertIn("MSA|AA|", self.gateway.send(text))

    def post(self, body, timestamp=None, secret=SECRET, signature=None):
        """POSTs the webhook with curl; returns (HTTP status, JSON answer)."""
        raw = json.dumps(body)
        timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
        if signature is None:
            signature = "sha256=" + hmac.new(secret, (timestamp + "." + raw).encode(),
                                             hashlib.sha256).hexdigest()
        out = subprocess.run(
            ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", "POST",
             "-H", "Content-Type: application/json", "-H", f"X-Timestamp: {timestamp}",
             "-H", f"X-Signature: {signature}", "--data-binary", raw,
             f"http://{self.web}/hooks/messaging/inbound"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        answer, status = out.stdout.rsplit("\n", 1)
        return int(status), json.loads(answer)

    def outbox_states(self):
        out = cli("messages", "outbox", "--format", "tsv", "--config", self.config)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = [line.split("\t") for line in out.stdout.splitlines() if line]
        return [r[6] for r in rows if r and r[0].isdigit()]

    def ledger(self):
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            return db.execute("SELECT channel, purpose, opted_in, source FROM consent_ledger "
                              "ORDER BY id").fetchall()

    def test_signed_stop_help_and_text_replies_reach_the_ledger_the_platform_and_the_work_list(self):
        self.send(result_message("R-1", "FIL9001"))
        first = wait_until(lambda: self.platform.requests, "the result at the platform")[0]
        key = first["headers"]["Idempotency-Key"]
        self.assertEqual(json.loads(first["body"])["recipient"]["phone"], PATIENT_PHONE)
        stop = {"id": "SM-1", "from": "+1 (555) 010-0199", "text": "Stop", "in_reply_to": key}

        # Nothing counts without a good, fresh signature.
        self.assertEqual(self.post(stop, signature="sha256=" + "0" * 64)[0], 401)
        self.assertEqual(self.post(stop, secret=b"another-secret-0123456789")[0], 401)
        self.assertEqual(self.post(stop, timestamp=int(time.time()) - 600)[0], 401)
        self.assertEqual(self.post(stop, signature="")[0], 401)
        self.assertEqual(self.ledger(), [])
        # Nor from someone who is not the recipient, nor about a message we did not send.
        self.assertEqual(self.post(dict(stop, id="SM-x", **{"from": "+15550100111"}))[0],
                         403)
        self.assertEqual(self.post(dict(stop, id="SM-y", in_reply_to="no-such-key"))[0], 422)
        self.assertEqual(self.ledger(), [])

        self.assertEqual(self.post(stop), (200, {"outcome": "opted_out"}))
        self.assertEqual(self.post(stop), (200, {"outcome": "duplicate"}))  # platform retry
        self.assertEqual(self.ledger(), [("messaging_api", "*", 0, "reply:stop")])

        # HELP is answered on the same channel even after STOP, without PHI.
        status, answer = self.post({"id": "SM-2", "from": PATIENT_PHONE, "text": "HELP",
                                    "in_reply_to": key})
        self.assertEqual((status, answer), (200, {"outcome": "help"}))
        help_request = wait_until(lambda: self.platform.requests[1:], "the HELP answer")[0]
        help_body = json.loads(help_request["body"])
        self.assertEqual(help_body["purpose"], "help")
        self.assertFalse(help_body["contains_phi"])
        self.assertIn("STOP", help_body["text"])
        for marker in ("Exampleson", "Jordan", "SYN000202", "Comprehensive metabolic", "Glucose"):
            self.assertNotIn(marker, help_body["text"])

        # Free text is for a person.
        status, answer = self.post({"id": "SM-3", "from": PATIENT_PHONE,
                                    "text": "Do I need to fast next time?", "in_reply_to": key})
        self.assertEqual((status, answer), (200, {"outcome": "work_item"}))
        work = cli("work", "list", "--config", self.config)
        self.assertEqual(work.returncode, 0, work.stderr)
        self.assertIn("reply_text", work.stdout)
        self.assertNotIn("fast", work.stdout)
        rows = cli("work", "list", "--format", "tsv", "--config", self.config).stdout.splitlines()
        item = next(r.split("\t")[1] for r in rows if r.startswith("reply_text\t"))
        self.assertNotEqual(cli("work", "show", item, "--config", self.config).returncode, 0)
        shown = cli("work", "show", item, "--reason", "answer the patient", "--config",
                    self.config)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("Do I need to fast next time?", shown.stdout)

        # The next result for this patient is not sent over the messaging API.
        self.send(result_message("R-2", "FIL9002"))
        wait_until(lambda: "suppressed" in self.outbox_states(), "the next result suppressed")
        self.assertEqual(len(self.platform.requests), 2)  # suppressed is final: never sent

        verify = cli("audit", "verify", "--config", self.config)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            actions = [r[0] for r in db.execute(
                "SELECT action FROM audit_records WHERE actor = 'patient:messaging_api'")]
            viewed = db.execute("SELECT actor, reason FROM audit_records "
                                "WHERE action = 'viewed_reply'").fetchall()
        self.assertEqual(actions, ["reply_keyword", "reply_keyword", "reply_text"])
        self.assertEqual(len(viewed), 1)
        self.assertEqual(viewed[0][1], "answer the patient")
        for marker in ("fast next time", PATIENT_EMAIL, PATIENT_PHONE, "0100199", "Exampleson"):
            self.assertNotIn(marker, self.gateway.read_log())


if __name__ == "__main__":
    unittest.main()
