# SPDX-License-Identifier: Apache-2.0
"""Per-key encryption counts survive restarts: the gateway reserves blocks of uses of the active
key-encryption key in "<key file>.usage" (mode 0600) and resumes at the reserved mark after a
restart; `gateway keys rotate` reports them."""
import os
import re
import unittest

from gwtest import GatewayTestCase, hl7_message, run_cli, to_cr

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
