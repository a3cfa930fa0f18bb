# SPDX-License-Identifier: Apache-2.0
"""Helpers for integration tests: a real gateway process on 127.0.0.1 port 0 in a temp dir."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

GATEWAY = os.environ.get("GW_BINARY", "build/bin/gateway")
SOURCE_DIR = os.environ.get("GW_SOURCE_DIR", os.getcwd())
CORPUS_DIR = os.environ.get("GW_CORPUS_DIR", os.path.join(SOURCE_DIR, "..", "shared", "corpus"))
SB, EB, CR = b"\x0b", b"\x1c", b"\r"


def corpus_or_skip(testcase):
    if not os.path.exists(os.path.join(CORPUS_DIR, "index.tsv")):
        raise unittest.SkipTest("../shared/corpus not found beside the checkout; corpus tests skipped")
    return os.path.realpath(CORPUS_DIR)


def midday_zone():
    """A fixed-offset IANA zone where it is now about noon, so the shipped mappings' quiet hours
    (21:00-08:00 local) never hold a message whenever the test runs."""
    import datetime
    offset = 12 - datetime.datetime.now(datetime.timezone.utc).hour
    if offset > 12:
        offset -= 24
    if offset < -11:
        offset += 24
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"  # Etc/GMT-5 is UTC+5


def wait_until(predicate, what, timeout=30):
    """The predicate's first truthy value, polled every 0.1 s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def frame(message: bytes) -> bytes:
    return SB + message + EB + CR


def to_cr(message: bytes) -> bytes:
    """Segment terminators to CR, trailing ones dropped, one final CR."""
    text = message.replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")
    return text + b"\r"


def hl7_message(control_id, message_type="ADT^A03^ADT_A03", facility="DEMO_HOSP",
                patient="Testpatient^Alexa", mrn="SYN000101", extra=b"", msh15=""):
    msh = (f"MSH|^~\\&|SIM_EHR|{facility}|PATIENT_GW|DEMO_HOSP|20261125141500||{message_type}|"
           f"{control_id}|P|2.5.1|||{msh15}").encode()
    pid = f"PID|1||{mrn}^^^DEMO_HOSP^MR||{patient}||19800214|F".encode()
    return msh + CR + b"EVN|A03|20261125141500" + CR + pid + CR + extra


def parse_ack(ack: bytes):
    """Returns dict with msa1, msa2, msa3, err, msh (fields of the ACK)."""
    text = ack.strip(SB + EB + CR + b"\n").decode("utf-8", "replace")
    segments = [s for s in re.split(r"[\r\n]+", text) if s]
    out = {"raw": text, "segments": segments}
    if not segments or not segments[0].startswith("MSH"):
        return out
    sep = segments[0][3]
    out["msh"] = segments[0].split(sep)
    for seg in segments:
        fields = seg.split(sep)
        if fields[0] == "MSA":
            out["msa1"] = fields[1] if len(fields) > 1 else ""
            out["msa2"] = fields[2] if len(fields) > 2 else ""
            out["msa3"] = fields[3] if len(fields) > 3 else ""
        elif fields[0] == "ERR":
            out["err"] = seg
    return out


class MllpConnection:
    """A minimal MLLP client written for the tests (one frame in flight)."""

    def __init__(self, port, host="127.0.0.1", timeout=15):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def read_frame(self):
        while True:
            start = self.buffer.find(SB)
            if start >= 0:
                end = self.buffer.find(EB + CR, start)
                if end >= 0:
                    out = self.buffer[start + 1:end]
                    self.buffer = self.buffer[end + 2:]
                    return out
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk

    def exchange(self, message: bytes):
        self.send_raw(frame(message))
        return self.read_frame()

    def closed_by_peer(self, timeout=10):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def write_config(directory, listener_overrides=None, store_overrides=None, extra=None):
    listener = {"name": "adt", "host": "127.0.0.1", "port": 0}
    listener.update(listener_overrides or {})
    store = {"path": os.path.join(directory, "gateway.db"), "durability": "process"}
    store.update(store_overrides or {})
    config = {
        "logging": {"level": "information", "file": ""},
        "keys": {"key_file": os.path.join(directory, "keys", "gateway.keys"),
                 "generate_if_missing": True},
        "store": store,
        "inbound": {"mllp": [listener]},
    }
    for key, value in (extra or {}).items():
        config[key] = value
    path = os.path.join(directory, "gateway.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


class Gateway:
    """Starts `gateway run` and reads the bound port from its standard output."""

    def __init__(self, config_path, directory):
        self.config_path = config_path
        self.directory = directory
        self.proc = None
        self.port = None
        self.log_path = os.path.join(directory, "gateway.log")

    def start(self, timeout=30):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([GATEWAY, "run", "--config", self.config_path],
                                     stdout=subprocess.PIPE, stderr=self.log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError("gateway exited before listening: " + self.read_log())
            m = re.search(rb"listening on [\d.]+:(\d+)", line)
            if m:
                self.port = int(m.group(1))
                return self
        raise AssertionError("gateway did not report a listener in time")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(sig=signal.SIGKILL)


def run_cli(*args, timeout=120, check=False):
    result = subprocess.run([GATEWAY, *args], capture_output=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"gateway {' '.join(args)} exited {result.returncode}: "
                             f"{result.stderr.decode(errors='replace')}")
    return result


def list_messages(config_path):
    result = run_cli("messages", "list", "--format", "tsv", "--config", config_path, check=True)
    rows = []
    for line in result.stdout.decode().splitlines():
        if line:
            rows.append(line.split("\t"))
    return rows


class GatewayTestCase(unittest.TestCase):
    """Each test gets a temp dir, a config and (after start_gateway) a running gateway."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gw-it-")
        self.gateway = None

    def tearDown(self):
        if self.gateway is not None:
            rc = self.gateway.stop()
            log = self.gateway.read_log()
            self.assertNotIn("ERROR: AddressSanitizer", log)
            self.assertNotIn("runtime error:", log)
            self.assertIn(rc, (0, None), "gateway did not stop cleanly: " + log[-3000:])
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_gateway(self, **config_kwargs):
        self.config_path = write_config(self.dir, **config_kwargs)
        self.gateway = Gateway(self.config_path, self.dir).start()
        return self.gateway
