# SPDX-License-Identifier: Apache-2.0
"""Shared by test_email_delivery.py and test_messaging_api.py (no tests here): a throwaway PKI made
with the openssl CLI, a recording TCP relay in front of a peer (every byte the gateway sent, and
the number of connections), an SMTP server (aiosmtpd, STARTTLS optional) on 127.0.0.1 port 0, and
a runner for the outbound_driver binary."""
import asyncio
import json
import logging
import os
import socket
import ssl
import subprocess
import threading

from aiosmtpd.smtp import SMTP

# aiosmtpd logs every refused handshake with a traceback: the tests expect those.
logging.getLogger("mail.log").setLevel(logging.CRITICAL)

DRIVER = os.environ.get("GW_OUTBOUND_DRIVER", "build-dev/tests/outbound_driver")


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


class Pki:
    """A test CA in `directory` issuing server and S/MIME certificates (RSA 2048, one day)."""

    def __init__(self, directory, name="ca"):
        self.dir = directory
        self.ca_key = os.path.join(directory, f"{name}.key")
        self.ca_cert = os.path.join(directory, f"{name}.pem")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.ca_key,
                "-out", self.ca_cert, "-days", "1", "-subj", f"/CN=Gateway Test CA {name}",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        self.serial = 1

    def issue(self, name, san, extended_usage):
        key = os.path.join(self.dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.pem")
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\nextendedKeyUsage={extended_usage}\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                "-subj", f"/CN={name}", cwd=self.dir)
        self.serial += 1
        openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                "-set_serial", str(self.serial), "-days", "1", "-extfile", ext, "-out", cert,
                cwd=self.dir)
        os.chmod(key, 0o600)
        return cert, key

    def server(self, name, san="IP:127.0.0.1,DNS:localhost"):
        return self.issue(name, san, "serverAuth")

    def smime(self, name, address):
        return self.issue(name, f"email:{address}", "emailProtection")


def server_context(cert, key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class Relay:
    """Listens on 127.0.0.1 port 0 and relays each connection to `upstream_port`, recording every
    byte the client sent (what went over the wire) and counting connections."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.client_bytes = bytearray()
        self.connections = 0
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:  # the peer is gone: the client sees a closed connection
                client.close()
                continue
            with self.lock:
                self.connections += 1
                self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, target, record):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if record:
                    with self.lock:
                        self.client_bytes += data
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def wire(self):
        with self.lock:
            return bytes(self.client_bytes)

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() thread
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                s.close()


class RecordingHandler:
    """aiosmtpd handler keeping every delivered message; RCPT answers can be scripted."""

    def __init__(self):
        self.messages = []  # (mail_from, rcpt_tos, bytes)
        self.rcpt_answers = {}  # address -> reply
        self.data_answers = {}  # address -> reply to the end of the message text
        self.close_after = set()  # addresses after whose message the server drops the connection
        self.abort_in_data = set()  # addresses whose DATA is answered by closing the connection
        self.pipelining = False  # advertise PIPELINING (RFC 2920) after STARTTLS
        self.ehlo_extensions = []  # what the last EHLO advertised
        self.lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # aiosmtpd reads commands one line at a time, so it copes with pipelined clients; it
        # only does not say so.
        session.host_name = hostname
        if self.pipelining and server._tls_protocol is not None:
            responses.insert(-1, "250-PIPELINING")
        self.ehlo_extensions = [r[4:] for r in responses]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_answers:
            return self.rcpt_answers[address]
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.abort_in_data & set(envelope.rcpt_tos):
            server.transport.close()
            return "421 4.3.0 closing"
        for address in envelope.rcpt_tos:
            if address in self.data_answers:
                return self.data_answers[address]
        if self.close_after & set(envelope.rcpt_tos):
            # As an idle timeout would: shortly after the reply, not in the middle of a command.
            asyncio.get_running_loop().call_later(0.1, server.transport.close)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                  envelope.original_content))
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 port 0 in its own event loop thread, behind a Relay. With `tls`
    (cert, key) it offers STARTTLS and requires it; without, it offers none."""

    def __init__(self, tls=None, auth_callback=None):
        self.handler = RecordingHandler()
        self.loop = asyncio.new_event_loop()
        context = server_context(*tls) if tls else None
        kwargs = {"tls_context": context, "require_starttls": context is not None,
                  "hostname": "smtp.test.invalid"}
        if auth_callback:
            # The older auth_callback(mechanism, login, password) -> bool: aiosmtpd 1.4 sends no
            # reply at all when an `authenticator` refuses.
            kwargs.update(auth_callback=auth_callback, auth_require_tls=True)

        def factory():
            return SMTP(self.handler, **kwargs)

        started = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(
                self.loop.create_server(factory, host="127.0.0.1", port=0))
            self.upstream_port = self.server.sockets[0].getsockname()[1]
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(10)
        self.relay = Relay(self.upstream_port)
        self.port = self.relay.port

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def close(self):
        self.relay.close()

        async def stop():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def run_driver(directory, settings, items, threads=1, timeout=120):
    """Writes the settings and items, runs outbound_driver, returns (result lines, connections)."""
    config = os.path.join(directory, "driver.json")
    messages = os.path.join(directory, "items.jsonl")
    with open(config, "w") as f:
        json.dump(settings, f)
    with open(messages, "w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    proc = subprocess.run([DRIVER, "--config", config, "--messages", messages,
                           "--threads", str(threads)], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"outbound_driver exit {proc.returncode}: {proc.stderr}")
    results, connections = [], None
    for line in proc.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "connections":
            connections = int(fields[1])
        else:
            results.append(fields)
    return results, connections


def phi_message(key, email="alexa.testpatient@example.invalid", consented=False, phi=True):
    """A synthetic patient's result message with recognisable PHI markers."""
    return {
        "message_id": 1, "idempotency_key": key, "purpose": "result", "contains_phi": phi,
        "plain_email_consented": consented,
        "content": {
            "language": "en", "recipient_name": "Alexa Testpatient", "email": email,
            "date_of_birth": "1980-02-14", "facility_name": "Demo Hospital",
            "subject": "Your potassium result (SYN000101)",
            "text": "Dear Alexa Testpatient,\nyour potassium result is 4.1 mmol/L (MRN SYN000101).\n"
                    ".\nThis inbox is not for emergencies.\n",
            "html": "<p>Dear Alexa Testpatient, your potassium result is 4.1 mmol/L.</p>",
            "quick_replies": [{"id": "question", "label": "I have a question"}],
        },
    }


# Strings that must never cross the wire in clear or reach a server that failed the checks.
PHI_MARKERS = [b"Testpatient", b"potassium", b"SYN000101", b"alexa.testpatient",
               b"1980-02-14", b"4.1 mmol"]
