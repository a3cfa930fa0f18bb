# SPDX-License-Identifier: Apache-2.0
"""kill -9 in the middle of a stream: every message answered AA is stored exactly once."""
import random
import threading
import time
import unittest

from gwtest import Gateway, GatewayTestCase, MllpConnection, hl7_message, list_messages, parse_ack

TOTAL = 5000


class CrashRecoveryTest(GatewayTestCase):
    def send_until_failure(self, port, pending, acked, stop_after=None):
        """Sends pending control ids in order; returns when done or the connection breaks."""
        try:
            conn = MllpConnection(port, timeout=10)
        except OSError:
            return
        try:
            while pending:
                control_id = pending[0]
                ack = conn.exchange(hl7_message(control_id, patient=f"Crashtest^P{control_id}"))
                if ack is None:
                    return
                parsed = parse_ack(ack)
                if parsed.get("msa1") == "AA" and parsed.get("msa2") == control_id:
                    acked.append(control_id)
                    pending.pop(0)
                else:
                    return  # AR (shutting down): resend later
        except OSError:
            return
        finally:
            conn.close()

    def test_kill_9_then_resend_loses_and_duplicates_nothing(self):
        gw = self.start_gateway(store_overrides={"durability": "process"})
        pending = [f"CRASH-{i:05d}" for i in range(TOTAL)]
        acked = []
        rng = random.Random()
        kill_after = rng.randint(TOTAL // 10, TOTAL * 8 // 10)

        def killer():
            # Kill once roughly `kill_after` messages were acknowledged (a random moment).
            while len(acked) < kill_after and gw.proc is not None and gw.proc.poll() is None:
                time.sleep(0.001)
            gw.proc.kill()

        t = threading.Thread(target=killer)
        t.start()
        self.send_until_failure(gw.port, pending, acked)
        t.join()
        gw.proc.wait()
        acked_before_kill = len(acked)
        self.assertLess(acked_before_kill, TOTAL, "the kill happened mid-stream")
        self.gateway.stop()

        # Restart on the same files; the client resends everything not acknowledged (including
        # the one in flight at the kill, which may already be committed).
        self.gateway = Gateway(self.config_path, self.dir).start()
        for _ in range(3):
            if not pending:
                break
            self.send_until_failure(self.gateway.port, pending, acked)
        self.assertEqual(pending, [])
        rows = list_messages(self.config_path)
        stored = [r[3] for r in rows]
        self.assertEqual(len(stored), len(set(stored)), "no message stored twice")
        self.assertEqual(set(stored), set(acked), "every AA'd message stored, nothing else")
        self.assertEqual(len(stored), TOTAL)
        print(f"killed after {acked_before_kill} ACKs; {TOTAL} stored once each")


if __name__ == "__main__":
    unittest.main()
