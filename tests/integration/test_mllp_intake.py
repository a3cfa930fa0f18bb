# SPDX-License-Identifier: Apache-2.0
"""The real gateway process over loopback: intake, ACKs, dedupe, config errors, PHI at rest."""
import glob
import json
import os
import re
import stat
import subprocess
import unittest

from gwtest import (CR, GatewayTestCase, Gateway, MllpConnection, SOURCE_DIR, frame, hl7_message,
                    list_messages, parse_ack, run_cli, write_config, GATEWAY)

SAMPLES = sorted(glob.glob(os.path.join(SOURCE_DIR, "samples", "hl7", "*.hl7")))
# The synthetic patients of samples/ and of hl7_message(): none of this may be stored in clear.
PHI = [b"Testpatient", b"Exampleson", b"Fakename", b"Placeholder", b"SYN000101", b"SYN000202",
       b"SYN000303", b"19800214", b"19721103", b"example.invalid", b"Example Street"]


class MllpIntakeTest(GatewayTestCase):
    def test_python_hl7_mllp_send_gets_accept_for_every_sample(self):
        gw = self.start_gateway()
        acks = []
        # python-hl7's --loose mode splits at "MSH|^~\&|" and knows no FHS/BHS batches (it would
        # send the batch header as a message of its own): the batch goes through our sender.
        for path in [p for p in SAMPLES if "batch" not in p]:
            out = subprocess.run(["mllp_send", "--loose", "--file", path, "--port", str(gw.port),
                                  "127.0.0.1"], capture_output=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            acks += re.findall(rb"MSA\|(\w\w)\|([^|\r\n]*)", out.stdout)
        batch = run_cli("mllp-send", "--port", str(gw.port), *[p for p in SAMPLES if "batch" in p])
        self.assertEqual(batch.returncode, 0, batch.stdout)
        acks += [(code, cid) for cid, code in re.findall(rb"(\S+)\t(\w\w)", batch.stdout)]
        codes = {cid.decode(): code.decode() for code, cid in acks}
        self.assertEqual(len(codes), 6, acks)
        # MSH-15=AL asks for an enhanced-mode commit ACK.
        self.assertEqual(codes.pop("SIM-A01-0001"), "CA")
        self.assertEqual(set(codes.values()), {"AA"}, codes)
        rows = list_messages(self.config_path)
        self.assertEqual(sorted(r[3] for r in rows),
                         ["SIM-A01-0001", "SIM-A03-0001", "SIM-R01-0001", "SIM-R01-0002",
                          "SIM-R01-0003", "SIM-S12-0001"])
        by_control = {r[3]: r for r in rows}
        self.assertEqual(by_control["SIM-A03-0001"][2], "ADT^A03")
        self.assertEqual(by_control["SIM-A03-0001"][4], "DEMO_HOSP")
        self.assertEqual(by_control["SIM-A03-0001"][5], "received")
        self.assertRegex(by_control["SIM-A03-0001"][1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_gateway_mllp_send_prints_one_line_per_message(self):
        gw = self.start_gateway()
        out = run_cli("mllp-send", "--port", str(gw.port), *SAMPLES)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.decode().splitlines()
        self.assertEqual(len(lines), 6, lines)
        self.assertIn("SIM-R01-0002\tAA", lines)
        self.assertIn("SIM-A01-0001\tCA", lines)

    def test_simulated_ehr_feed_is_accepted_and_stored(self):
        gw = self.start_gateway()
        out = run_cli("simulate-ehr", "--port", str(gw.port), "--count", "120", "--rate", "0",
                      "--seed", "9")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(b"sent 120/120, acknowledged: AA 120", out.stderr)
        rows = list_messages(self.config_path)
        self.assertEqual(len(rows), 120)
        self.assertTrue({"ADT^A01", "ADT^A03", "ORU^R01", "SIU^S12"} <= {r[2] for r in rows})

    def test_gateway_mllp_send_exits_non_zero_when_an_ack_is_not_aa(self):
        gw = self.start_gateway()
        bad = os.path.join(self.dir, "bad.hl7")
        with open(bad, "wb") as f:
            f.write(b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|||2.5\rPID|1\r")  # empty MSH-10
        out = run_cli("mllp-send", "--port", str(gw.port), SAMPLES[0], bad)
        self.assertEqual(out.returncode, 1, out.stdout)
        self.assertIn("\tAE", out.stdout.decode())

    def test_resend_of_committed_message_is_acknowledged_and_not_stored_twice(self):
        gw = self.start_gateway()
        conn = MllpConnection(gw.port)
        message = hl7_message("RESEND-1")
        first = parse_ack(conn.exchange(message))
        second = parse_ack(conn.exchange(message))
        conn.close()
        self.assertEqual((first["msa1"], first["msa2"]), ("AA", "RESEND-1"))
        self.assertEqual((second["msa1"], second["msa2"]), ("AA", "RESEND-1"))
        self.assertNotEqual(first["msh"][9], second["msh"][9], "each ACK has a fresh MSH-10")
        rows = [r for r in list_messages(self.config_path) if r[3] == "RESEND-1"]
        self.assertEqual(len(rows), 1)
        show = run_cli("messages", "show", rows[0][0], "--config", self.config_path, check=True)
        self.assertIn("resends answered:    1", show.stdout.decode())
        # Same control id from another facility is another message.
        conn = MllpConnection(gw.port)
        self.assertEqual(parse_ack(conn.exchange(hl7_message("RESEND-1", facility="OTHER")))["msa1"], "AA")
        conn.close()
        self.assertEqual(len([r for r in list_messages(self.config_path) if r[3] == "RESEND-1"]), 2)

    def test_ack_swaps_sender_and_receiver_and_echoes_version(self):
        gw = self.start_gateway()
        conn = MllpConnection(gw.port)
        ack = parse_ack(conn.exchange(hl7_message("SWAP-1")))
        conn.close()
        msh = ack["msh"]
        self.assertEqual(msh[2:6], ["PATIENT_GW", "DEMO_HOSP", "SIM_EHR", "DEMO_HOSP"])
        self.assertTrue(msh[8].startswith("ACK"), msh)
        self.assertEqual(msh[11], "2.5.1")

    def test_no_phi_in_database_files_or_log(self):
        gw = self.start_gateway()
        out = run_cli("mllp-send", "--port", str(gw.port), *SAMPLES)
        self.assertEqual(out.returncode, 0, out.stderr)
        conn = MllpConnection(gw.port)
        self.assertEqual(parse_ack(conn.exchange(hl7_message("PHI-1")))["msa1"], "AA")
        conn.close()
        self.gateway.stop()
        self.gateway = Gateway(self.config_path, self.dir).start()  # reopen: WAL checkpointed
        files = glob.glob(os.path.join(self.dir, "gateway.db*")) + [self.gateway.log_path]
        self.assertTrue(any(f.endswith("gateway.db") for f in files))
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for needle in PHI:
                self.assertNotIn(needle, data, f"{needle!r} found in clear in {path}")
        # ...while the operator can still read it back, with a reason that is audited.
        rows = [r for r in list_messages(self.config_path) if r[3] == "PHI-1"]
        denied = run_cli("messages", "show", rows[0][0], "--payload", "--config", self.config_path)
        self.assertEqual(denied.returncode, 2)
        shown = run_cli("messages", "show", rows[0][0], "--payload", "--reason", "ticket 42",
                        "--config", self.config_path, check=True)
        self.assertIn(b"Testpatient^Alexa", shown.stdout)
        # The audit trail exported as FHIR AuditEvents: one per record, the view among them as a
        # RESTful read by the operator, and no PHI anywhere in it.
        export = run_cli("audit", "export", "--format", "fhir", "--config", self.config_path,
                         check=True)
        events = [json.loads(line) for line in export.stdout.decode().splitlines()]
        self.assertGreaterEqual(len(events), 8)
        self.assertTrue(all(e["resourceType"] == "AuditEvent" for e in events))
        imports = [e for e in events if e["type"]["code"] == "110107" and e["action"] == "C"]
        self.assertEqual(len(imports), 7)
        reads = [e for e in events if e["type"]["code"] == "rest"]
        self.assertEqual(len(reads), 1)
        self.assertEqual(reads[0]["entity"][0]["what"]["identifier"]["value"],
                         f"inbound_event:{rows[0][0]}")
        for needle in PHI:
            self.assertNotIn(needle, export.stdout)

    def test_message_without_control_id_gets_ae_with_err(self):
        gw = self.start_gateway()
        conn = MllpConnection(gw.port)
        ack = parse_ack(conn.exchange(b"MSH|^~\\&|SIM_EHR|DEMO_HOSP|GW|DEMO_HOSP|20261125||ADT^A03|"
                                      b"|P|2.5.1\rPID|1||SYN000101\r"))
        self.assertEqual(ack["msa1"], "AE")
        self.assertIn("err", ack)
        self.assertIn("MSH-10", ack["raw"])
        self.assertNotIn("SYN000101", ack["raw"], "no PHI echoed in an ACK")
        # The connection keeps serving.
        self.assertEqual(parse_ack(conn.exchange(hl7_message("AFTER-AE")))["msa1"], "AA")
        conn.close()
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["AFTER-AE"])

    def test_garbage_between_frames_is_skipped(self):
        gw = self.start_gateway()
        conn = MllpConnection(gw.port)
        conn.send_raw(b"\x00\xffgarbage\r\n" + frame(hl7_message("G-1")) + b"junk" + frame(hl7_message("G-2")))
        acks = [parse_ack(conn.read_frame()), parse_ack(conn.read_frame())]
        conn.close()
        self.assertEqual([(a["msa1"], a["msa2"]) for a in acks], [("AA", "G-1"), ("AA", "G-2")])

    def test_split_and_merged_frames(self):
        gw = self.start_gateway()
        conn = MllpConnection(gw.port)
        data = b"".join(frame(hl7_message(f"P-{i}")) for i in range(20))
        for i in range(0, len(data), 7):
            conn.send_raw(data[i:i + 7])
        acks = [parse_ack(conn.read_frame())["msa2"] for _ in range(20)]
        conn.close()
        self.assertEqual(acks, [f"P-{i}" for i in range(20)])

    def test_oversized_frame_gets_ar_and_connection_is_closed(self):
        gw = self.start_gateway(listener_overrides={"max_frame_bytes": 2048})
        conn = MllpConnection(gw.port)
        big = hl7_message("BIG-1", extra=b"NTE|1||" + b"x" * 5000 + CR)
        ack = parse_ack(conn.exchange(big))
        self.assertEqual((ack["msa1"], ack["msa2"]), ("AR", "BIG-1"))
        self.assertTrue(conn.closed_by_peer())
        conn.close()
        conn = MllpConnection(gw.port)  # still serving
        self.assertEqual(parse_ack(conn.exchange(hl7_message("SMALL-1")))["msa1"], "AA")
        conn.close()
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["SMALL-1"])

    def test_unterminated_frame_and_slow_sender_are_closed_and_the_gateway_keeps_serving(self):
        gw = self.start_gateway(listener_overrides={"partial_frame_timeout_seconds": 1,
                                                    "idle_timeout_seconds": 2})
        unterminated = MllpConnection(gw.port)
        unterminated.send_raw(frame(hl7_message("PART-1"))[:-2])  # no <EB><CR>
        slow = MllpConnection(gw.port)
        slow.send_raw(b"\x0bMSH|^~\\&|")  # then nothing: a frame that never finishes
        idle = MllpConnection(gw.port)    # connects and never sends
        self.assertTrue(unterminated.closed_by_peer(timeout=10))
        self.assertTrue(slow.closed_by_peer(timeout=10))
        self.assertTrue(idle.closed_by_peer(timeout=10))
        self.assertIsNone(unterminated.read_frame() if unterminated.buffer else None)
        for c in (unterminated, slow, idle):
            c.close()
        conn = MllpConnection(gw.port)
        self.assertEqual(parse_ack(conn.exchange(hl7_message("AFTER-SLOW")))["msa1"], "AA")
        conn.close()
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["AFTER-SLOW"])

    def test_facility_not_allowed_gets_ar(self):
        gw = self.start_gateway(listener_overrides={"allowed_sending_facilities": ["DEMO_HOSP"]})
        conn = MllpConnection(gw.port)
        self.assertEqual(parse_ack(conn.exchange(hl7_message("F-1", facility="ELSEWHERE")))["msa1"], "AR")
        self.assertEqual(parse_ack(conn.exchange(hl7_message("F-2")))["msa1"], "AA")
        conn.close()
        self.assertEqual([r[3] for r in list_messages(self.config_path)], ["F-2"])


class ConfigErrorTest(GatewayTestCase):
    BAD = ('{\n'
           '  "store": {"path": "x.db", "durability": "disk"},\n'
           '  "inbound": {"mllp": [{"name": "adt", "port": 99999, "max_frame_byte": 10}]},\n'
           '  "loging": {}\n'
           '}\n')

    def write_bad(self):
        path = os.path.join(self.dir, "bad.json")
        with open(path, "w") as f:
            f.write(self.BAD)
        return path

    def test_check_config_reports_every_error_with_position(self):
        path = self.write_bad()
        out = run_cli("check-config", "--config", path)
        self.assertEqual(out.returncode, 78)
        err = out.stderr.decode()
        self.assertIn(f"{path}:2:43: error: \"store.durability\" is \"disk\"", err)
        self.assertIn(f"{path}:3:48: error: \"inbound.mllp[0].port\" is 99999", err)
        self.assertIn(f"{path}:3:55: error: unknown key \"max_frame_byte\" in inbound.mllp[0] "
                      f"(did you mean \"max_frame_bytes\"?)", err)
        self.assertIn(f"{path}:4:3: error: unknown key \"loging\"", err)

    def test_run_with_bad_config_exits_78_without_binding(self):
        path = self.write_bad()
        out = subprocess.run([GATEWAY, "run", "--config", path], capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 78)
        self.assertNotIn(b"listening", out.stdout)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x.db")), "nothing opened before validation")

    def test_shipped_config_is_valid(self):
        out = run_cli("check-config", "--config", os.path.join(SOURCE_DIR, "config", "gateway.json"))
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_key_file_readable_by_others_is_refused(self):
        config = write_config(self.dir)
        gw = Gateway(config, self.dir).start()  # generates the key file
        gw.stop()
        key_file = os.path.join(self.dir, "keys", "gateway.keys")
        self.assertEqual(stat.S_IMODE(os.stat(key_file).st_mode), 0o600)
        os.chmod(key_file, 0o644)
        out = subprocess.run([GATEWAY, "run", "--config", config], capture_output=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(b"chmod 600", out.stderr)
        self.assertNotIn(b"listening", out.stdout)


if __name__ == "__main__":
    unittest.main()
