# SPDX-License-Identifier: Apache-2.0
"""Every HL7 v2 message of ../shared/corpus sent to the real gateway by real clients."""
import csv
import os
import re
import subprocess
import unittest

from gwtest import (GatewayTestCase, MllpConnection, corpus_or_skip, frame, hl7_message,
                    list_messages, parse_ack, run_cli, to_cr)


def header(message: bytes):
    """MSH-3, MSH-4, MSH-10, MSH-15, MSH-16 read the simple way (independent of the gateway)."""
    text = message[3:] if message.startswith(b"\xef\xbb\xbf") else message
    first = re.split(rb"\r\n|\r|\n", text.lstrip(b"\r\n "))[0]
    fields = first.split(first[3:4])
    get = lambda n: fields[n - 1] if len(fields) >= n else b""  # MSH-n is fields[n-1]
    msh2 = get(2)
    # Usable header: MSH-9 and MSH-10 valued, MSH-2 without a delimiter used twice.
    valid = bool(get(9)) and bool(get(10)) and len(set(msh2)) == len(msh2)
    return {"msh3": get(3), "msh4": get(4), "msh9": get(9), "msh10": get(10),
            "msh15": get(15).strip(), "msh16": get(16).strip(), "valid": valid}


def msa_fields(output: bytes):
    """(MSA-1, MSA-2) of every ACK in mllp_send's output, whatever each ACK's field separator."""
    found = []
    for chunk in re.split(rb"(?=MSH[^A-Za-z0-9\s])", output)[1:]:
        sep = chunk[3:4]
        for segment in re.split(rb"[\r\n]+", chunk):
            if segment.startswith(b"MSA" + sep):
                fields = segment.split(sep)
                found.append((fields[1], fields[2] if len(fields) > 2 else b""))
    return found


def load_corpus(corpus):
    rows = []
    with open(os.path.join(corpus, "index.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if row["path"].startswith("hl7v2/"):
                with open(os.path.join(corpus, row["path"]), "rb") as m:
                    data = m.read()
                rows.append((row["path"], data, header(data)))
    return rows


class CorpusSendTest(GatewayTestCase):
    def test_every_corpus_message_is_answered_and_stored_once(self):
        corpus = corpus_or_skip(self)
        messages = load_corpus(corpus)
        self.assertGreater(len(messages), 900)
        gw = self.start_gateway(listener_overrides={"max_frame_bytes": 4 * 1024 * 1024})

        # Enhanced mode (HL7 v2.5.1 ch. 2.9.3): a valid message whose MSH-15 wants no commit ACK
        # on success (NE, ER) and whose MSH-16 wants no application ACK on success (anything but
        # AL/SU) gets no answer. Those go through our own client, each followed by a probe whose
        # ACK must be the next frame.
        def silent_on_success(h):
            return (h["valid"] and h["msh15"].upper() in (b"NE", b"ER")
                    and h["msh16"].upper() not in (b"AL", b"SU"))
        silent = [m for m in messages if silent_on_success(m[2])]
        acked = [m for m in messages if m not in silent]

        stream = b"".join(frame(to_cr(data[3:] if data.startswith(b"\xef\xbb\xbf") else data))
                          for _, data, _ in acked)
        # python-hl7 reads an MLLP-framed stream from --file (its stdin mode is broken in 0.4.5).
        stream_path = os.path.join(self.dir, "corpus.mllp")
        with open(stream_path, "wb") as f:
            f.write(stream)
        out = subprocess.run(["mllp_send", "--file", stream_path, "--port", str(gw.port), "127.0.0.1"],
                             capture_output=True, timeout=600)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        acks = msa_fields(out.stdout)
        self.assertEqual(len(acks), len(acked), "one ACK per message")
        expected_ae = 0
        for (path, _, h), (code, control_id) in zip(acked, acks):
            self.assertEqual(control_id, h["msh10"], path)
            if not h["valid"]:
                self.assertEqual(code, b"AE", path)
                expected_ae += 1
            else:
                self.assertIn(code, (b"AA", b"CA"), path)

        conn = MllpConnection(gw.port)
        for i, (path, data, h) in enumerate(silent):
            conn.send_raw(frame(to_cr(data)))
            probe = parse_ack(conn.exchange(hl7_message(f"PROBE-{i}")))
            self.assertEqual(probe["msa2"], f"PROBE-{i}", f"{path} must not be answered")
        conn.close()

        valid = [m for m in messages if m[2]["valid"]]
        keys = {(h["msh3"], h["msh4"], h["msh10"]) for _, _, h in valid}
        rows = [r for r in list_messages(self.config_path) if not r[3].startswith("PROBE-")]
        self.assertEqual(len(rows), len(keys), "each (MSH-3, MSH-4, MSH-10) stored exactly once")
        self.assertEqual(len(valid), len(messages) - expected_ae)

    def test_gateway_mllp_send_sends_the_whole_corpus(self):
        corpus = corpus_or_skip(self)
        gw = self.start_gateway(listener_overrides={"max_frame_bytes": 4 * 1024 * 1024})
        singles = sorted(os.path.join(corpus, "hl7v2", f) for f in os.listdir(os.path.join(corpus, "hl7v2")))
        batch_dir = os.path.join(corpus, "hl7v2-batch")
        batches = sorted(os.path.join(batch_dir, f) for f in os.listdir(batch_dir))
        out = run_cli("mllp-send", "--port", str(gw.port), *singles, *batches, timeout=600)
        lines = out.stdout.decode(errors="replace").splitlines()
        self.assertIn(out.returncode, (0, 1), out.stderr)
        # One line per message: one per single-message file, at least one per batch.
        self.assertGreaterEqual(len(lines), len(singles) + len(batches), out.stderr[-2000:])
        invalid = sum(1 for line in lines if "\tAE" in line)
        self.assertLessEqual(invalid, 6, [l for l in lines if "\tAE" in l])
        self.assertEqual(out.returncode, 1 if invalid else 0)
        for line in lines:
            self.assertRegex(line, r"\t(AA|CA|AE|sent \(no ACK requested\))", line)

    def test_bad_corpus_files_get_answers_and_the_gateway_keeps_serving(self):
        corpus = corpus_or_skip(self)
        gw = self.start_gateway()
        bad_dir = os.path.join(corpus, "hl7v2-bad")
        for name in sorted(os.listdir(bad_dir)):
            with open(os.path.join(bad_dir, name), "rb") as f:
                data = f.read()
            conn = MllpConnection(gw.port)
            conn.send_raw(frame(data))
            conn.send_raw(frame(hl7_message("AFTER-BAD")))
            answers = []
            while True:
                ack = conn.read_frame()
                if ack is None:
                    break
                answers.append(parse_ack(ack))
                if answers[-1].get("msa2") == "AFTER-BAD":
                    break
            conn.close()
            self.assertTrue(answers and answers[-1].get("msa2") == "AFTER-BAD",
                            f"{name}: the connection stopped serving")
            for a in answers[:-1]:
                self.assertIn(a.get("msa1"), ("AA", "CA", "AE", "AR"), name)


if __name__ == "__main__":
    unittest.main()
