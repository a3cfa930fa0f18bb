# SPDX-License-Identifier: Apache-2.0
"""The full path (issue 8): a real `gateway run` with the shipped mappings, HL7 v2 over MLLP from
Debian's python-hl7 `mllp_send`, email over verified STARTTLS to a real aiosmtpd with a test CA,
the secure inbox in headless Chromium (inbox_flow.mjs), then `gateway audit verify` and the
audit trail of the message. A second gateway, with a test copy of the mappings that delays
release by an hour, shows that an A13 before delivery means no mail leaves.

Run by ctest (label e2e) with /usr/bin/python3 from tests/e2e; needs GW_BINARY and, for the
browser part, node with playwright-core installed here (npm ci) and /usr/bin/chromium (the
browser test is skipped with a message without it)."""
import email
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from gwtest import midday_zone, wait_until  # noqa: E402
from test_email_support import Pki, SmtpServer  # noqa: E402

GATEWAY = os.environ.get("GW_BINARY", "build-dev/bin/gateway")
SOURCE_DIR = os.environ.get("GW_SOURCE_DIR", os.path.join(HERE, "..", ".."))
ARTIFACTS = os.environ.get("GW_ARTIFACTS_DIR", os.path.join(tempfile.gettempdir(), "gw-e2e"))
CHROMIUM = "/usr/bin/chromium"

# Synthetic patients: clearly fake names, example.invalid addresses that do not contain the
# names (so the raw mail can be searched for them), birth dates only in the EHR feed.
ALEXA = {"family": "Testpatient", "given": "Alexa", "mrn": "SYNE2E0101", "dob": "19800214",
         "dob_iso": "1980-02-14", "email": "patient-e2e-1@example.invalid", "lang": "en",
         "visit": "VE2E0101", "street": "100 Example Street"}
LUCIA = {"family": "Pruebasintetica", "given": "Lucia", "mrn": "SYNE2E0202", "dob": "19720930",
         "dob_iso": "1972-09-30", "email": "patient-e2e-2@example.invalid", "lang": "es",
         "visit": "VE2E0202", "street": "200 Calle Ejemplo"}


def adt(patient, event, control_id):
    """An ADT^A03 (discharge) or ADT^A13 (cancel discharge) for `patient`, pneumonia (J18.9)."""
    segments = [
        f"MSH|^~\\&|SIM_EHR|DEMO_HOSP|PATIENT_GW|DEMO_HOSP|20261125141500||ADT^{event}^ADT_A03|"
        f"{control_id}|P|2.5.1|||||||UNICODE UTF-8",
        f"EVN|{event}|20261125141500",
        f"PID|1||{patient['mrn']}^^^DEMO_HOSP^MR||{patient['family']}^{patient['given']}||"
        f"{patient['dob']}|F|||{patient['street']}^^Springfield^ZZ^00000^^H||"
        f"^NET^Internet^{patient['email']}||{patient['lang']}",
        f"PV1|1|I|4W^401^1^DEMO_HOSP||||1234^Synthetic^Doctor^^^Dr|||MED|||||||||"
        f"{patient['visit']}^^^DEMO_HOSP^VN|||||||||||||||||||||||||20261123083000|20261125141500",
        "DG1|1||J18.9^Pneumonia, unspecified organism^I10||20261123|A",
    ]
    return "\n".join(segments) + "\n"  # mllp_send --loose turns line ends into CR


def phi_markers(patient):
    dob = patient["dob"]
    return [patient["family"], patient["given"], patient["mrn"], dob, patient["dob_iso"],
            f"{dob[4:6]}/{dob[6:8]}/{dob[0:4]}", patient["street"], patient["visit"], "Pneumonia",
            "J18"]


def cli(*args, timeout=120):
    return subprocess.run([GATEWAY, *args], capture_output=True, text=True, timeout=timeout)


class MailMirror:
    """Copies every mail the SMTP server accepts into `directory` as NNNN.eml (arrival order),
    for the browser script that needs the one-time code."""

    def __init__(self, smtp, directory):
        self.smtp, self.dir = smtp, directory
        os.makedirs(directory, exist_ok=True)
        self.written = 0
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_flag.is_set():
            messages = self.smtp.messages
            for raw in [m[2] for m in messages[self.written:]]:
                path = os.path.join(self.dir, f"{self.written:04d}.eml")
                with open(path + ".tmp", "wb") as f:
                    f.write(raw)
                os.rename(path + ".tmp", path)
                self.written += 1
            time.sleep(0.05)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)


class RunningGateway:
    """`gateway run` on a config written into `directory`: MLLP and web on 127.0.0.1 port 0,
    email over SMTP to `smtp_port` verified with `ca` (or .eml files in `pickup`), base_url
    derived from the web server, and the `messaging_api` section when given."""

    def __init__(self, directory, mappings_dir, smtp_port=None, ca=None, pickup=None, web=None,
                 start=True, messaging_api=None):
        self.dir = directory
        self.config = os.path.join(directory, "gateway.json")
        var = os.path.join(directory, "var")
        config = {
            "logging": {"level": "information", "file": ""},
            "keys": {"key_file": os.path.join(var, "keys", "gateway.keys"),
                     "generate_if_missing": True},
            "audit": {"signing_key_file": os.path.join(var, "keys", "audit-signing.pem"),
                      "generate_if_missing": True, "origin": "e2e.gateway.invalid/audit"},
            "store": {"path": os.path.join(var, "gateway.db")},
            "inbound": {"mllp": [{"name": "adt", "host": "127.0.0.1", "port": 0}]},
            "outbound": {
                "email": {"transport": "smtp", "from": "no-reply@gateway.invalid",
                          "smtp": {"host": "127.0.0.1", "port": smtp_port, "ca": ca,
                                   "pool_size": 1, "timeout_ms": 10000}}
                if pickup is None else {"transport": "pickup", "pickup": {"directory": pickup}},
                "secure_inbox": {"base_url": "", "secure_cookies": False},
            },
            "web": web or {"host": "127.0.0.1", "port": 0, "allow_plain_http": True},
            "mappings": {"directory": mappings_dir,
                         "pseudonym_key_file": os.path.join(var, "keys", "pseudonym.key"),
                         "facility_time_zone": midday_zone()},
        }
        if messaging_api is not None:
            config["outbound"]["messaging_api"] = messaging_api
        with open(self.config, "w") as f:
            json.dump(config, f, indent=2)
        if not start:
            return
        self.log = open(os.path.join(directory, "gateway.log"), "ab")
        self.proc = subprocess.Popen([GATEWAY, "run", "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.mllp_port = self.web = None
        deadline = time.monotonic() + 30
        while (self.mllp_port is None or self.web is None) and time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("gateway exited at start: " + self.read_log())
            if m := re.search(r'listener "adt" listening on 127\.0\.0\.1:(\d+)', line):
                self.mllp_port = int(m.group(1))
            if m := re.search(r"secure inbox listening on ([\d.]+:\d+/inbox/)", line):
                self.web = m.group(1)
        if self.mllp_port is None or self.web is None:
            raise AssertionError("gateway did not report its listeners")
        # Keep reading standard output (the console's counts) so the gateway never blocks.
        self.console = []
        self.reader = threading.Thread(target=lambda: self.console.extend(self.proc.stdout),
                                       daemon=True)
        self.reader.start()

    def read_log(self):
        with open(os.path.join(self.dir, "gateway.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def send(self, text):
        """Sends one message with python-hl7's mllp_send; returns its output (the ACK)."""
        path = os.path.join(self.dir, f"send-{time.monotonic_ns()}.hl7")
        with open(path, "w") as f:
            f.write(text)
        out = subprocess.run(["mllp_send", "--loose", "--file", path, "--port", str(self.mllp_port),
                              "127.0.0.1"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise AssertionError(f"mllp_send failed: {out.stderr}")
        return out.stdout

    def event_id(self, control_id):
        out = cli("messages", "list", "--format", "tsv", "--control-id", control_id,
                  "--config", self.config)
        rows = [line.split("\t") for line in out.stdout.splitlines() if line]
        return int(rows[0][0]) if rows else None

    def outbox(self, event_id):
        """(message id, state) of the patient messages made from one inbound event."""
        out = cli("messages", "outbox", "--format", "tsv", "--event", str(event_id),
                  "--config", self.config)
        rows = [line.split("\t") for line in out.stdout.splitlines() if line]
        return [(int(r[0]), r[6]) for r in rows if r and r[0].isdigit()]

    def audit(self):
        """Every audit record as (action, object, outcome, reason), from `gateway audit export`."""
        out = cli("audit", "export", "--config", self.config)
        if out.returncode != 0:
            raise AssertionError(f"audit export exited {out.returncode}: {out.stderr}")
        records = []
        for line in out.stdout.splitlines():
            event = json.loads(line)
            action = next(c["code"] for c in event["subtype"]
                          if c["system"] == "urn:gateway:audit-action")
            entity = event["entity"][0]
            reason = next((d["valueString"] for d in entity.get("detail", [])
                           if d["type"] == "reason"), "")
            records.append((action, entity["what"]["identifier"]["value"], event["outcome"],
                            reason))
        return records

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.reader.join(10)
        self.proc.stdout.close()
        self.log.close()
        return rc


def ack_code(output):
    m = re.search(r"MSA\|(\w+)\|", output)
    return m.group(1) if m else None


class EndToEndTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gw-e2e-")
        self.pki = Pki(self.dir)
        self.smtp = SmtpServer(tls=self.pki.server("smtp"))
        self.gateway = None

    def tearDown(self):
        if self.gateway:
            self.gateway.stop()
        self.smtp.close()
        if self._outcome_ok():
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print(f"kept {self.dir} for inspection", file=sys.stderr)

    def _outcome_ok(self):
        result = getattr(self._outcome, "result", None)
        return result is None or not (result.failures or result.errors)

    def mails_to(self, address):
        return [m[2] for m in self.smtp.messages if address in m[1]]

    def deliver_discharge(self, patient, control_id):
        """Sends the patient's A03, waits for the notification mail; returns (event id, message
        id, raw mail)."""
        self.assertEqual(ack_code(self.gateway.send(adt(patient, "A03", control_id))), "AA")
        event = wait_until(lambda: self.gateway.event_id(control_id), "the stored event")
        mail = wait_until(lambda: self.mails_to(patient["email"]), "the notification mail")
        time.sleep(1.0)  # anything more (a duplicate) would arrive now
        mails = self.mails_to(patient["email"])
        self.assertEqual(len(mails), 1, "exactly one notification mail")
        messages = self.gateway.outbox(event)
        self.assertEqual(len(messages), 1, messages)
        self.assertEqual(messages[0][1], "sent")
        return event, messages[0][0], mail[0]

    def assert_no_phi(self, raw, patient):
        parsed = email.message_from_bytes(raw)
        self.assertFalse(parsed.is_multipart())
        decoded = parsed.get_payload(decode=True)
        for marker in phi_markers(patient):
            for what, data in (("raw mail", raw), ("decoded body", decoded)):
                self.assertNotIn(marker.lower().encode(), data.lower(), f"{marker} in the {what}")
        return parsed, decoded.decode()

    def browse(self, name, link, patient, expect_text, reply, wrong_birth_date=None,
               pickup=None):
        if not os.path.exists(CHROMIUM):
            self.skipTest(f"{CHROMIUM} not found (apt-get install chromium; scripts/setup.sh does)")
        maildir = pickup or os.path.join(self.dir, "mail")
        mirror = MailMirror(self.smtp, maildir) if pickup is None else None
        flow = {"link": link, "email": patient["email"], "birthDate": patient["dob_iso"],
                "wrongBirthDate": wrong_birth_date, "expectText": expect_text,
                "lang": patient["lang"], "reply": reply, "name": name}
        env = dict(os.environ, GW_E2E_FLOW=json.dumps(flow), GW_E2E_MAILDIR=maildir,
                   GW_ARTIFACTS_DIR=ARTIFACTS)
        try:
            out = subprocess.run(["node", os.path.join(HERE, "inbox_flow.mjs")], cwd=HERE,
                                 env=env, capture_output=True, text=True, timeout=180)
        finally:
            if mirror:
                mirror.stop()
        if out.returncode == 77:
            self.skipTest(out.stdout.strip())
        self.assertEqual(out.returncode, 0, f"inbox_flow.mjs failed:\n{out.stdout}\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1].removeprefix("RESULT "))

    def test_discharge_reaches_the_patient_inbox_and_the_audit_trail_holds(self):
        mappings = os.path.join(SOURCE_DIR, "mappings")  # the shipped mappings, unchanged
        self.gateway = RunningGateway(self.dir, mappings, self.smtp.port, self.pki.ca_cert)

        event, message, raw = self.deliver_discharge(ALEXA, "E2E-A03-0001")
        parsed, text = self.assert_no_phi(raw, ALEXA)
        self.assertEqual(parsed["To"], ALEXA["email"])
        link = re.search(r"http://127\.0\.0\.1:\d+/inbox/l/[A-Za-z0-9_-]{43}", text)
        self.assertIsNotNone(link, "the notification holds the inbox link")
        self.assertTrue(link.group(0).startswith("http://" + self.gateway.web),
                        "the link uses the web server's bound address (empty base_url)")
        # It went over STARTTLS: nothing of the message body crossed the wire in clear.
        wire = self.smtp.relay.wire()
        self.assertIn(b"STARTTLS", wire)
        self.assertNotIn(link.group(0).encode(), wire)

        flow = self.browse("e2e-en", link.group(0), ALEXA,
                           "Finish all of your antibiotics, rest, and drink plenty of fluids.",
                           reply="stop", wrong_birth_date="1990-01-01")
        self.assertEqual(flow["mails"], 2, "notification + one code, nothing for the wrong date")
        code_mail = self.mails_to(ALEXA["email"])[1]
        self.assert_no_phi(code_mail, ALEXA)

        # A Spanish-speaking patient reads Spanish aftercare.
        _, message_es, raw_es = self.deliver_discharge(LUCIA, "E2E-A03-0002")
        _, text_es = self.assert_no_phi(raw_es, LUCIA)
        link_es = re.search(r"http://127\.0\.0\.1:\d+/inbox/l/[A-Za-z0-9_-]{43}", text_es)
        self.assertIsNotNone(link_es)
        self.browse("e2e-es", link_es.group(0), LUCIA,
                    "Termine todos sus antibióticos, descanse y beba muchos líquidos.",
                    reply="stop")

        gateway_run = self.gateway
        self.gateway = None
        self.assertEqual(gateway_run.stop(), 0)
        # The console's counts at shutdown: numbers only.
        console = "".join(gateway_run.console)
        self.assertIn("gateway: stopped: received 2 over MLLP (duplicates 0, rejected 0, failed 0);"
                      " mapped 2 (ignored 0, held 0); patient messages 2; sent 2 ", console)
        for marker in phi_markers(ALEXA) + phi_markers(LUCIA) + [ALEXA["email"]]:
            self.assertNotIn(marker.lower(), console.lower())
        verify = cli("audit", "verify", "--config", os.path.join(self.dir, "gateway.json"))
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)

        gateway = RunningGateway.__new__(RunningGateway)  # the CLI only needs the config
        gateway.config = os.path.join(self.dir, "gateway.json")
        records = gateway.audit()
        for action, _, _, reason in records:
            for marker in phi_markers(ALEXA) + [ALEXA["email"]]:
                self.assertNotIn(marker.lower(), reason.lower(), f"{marker} in an audit reason")
        ev, msg = f"inbound_event:{event}", f"patient_message:{message}"
        trail = [(a, o) for a, obj, o, r in records
                 if obj == ev or obj == msg or (a == "message_created" and ev in r)]
        # Each opening of the link is "inbox_opened" (the browser opens it again after the
        # refused steps); "4" is a refused step: the wrong birth date and the guessed code.
        expected = [("received", "0"), ("mapped", "0"), ("message_created", "0"),
                    ("inbox_link_created", "0"), ("delivery_attempt", "0"),
                    ("inbox_opened", "0"), ("inbox_dob", "4"), ("inbox_code", "4"),
                    ("inbox_opened", "0"), ("inbox_code_sent", "0"), ("inbox_code", "0"),
                    ("inbox_viewed", "0"), ("inbox_reply", "0")]
        self.assertEqual(trail, expected)
        created = next(r for a, obj, _, r in records if a == "message_created" and obj == msg)
        self.assertIn(ev, created)
        attempt = next(r for a, obj, _, r in records if a == "delivery_attempt" and obj == msg)
        self.assertIn("sent", attempt)
        self.assertIn(("inbox_reply", "0"),
                      [(a, o) for a, obj, o, _ in records if obj == f"patient_message:{message_es}"])

    def test_discharge_cancelled_before_delivery_sends_no_mail(self):
        # A test copy of the shipped mappings whose aftercare waits an hour before release: the
        # A13 certainly arrives before delivery is due (no race with the delivery workers).
        mappings = os.path.join(self.dir, "mappings")
        shutil.copytree(os.path.join(SOURCE_DIR, "mappings"), mappings)
        path = os.path.join(mappings, "discharge-aftercare.json")
        with open(path) as f:
            text = f.read()
        delayed = text.replace('"policy": {', '"policy": {\n    "release_delay_hours": 1,', 1)
        self.assertNotEqual(text, delayed)
        with open(path, "w") as f:
            f.write(delayed)
        self.gateway = RunningGateway(self.dir, mappings, self.smtp.port, self.pki.ca_cert)

        self.assertEqual(ack_code(self.gateway.send(adt(ALEXA, "A03", "E2E-A03-0101"))), "AA")
        event = wait_until(lambda: self.gateway.event_id("E2E-A03-0101"), "the A03")
        messages = wait_until(lambda: self.gateway.outbox(event), "the aftercare message")
        self.assertEqual(len(messages), 1)
        self.assertIn(messages[0][1], ("pending", "held"))
        self.assertEqual(ack_code(self.gateway.send(adt(ALEXA, "A13", "E2E-A13-0101"))), "AA")
        wait_until(lambda: self.gateway.outbox(event)[0][1] == "retracted", "the retraction")
        time.sleep(2.0)  # the delivery workers have had every chance to pick it up
        self.assertEqual(self.smtp.messages, [], "no mail left the gateway")
        self.assertEqual(self.smtp.relay.connections, 0)
        self.assertEqual(self.gateway.outbox(event)[0][1], "retracted")
        records = self.gateway.audit()
        msg = f"patient_message:{messages[0][0]}"
        self.assertNotIn("delivery_attempt", [a for a, obj, _, _ in records if obj == msg])
        self.assertTrue(any(obj == msg and "retract" in (a + r) for a, obj, _, r in records),
                        [r for r in records if r[1] == msg])

    def test_demo_helper_prints_the_link_and_code_from_the_pickup_directory(self):
        # README "One-command demo": the demo's transport, the discharge sample itself (its
        # birth date is the one the README gives) and scripts/demo-inbox.py.
        pickup = os.path.join(self.dir, "pickup")
        self.gateway = RunningGateway(self.dir, os.path.join(SOURCE_DIR, "mappings"),
                                      pickup=pickup)
        with open(os.path.join(SOURCE_DIR, "samples", "hl7", "adt_a03_discharge.hl7")) as f:
            self.assertEqual(ack_code(self.gateway.send(f.read())), "AA")
        helper = [sys.executable, os.path.join(SOURCE_DIR, "scripts", "demo-inbox.py"),
                  "--dir", pickup, "--to", "alexa"]
        out = wait_until(lambda: subprocess.run(helper, capture_output=True, text=True).stdout,
                         "the notification in the pickup directory")
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertIn("alexa.testpatient@example.invalid", lines[0])
        link = re.search(r"link  (http://" + re.escape(self.gateway.web) + r"l/\S{43})$",
                         lines[0])
        self.assertIsNotNone(link, lines[0])
        missing = subprocess.run(helper[:2] + ["--dir", os.path.join(self.dir, "none")],
                                 capture_output=True, text=True)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such directory", missing.stderr)

        sample = {"email": "alexa.testpatient@example.invalid", "dob_iso": "1980-02-14",
                  "lang": "en"}
        self.browse("demo", link.group(1), sample,
                    "Finish all of your antibiotics, rest, and drink plenty of fluids.",
                    reply="stop", pickup=pickup)
        out = subprocess.run(helper + ["--last", "1"], capture_output=True, text=True).stdout
        self.assertRegex(out.strip(), r"alexa\.testpatient@example\.invalid +code  \d{6}$")

    def test_base_url_follows_the_web_server_tls_and_refuses_every_address(self):
        cert, key = self.pki.server("web")
        pickup = os.path.join(self.dir, "pickup")
        tls = {"enabled": True, "certificate": cert, "private_key": key}
        self.gateway = RunningGateway(self.dir, os.path.join(SOURCE_DIR, "mappings"),
                                      pickup=pickup,
                                      web={"host": "127.0.0.1", "port": 0, "tls": tls})
        with open(os.path.join(SOURCE_DIR, "samples", "hl7", "adt_a03_discharge.hl7")) as f:
            self.assertEqual(ack_code(self.gateway.send(f.read())), "AA")
        mail = wait_until(lambda: [n for n in os.listdir(pickup) if n.endswith(".eml")]
                          if os.path.isdir(pickup) else [], "the notification")
        with open(os.path.join(pickup, mail[0]), "rb") as f:
            text = email.message_from_bytes(f.read()).get_payload(decode=True).decode()
        self.assertIn(f"https://{self.gateway.web}l/", text)
        self.assertEqual(self.gateway.stop(), 0)
        self.gateway = None

        # On every address there is no host to put in a link: a clear error, nothing served.
        other = os.path.join(self.dir, "wildcard")
        os.makedirs(other)
        config = RunningGateway(other, os.path.join(SOURCE_DIR, "mappings"), pickup=pickup,
                                web={"host": "0.0.0.0", "port": 0, "tls": tls}, start=False)
        run = subprocess.run([GATEWAY, "run", "--config", config.config], capture_output=True,
                             text=True, timeout=60)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("outbound.secure_inbox", run.stderr)
        self.assertIn("set base_url", run.stderr)


if __name__ == "__main__":
    unittest.main()
