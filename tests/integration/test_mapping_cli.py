# SPDX-License-Identifier: Apache-2.0
"""`gateway mapping test`: the real binary over the shipped mappings and samples."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from gwtest import GATEWAY, SOURCE_DIR

MAPPINGS = os.path.join(SOURCE_DIR, "mappings")
SAMPLES = os.path.join(SOURCE_DIR, "samples")


def run(*args):
    return subprocess.run([GATEWAY, "mapping", "test", *args], capture_output=True, text=True,
                          timeout=120)


class MappingCliTest(unittest.TestCase):
    def test_samples_produce_messages_or_say_why_not(self):
        inputs = [os.path.join(SAMPLES, "hl7", f) for f in
                  ("adt_a03_discharge.hl7", "oru_r01_result.hl7", "siu_s12_appointment.hl7",
                   "batch_two_results.hl7", "adt_a01_admit.hl7")]
        inputs += [os.path.join(SAMPLES, "fhir", f) for f in
                   ("encounter_finished.json", "diagnostic_report_final.json",
                    "appointment_booked.json")]
        result = run("--mapping", MAPPINGS, "--now", "2026-11-24T15:00:00Z", *inputs)
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        outcomes = [(e["input"], e["outcome"]) for e in report]
        self.assertEqual(outcomes, [
            ("adt_a03_discharge.hl7", "mapped"), ("oru_r01_result.hl7", "mapped"),
            ("siu_s12_appointment.hl7", "mapped"), ("batch_two_results.hl7", "held"),
            ("batch_two_results.hl7", "held"), ("adt_a01_admit.hl7", "ignored"),
            ("encounter_finished.json", "mapped"), ("diagnostic_report_final.json", "mapped"),
            ("appointment_booked.json", "mapped")])
        self.assertEqual(report[3]["reason"], "missing patient.email")
        self.assertEqual(report[5]["reason"], "no mapping matched hl7v2 ADT^A01")
        languages = [m["content"]["language"] for e in report for m in e["messages"]]
        self.assertEqual(languages, ["en", "es", "en", "es", "en", "en"])
        for event in report:
            for message in event["messages"]:
                self.assertTrue(message["content"]["email"].endswith("@example.invalid"))
                self.assertIn("emergenc", message["content"]["text"])
                # Metadata carries keys, never the identifiers they are made from.
                self.assertNotIn("SYN", json.dumps({k: v for k, v in message.items()
                                                    if k != "content"}))

    def test_one_mapping_file_and_a_sequence(self):
        hl7 = os.path.join(SOURCE_DIR, "tests", "data", "mappings", "discharge-aftercare",
                           "cancel_discharge_retracts_unsent.hl7")
        # Only the discharge mapping: the A13 then matches nothing and retracts nothing.
        result = run("--mapping", os.path.join(MAPPINGS, "discharge-aftercare.json"),
                     "--now", "2026-11-25T19:30:00Z", hl7)
        self.assertEqual(result.returncode, 0, result.stderr)
        report = json.loads(result.stdout)
        self.assertEqual([e["outcome"] for e in report], ["mapped", "ignored", "mapped"])
        self.assertEqual(report[1]["transitions"], [])

    def test_bad_mapping_reports_every_error_and_exits_78(self):
        with tempfile.TemporaryDirectory() as tmp:
            directory = os.path.join(tmp, "mappings")
            shutil.copytree(MAPPINGS, directory)
            path = os.path.join(directory, "lab-results.json")
            with open(path, encoding="utf-8") as f:
                text = f.read()
            text = text.replace('"purpose": "result"', '"purpse": "result"')
            text = text.replace('"PID-5.2"', '"PID-0"')
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            result = run("--mapping", directory, os.path.join(SAMPLES, "hl7", "oru_r01_result.hl7"))
        self.assertEqual(result.returncode, 78)
        self.assertEqual(result.stdout, "")
        lines = result.stderr.strip().splitlines()
        self.assertGreaterEqual(len(lines), 3, result.stderr)
        for line in lines:
            self.assertRegex(line, r"^.*mappings/lab-results\.json:\d+:\d+: error: ")
        self.assertIn('unknown key "purpse" in mapping (did you mean "purpose"?)', result.stderr)
        self.assertIn('"PID-0" is not an HL7 v2 path', result.stderr)

    def test_unreadable_input_exits_2(self):
        with tempfile.NamedTemporaryFile(suffix=".hl7") as f:
            f.write(b"not hl7")
            f.flush()
            result = run("--mapping", MAPPINGS, f.name)
        self.assertEqual(result.returncode, 2)
        self.assertIn("no HL7 v2 message", result.stderr)


if __name__ == "__main__":
    unittest.main()
