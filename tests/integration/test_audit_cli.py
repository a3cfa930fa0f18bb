# SPDX-License-Identifier: Apache-2.0
"""Audit trail end to end: shutdown checkpoint, `gateway audit verify|prove`, `gateway keys
rotate`, and tampering with the database file detected at the right record."""
import os
import re
import sqlite3
import unittest

from gwtest import Gateway, GatewayTestCase, hl7_message, list_messages, run_cli, to_cr


class AuditCliTest(GatewayTestCase):
    def write_messages(self, prefix, count):
        paths = []
        for i in range(count):
            path = os.path.join(self.dir, f"{prefix}-{i}.hl7")
            with open(path, "wb") as f:
                f.write(to_cr(hl7_message(f"{prefix}-{i}", patient=f"Audit^P{prefix}{i}")))
            paths.append(path)
        return paths

    def send(self, port, paths):
        out = run_cli("mllp-send", "--port", str(port), *paths)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().count("\tAA"), len(paths), out.stdout)

    def audit_config(self):
        return {"audit": {"signing_key_file": os.path.join(self.dir, "keys", "audit-signing.pem"),
                          "generate_if_missing": True, "checkpoint_interval_seconds": 3600,
                          "origin": "gateway.test.invalid/audit"}}

    def show_payload(self, message_id):
        return run_cli("messages", "show", message_id, "--payload", "--reason", "audit test",
                       "--config", self.config_path)

    def test_checkpoint_verify_prove_rotate_and_tamper(self):
        gw = self.start_gateway(extra=self.audit_config())
        key_path = os.path.join(self.dir, "keys", "audit-signing.pem")
        self.assertEqual(os.stat(key_path).st_mode & 0o777, 0o600)
        self.send(gw.port, self.write_messages("BEFORE", 3))
        self.assertEqual(self.gateway.stop(), 0)  # SIGTERM: shutdown checkpoint
        self.assertIn("audit checkpoint at size 3", self.gateway.read_log())

        verify = run_cli("audit", "verify", "--config", self.config_path)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        self.assertRegex(verify.stdout.decode(),
                         r"^ok: 3 records, root [0-9a-f]{64}, checkpoint at size 3 verified")

        prove = run_cli("audit", "prove", "--index", "1", "--config", self.config_path)
        self.assertEqual(prove.returncode, 0, prove.stderr)
        text = prove.stdout.decode()
        self.assertIn("seq: 2\n", text)
        self.assertIn("tree_size: 3\n", text)
        self.assertRegex(text, r"leaf_hash: [0-9a-f]{64}\n")
        self.assertEqual(len(re.findall(r"^path\[\d\]: [0-9a-f]{64}$", text, re.M)), 2)
        self.assertIn("gateway.test.invalid/audit\n3\n", text)  # the signed checkpoint
        self.assertIn("verified: record seq=2", text)
        self.assertEqual(run_cli("audit", "prove", "--index", "3", "--config",
                                 self.config_path).returncode, 3)

        old_key = self.key_ids()[-1]
        rotate = run_cli("keys", "rotate", "--config", self.config_path)
        self.assertEqual(rotate.returncode, 0, rotate.stderr)
        new_key = rotate.stdout.decode().strip()
        self.assertRegex(new_key, r"^kek-\d{8}-[0-9a-f]{8}$")
        self.assertEqual(self.key_ids(), [old_key, new_key])

        self.gateway = Gateway(self.config_path, self.dir).start()
        self.send(self.gateway.port, self.write_messages("AFTER", 2))
        self.assertEqual(self.gateway.stop(), 0)

        rows = list_messages(self.config_path)
        self.assertEqual(len(rows), 5)
        for row in rows:  # messages sealed under the old and under the new key
            show = self.show_payload(row[0])
            self.assertEqual(show.returncode, 0, show.stderr)
            self.assertIn(row[3], show.stdout.decode())
        with sqlite3.connect(os.path.join(self.dir, "gateway.db")) as db:
            audit = db.execute("SELECT seq, actor, action, object FROM audit_records "
                               "ORDER BY seq").fetchall()
        rotated = [r for r in audit if r[2] == "key_rotated"]
        self.assertEqual(len(rotated), 1)
        self.assertEqual(rotated[0][0], 4)
        self.assertTrue(rotated[0][1].startswith("operator:"))
        self.assertEqual(rotated[0][3], "kek:" + new_key)
        verify = run_cli("audit", "verify", "--config", self.config_path)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        # 3 received + key_rotated + 2 received + 5 payload views
        self.assertIn("ok: 11 records", verify.stdout.decode())

        # An attacker with the database file: drop the trigger, rewrite a record.
        db = sqlite3.connect(os.path.join(self.dir, "gateway.db"))
        db.execute("DROP TRIGGER audit_records_no_update")
        db.execute("UPDATE audit_records SET actor = 'listener:nobody' WHERE seq = 2")
        db.commit()
        db.close()
        verify = run_cli("audit", "verify", "--config", self.config_path)
        self.assertEqual(verify.returncode, 1, verify.stdout)
        self.assertIn("audit record seq=2: leaf hash mismatch", verify.stderr.decode())
        self.gateway = None

    def key_ids(self):
        with open(os.path.join(self.dir, "keys", "gateway.keys")) as f:
            return [line.split()[0] for line in f if line.strip() and not line.startswith("#")]


if __name__ == "__main__":
    unittest.main()
