# SPDX-License-Identifier: Apache-2.0
"""Per-key encryption counts survive restarts: the gateway reserves blocks of uses of the active
key-encryption key in "<key file>.usage" (mode 0600) and resumes at the reserved mark after a
restart; `gateway keys rotate` reports them."""
import os
import re
import sqlite3
import unittest

from gwtest import GatewayTestCase, hl7_message, list_messages, run_cli, to_cr

BLOCK = 65536


class KeyUsageTest(GatewayTestCase):
    def send(self, prefix, count):
        paths = []
        for i in range(count):
            path = os.path.join(self.dir, f"{prefix}-{i}.hl7")
            with open(path, "wb") as f:
                f.write(to_cr(hl7_message(f"{prefix}-{i}")))
            paths.append(path)
        out = run_cli("mllp-send", "--port", str(self.gateway.port), *paths)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().count("\tAA"), count, out.stdout)

    def ledger(self):
        path = os.path.join(self.dir, "keys", "gateway.keys.usage")
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        with open(path) as f:
            return dict(line.split() for line in f if line.strip() and not line.startswith("#"))

    def key_ids(self):
        with open(os.path.join(self.dir, "keys", "gateway.keys")) as f:
            return [line.split()[0] for line in f if line.strip() and not line.startswith("#")]

    def test_counts_resume_at_the_reserved_mark_after_a_restart(self):
        self.start_gateway()
        self.assertFalse(os.path.exists(os.path.join(self.dir, "keys", "gateway.keys.usage")))
        self.send("A", 3)
        [key] = self.key_ids()
        self.assertEqual(self.ledger(), {key: str(BLOCK)})  # one block, not one write per seal
        self.assertEqual(self.gateway.stop(), 0)

        self.gateway.start()
        self.send("B", 2)
        # The first block may have been used up to its end before the restart: a new one.
        self.assertEqual(self.ledger(), {key: str(2 * BLOCK)})
        self.assertEqual(self.gateway.stop(), 0)

        rotate = run_cli("keys", "rotate", "--config", self.config_path)
        self.assertEqual(rotate.returncode, 0, rotate.stderr)
        self.assertIn(f"key {key}: {2 * BLOCK} of 4294967296 encryptions reserved",
                      rotate.stderr.decode())
        new_key = rotate.stdout.decode().strip()
        self.gateway.start()
        self.send("C", 1)
        self.assertEqual(self.ledger(), {key: str(2 * BLOCK), new_key: str(BLOCK)})

    def key_counts(self, command):
        """(table, key id) -> count from `keys status` / `keys rewrap` output."""
        counts = {}
        for line in command.stdout.decode().splitlines():
            table, key, count = line.split("\t") if line.count("\t") == 2 else (None, None, None)
            if table is not None:
                counts[(table, key)] = int(count)
        return counts

    def test_rewrap_moves_every_ciphertext_to_the_rotated_key(self):
        self.start_gateway()
        self.send("OLD", 3)
        self.assertEqual(self.gateway.stop(), 0)
        [old_key] = self.key_ids()
        rotate = run_cli("keys", "rotate", "--config", self.config_path)
        self.assertEqual(rotate.returncode, 0, rotate.stderr)
        new_key = rotate.stdout.decode().strip()

        status = run_cli("keys", "status", "--config", self.config_path)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertEqual(self.key_counts(status)[("inbound_events", old_key)], 3)
        self.assertIn(f"active\t{new_key}\n", status.stdout.decode())

        # While the gateway (restarted with the rotated key file) takes new messages.
        self.gateway.start()
        self.send("NEW", 2)
        rewrap = run_cli("keys", "rewrap", "--batch", "2", "--config", self.config_path)
        self.assertEqual(rewrap.returncode, 0, rewrap.stderr)
        self.assertIn(f"under {new_key}, 0 could not be opened", rewrap.stderr.decode())
        counts = self.key_counts(rewrap)
        self.assertEqual(counts[("inbound_events", new_key)], 5)
        self.assertNotIn(old_key, {key for (_, key) in counts})
        self.send("LATER", 1)
        self.assertEqual(self.gateway.stop(), 0)

        for row in list_messages(self.config_path):  # every payload opens under the new key
            show = run_cli("messages", "show", row[0], "--payload", "--reason", "rewrap test",
                           "--config", self.config_path)
            self.assertEqual(show.returncode, 0, show.stderr)
            self.assertIn(row[3], show.stdout.decode())
        with sqlite3.connect(os.path.join(self.dir, "gateway.db")) as db:
            rewrapped = db.execute("SELECT count(*) FROM audit_records WHERE action = "
                                   "'key_rewrapped' AND reason = ?",
                                   (f"kek {old_key} -> {new_key}",)).fetchone()[0]
        self.assertGreaterEqual(rewrapped, 3)  # and any patient messages the mapper sealed
        again = run_cli("keys", "rewrap", "--config", self.config_path)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("0 ciphertext(s) re-wrapped", again.stderr.decode())

    def test_a_ledger_readable_by_others_is_refused(self):
        self.start_gateway()
        self.send("A", 1)
        self.assertEqual(self.gateway.stop(), 0)
        os.chmod(os.path.join(self.dir, "keys", "gateway.keys.usage"), 0o644)
        result = run_cli("run", "--config", self.config_path, timeout=60)
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stderr.decode(), r"key usage ledger .* is accessible by")
        self.gateway = None  # not running


if __name__ == "__main__":
    unittest.main()
