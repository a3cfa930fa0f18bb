# SPDX-License-Identifier: Apache-2.0
"""FHIR R4 intake end to end: the real gateway over loopback, driven with curl.

Every file of ../shared/corpus/fhir is posted and must get the status the rules in
adapters/inbound/fhir/README.md give it (computed here, independently of the C++ code); resends
are answered from the first commit; JSON and XML of the same content are the same event; bad
input, authentication (JWTs signed by keys the test makes with the openssl CLI, mutual TLS) and
subscription notifications (gaps are audited)."""
import base64
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from gwtest import CORPUS_DIR, Gateway, GatewayTestCase, corpus_or_skip, list_messages, run_cli

FHIR_NS = "http://hl7.org/fhir"
SUPPORTED = {"Encounter", "DiagnosticReport", "Observation", "Appointment", "Patient"}
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}
AUDIENCE = "https://gateway.example.invalid/fhir"
# Synthetic PHI of the test's own resources: never in an error reply, log or the database file.
PHI = [b"Testpatient", b"Alexa", b"SYN000404", b"1980-02-14", b"example.invalid/patient"]


# --- canonical form (the same shape as gw::fhir::canonicalJson, written independently) --------

def _prim(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return value


def canon_json_object(obj, name=""):
    out = {}
    if "resourceType" in obj:
        out["@resourceType"] = obj["resourceType"]
    names = []
    for key in obj:
        if key in ("resourceType", "fhir_comments"):
            continue
        base = key[1:] if key.startswith("_") else key
        if base not in names:
            names.append(base)
    for child in names:
        if name == "text" and child == "div":
            continue  # narrative xhtml is not part of the event
        values, extras = obj.get(child), obj.get("_" + child)
        values = values if isinstance(values, list) else ([] if values is None else [values])
        extras = extras if isinstance(extras, list) else ([] if extras is None else [extras])
        items = []
        for i in range(max(len(values), len(extras))):
            value = values[i] if i < len(values) else None
            extra = extras[i] if i < len(extras) else None
            if isinstance(value, dict):
                items.append(canon_json_object(value, child))
                continue
            item = {}
            if value is not None:
                item["@value"] = _prim(value)
            if isinstance(extra, dict):
                item.update(canon_json_object(extra, child))
            items.append(item)
        out[child] = items
    return out


def canon_json(data: bytes):
    text = data.decode("utf-8-sig")
    return canon_json_object(json.loads(text, parse_float=str, parse_int=str,
                                        parse_constant=str))


def _split(tag):
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def canon_xml_element(element, root=False):
    children = [c for c in element if _split(c.tag)[0] == FHIR_NS]
    if not root and len(children) == 1 and _split(children[0].tag)[1][:1].isupper():
        return canon_xml_element(children[0], root=True)  # <resource><Patient>...</Patient>
    out = {}
    if root:
        out["@resourceType"] = _split(element.tag)[1]
    if element.get("value") is not None:
        out["@value"] = element.get("value")
    for attribute in ("id", "url"):
        if element.get(attribute) is not None:
            out.setdefault(attribute, []).append({"@value": element.get(attribute)})
    for child in children:
        name = _split(child.tag)[1]
        out.setdefault(name, []).append(canon_xml_element(child))
    return out


def canon_xml(data: bytes):
    return canon_xml_element(ET.fromstring(data), root=True)


def canon(path_or_bytes, is_xml):
    return canon_xml(path_or_bytes) if is_xml else canon_json(path_or_bytes)


# --- the documented rules (adapters/inbound/fhir/README.md, "What is accepted") -------------

def first(node, name):
    items = node.get(name) or []
    return items[0] if items else None


def value(node, name):
    item = first(node, name) if node else None
    return item.get("@value") if item else None


def parameter(params, name):
    for p in params.get("parameter", []):
        if value(p, "name") == name:
            return p
    return None


def parameter_value(p):
    for key, items in p.items():
        if key.startswith("value") and len(key) > 5 and items:
            item = items[0]
            if "@value" in item:
                return item["@value"]
            return value(item, "reference")
    return None


def endpoint_for(c):
    if c["@resourceType"] == "Bundle":
        return "$process-message" if value(c, "type") == "message" else "Bundle"
    return c["@resourceType"]


def expected_outcome(c):
    """(HTTP status, "stored" | "notification" | None) for a resource posted to endpoint_for()."""
    rtype = c["@resourceType"]
    if rtype == "Bundle":
        btype = value(c, "type")
        entries = c.get("entry", [])
        if btype == "message":
            header = first(entries[0], "resource") if entries else None
            if not header or header.get("@resourceType") != "MessageHeader":
                return 422, None
            if "eventCoding" in header:
                if not value(first(header, "eventCoding"), "code"):
                    return 422, None
            elif not value(header, "eventUri"):
                return 422, None
            if not (value(c, "id") or value(header, "id")):
                return 422, None
            return 200, "stored"
        if btype not in ("transaction", "batch", "collection", "history"):
            return 422, None
        if btype in ("transaction", "batch"):
            for entry in entries:
                request = first(entry, "request")
                if not request or not value(request, "method") or not value(request, "url"):
                    return 422, None
        status = first(entries[0], "resource") if entries else None
        if (btype == "history" and status and status.get("@resourceType") == "Parameters" and
                parameter(status, "type")):
            subscription = parameter(status, "subscription")
            if not subscription or not parameter_value(subscription):
                return 422, None
            if len(parameter_value(subscription)) > 200:
                return 422, None
            kind = parameter_value(parameter(status, "type"))
            since = parameter(status, "events-since-subscription-start")
            if since is not None and not str(parameter_value(since) or "").isdigit():
                return 422, None
            if kind not in ("handshake", "heartbeat", "event-notification", "query-status",
                            "query-event"):
                return 422, None
            sub_status = parameter(status, "status")
            if kind == "query-status" and not (sub_status and parameter_value(sub_status)):
                return 422, None  # sst-2
            numbers = [parameter_value(part) for p in status.get("parameter", [])
                       if value(p, "name") == "notification-event"
                       for part in p.get("part", []) if value(part, "name") == "event-number"]
            if any(not str(n or "").isdigit() for n in numbers):
                return 422, None
            if kind in ("handshake", "heartbeat", "query-status"):
                return 200, "notification"
            if not numbers and (kind == "query-event" or since is None):
                return 422, None  # sst-1
            return 200, "stored"
        return 200, "stored"
    if rtype not in SUPPORTED:
        return 404, None
    need = {"Observation": ["status", "code"], "DiagnosticReport": ["status", "code"],
            "Encounter": ["status", "class"], "Appointment": ["status", "participant"]}
    for element in need.get(rtype, []):
        if element not in c:
            return 422, None
    if rtype == "Observation" and value(c, "status") not in OBSERVATION_STATUS:
        return 422, None
    return 201, "stored"


# --- HTTP with curl ---------------------------------------------------------------------------

class Reply:
    def __init__(self, status, headers, body, curl_rc=0, stderr=b""):
        self.status, self.headers, self.body = status, headers, body
        self.curl_rc, self.stderr = curl_rc, stderr

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


def curl(url, data=None, file=None, content_type=None, headers=(), method=None, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        body_path, head_path = os.path.join(tmp, "body"), os.path.join(tmp, "head")
        args = ["curl", "-sS", "-o", body_path, "-D", head_path, "-w", "%{http_code}",
                "--max-time", "60", *extra]
        if method:
            args += ["-X", method]
        if content_type:
            args += ["-H", "Content-Type: " + content_type]
        for h in headers:
            args += ["-H", h]
        if file is not None:
            args += ["--data-binary", "@" + file]
        elif data is not None:
            data_path = os.path.join(tmp, "data")
            with open(data_path, "wb") as f:
                f.write(data)
            args += ["--data-binary", "@" + data_path]
        args.append(url)
        out = subprocess.run(args, capture_output=True, timeout=120)
        status = int(out.stdout.decode() or 0) if out.stdout.strip().isdigit() else 0
        head = open(head_path, "rb").read().decode("latin-1") if os.path.exists(head_path) else ""
        parsed = {}
        for line in head.splitlines():
            if ":" in line:
                name, _, val = line.partition(":")
                parsed[name.strip().lower()] = val.strip()
        body = open(body_path, "rb").read() if os.path.exists(body_path) else b""
        return Reply(status, parsed, body, out.returncode, out.stderr)


# --- keys, tokens and certificates made by the test -------------------------------------------

def openssl(*args, cwd, data=None):
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                          input=data).stdout


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def der_to_raw(der: bytes, size: int) -> bytes:
    """ECDSA-Sig-Value (DER) to the JWS R||S form."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        length = der[i + 1]
        number = der[i + 2:i + 2 + length].lstrip(b"\x00")
        out += number.rjust(size, b"\x00")
        i += 2 + length
    return out


def make_jwt(directory, key, alg, claims, header=None):
    head = {"alg": alg, "typ": "JWT"}
    head.update(header or {})
    signing_input = b64u(json.dumps(head).encode()) + "." + b64u(json.dumps(claims).encode())
    signature = openssl("dgst", "-sha384", "-sign", key, cwd=directory,
                        data=signing_input.encode())
    if alg == "ES384":
        signature = der_to_raw(signature, 48)
    return signing_input + "." + b64u(signature)


def claims(issuer, lifetime=300, audience=AUDIENCE, **extra):
    now = int(time.time())
    out = {"iss": issuer, "sub": issuer, "aud": audience, "exp": now + lifetime, "iat": now,
           "jti": b64u(os.urandom(12))}
    out.update(extra)
    return out


def make_keys(directory):
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
            "rsa.key", cwd=directory)
    openssl("pkey", "-in", "rsa.key", "-pubout", "-out", "rsa.pub", cwd=directory)
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out",
            "ec.key", cwd=directory)
    openssl("pkey", "-in", "ec.key", "-pubout", "-out", "ec.pub", cwd=directory)
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
            "stranger.key", cwd=directory)


def make_pki(directory):
    """A CA, a server certificate for 127.0.0.1, and two client certificates."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "2", "-subj", "/CN=Test CA", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name, subject, ext in (("server", "/CN=localhost", ["-extfile", "server.ext"]),
                               ("client", "/CN=ehr-mtls/O=Synthetic Hospital", []),
                               ("unknown", "/CN=not-a-client/O=Synthetic Hospital", [])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", subject, cwd=directory)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *ext, cwd=directory)
    for key in ("ca.key", "server.key", "client.key", "unknown.key"):
        os.chmod(os.path.join(directory, key), 0o600)


# --- synthetic resources ----------------------------------------------------------------------

MESSAGE_JSON = {
    "resourceType": "Bundle", "id": "SYN-MSG-0001", "type": "message",
    "timestamp": "2026-11-25T14:15:00Z",
    "entry": [
        {"fullUrl": "urn:uuid:0b1f0000-0000-4000-8000-000000000001",
         "resource": {"resourceType": "MessageHeader", "id": "0b1f0000-0000-4000-8000-000000000001",
                      "eventCoding": {"system": "http://terminology.hl7.org/CodeSystem/v2-0003",
                                      "code": "A03"},
                      "source": {"name": "SIM_EHR", "endpoint": "https://ehr.example.invalid/fhir"},
                      "focus": [{"reference": "Encounter/enc-1"}]}},
        {"fullUrl": "https://ehr.example.invalid/fhir/Patient/pat-1",
         "resource": {"resourceType": "Patient", "id": "pat-1",
                      "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.0",
                                      "value": "SYN000404"}],
                      "name": [{"family": "Testpatient", "given": ["Alexa"]}],
                      "birthDate": "1980-02-14",
                      "telecom": [{"system": "email",
                                   "value": "alexa@example.invalid"}]}},
        {"fullUrl": "https://ehr.example.invalid/fhir/Encounter/enc-1",
         "resource": {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
                      "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                "code": "IMP"},
                      "subject": {"reference": "Patient/pat-1"},
                      "period": {"start": "2026-11-20T08:00:00Z",
                                 "end": "2026-11-25T14:00:00Z"}}},
    ],
}

MESSAGE_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<Bundle xmlns="http://hl7.org/fhir">
  <id value="SYN-MSG-0001"/>
  <type value="message"/>
  <timestamp value="2026-11-25T14:15:00Z"/>
  <entry>
    <fullUrl value="urn:uuid:0b1f0000-0000-4000-8000-000000000001"/>
    <resource><MessageHeader>
      <id value="0b1f0000-0000-4000-8000-000000000001"/>
      <eventCoding><system value="http://terminology.hl7.org/CodeSystem/v2-0003"/><code value="A03"/></eventCoding>
      <source><name value="SIM_EHR"/><endpoint value="https://ehr.example.invalid/fhir"/></source>
      <focus><reference value="Encounter/enc-1"/></focus>
    </MessageHeader></resource>
  </entry>
  <entry>
    <fullUrl value="https://ehr.example.invalid/fhir/Patient/pat-1"/>
    <resource><Patient>
      <id value="pat-1"/>
      <identifier><system value="urn:oid:2.16.840.1.113883.3.0"/><value value="SYN000404"/></identifier>
      <name><family value="Testpatient"/><given value="Alexa"/></name>
      <telecom><system value="email"/><value value="alexa@example.invalid"/></telecom>
      <birthDate value="1980-02-14"/>
    </Patient></resource>
  </entry>
  <entry>
    <fullUrl value="https://ehr.example.invalid/fhir/Encounter/enc-1"/>
    <resource><Encounter>
      <id value="enc-1"/>
      <status value="finished"/>
      <class><system value="http://terminology.hl7.org/CodeSystem/v3-ActCode"/><code value="IMP"/></class>
      <subject><reference value="Patient/pat-1"/></subject>
      <period><start value="2026-11-20T08:00:00Z"/><end value="2026-11-25T14:00:00Z"/></period>
    </Encounter></resource>
  </entry>
</Bundle>
"""

PATIENT_JSON = json.dumps({
    "resourceType": "Patient", "id": "pat-2", "active": True,
    "name": [{"family": "Testpatient", "given": ["Alexa"]}], "birthDate": "1980-02-14",
    "address": [{"line": ["1 example.invalid/patient street"]}]}).encode()
PATIENT_XML = (b'<Patient xmlns="http://hl7.org/fhir"><id value="pat-2"/><active value="true"/>'
               b'<name><family value="Testpatient"/><given value="Alexa"/></name>'
               b'<birthDate value="1980-02-14"/>'
               b'<address><line value="1 example.invalid/patient street"/></address></Patient>')


def notification(kind, since=None, events=(), subscription="https://ehr.example.invalid/fhir/"
                 "Subscription/admissions", status="active"):
    params = [{"name": "subscription", "valueReference": {"reference": subscription}},
              {"name": "topic", "valueCanonical": "https://ehr.example.invalid/topics/admission"},
              {"name": "type", "valueCode": kind}]
    if status:
        params.append({"name": "status", "valueCode": status})
    if since is not None:
        params.append({"name": "events-since-subscription-start", "valueString": str(since)})
    for number in events:
        params.append({"name": "notification-event",
                       "part": [{"name": "event-number", "valueString": str(number)},
                                {"name": "focus",
                                 "valueReference": {"reference": "Encounter/enc-1"}}]})
    return json.dumps({
        "resourceType": "Bundle", "id": "note-" + kind + "-" + "-".join(map(str, events)),
        "type": "history", "timestamp": "2026-11-25T14:15:00Z",
        "entry": [{"fullUrl": "urn:uuid:9e41ff6d-5be6-4e6a-8b85-abd4e7f58400",
                   "resource": {"resourceType": "Parameters", "parameter": params}}]}).encode()


# --- the tests --------------------------------------------------------------------------------

class FhirTestCase(GatewayTestCase):
    def start_fhir(self, fhir=None, mllp=()):
        settings = {"enabled": True, "host": "127.0.0.1", "port": 0, "allow_plain_http": True,
                    "auth": {"allow_unauthenticated": True}}
        settings.update(fhir or {})
        config = {
            "logging": {"level": "information", "file": ""},
            "keys": {"key_file": os.path.join(self.dir, "keys", "gateway.keys"),
                     "generate_if_missing": True},
            "audit": {"signing_key_file": os.path.join(self.dir, "keys", "audit.pem")},
            "store": {"path": os.path.join(self.dir, "gateway.db"), "durability": "process"},
            "inbound": {"mllp": list(mllp), "fhir": settings},
        }
        self.config_path = os.path.join(self.dir, "gateway.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.gateway = Gateway(self.config_path, self.dir).start()
        scheme = "https" if settings.get("tls", {}).get("enabled") else "http"
        self.base = f"{scheme}://127.0.0.1:{self.gateway.port}/fhir"
        return self.gateway

    def restart(self):
        """Stops the gateway (SIGTERM) and starts it again on the same config and database."""
        self.assertEqual(self.gateway.stop(), 0, self.gateway.read_log()[-2000:])
        self.gateway.start()
        self.base = re.sub(r":\d+/fhir$", f":{self.gateway.port}/fhir", self.base)

    def post(self, endpoint, data=None, file=None, content_type="application/fhir+json", **kw):
        return curl(self.base + "/" + endpoint, data=data, file=file, content_type=content_type,
                    **kw)

    def assertOutcome(self, reply, status, code=None, expression=None, fmt="json"):
        self.assertEqual(reply.status, status, reply.body[:500])
        if fmt == "json":
            self.assertTrue(reply.header("content-type").startswith("application/fhir+json"))
            outcome = reply.json()
            self.assertEqual(outcome["resourceType"], "OperationOutcome")
            issue = outcome["issue"][0]
            if code:
                self.assertEqual(issue["code"], code, issue)
            if expression:
                self.assertEqual(issue.get("expression"), [expression], issue)
            return issue
        self.assertTrue(reply.header("content-type").startswith("application/fhir+xml"))
        root = ET.fromstring(reply.body)
        self.assertEqual(root.tag, "{%s}OperationOutcome" % FHIR_NS)
        if code:
            self.assertEqual(root.find(f"{{{FHIR_NS}}}issue/{{{FHIR_NS}}}code").get("value"), code)
        return root

    def assertNoPhi(self, data: bytes):
        for phi in PHI:
            self.assertNotIn(phi, data)


class FhirCorpusTest(FhirTestCase):
    def test_every_corpus_file_gets_its_documented_status_and_resends_are_stored_once(self):
        corpus = os.path.join(corpus_or_skip(self), "fhir")
        files = sorted(os.listdir(corpus))
        self.assertGreater(len(files), 400)
        self.start_fhir()
        stored_ids = {}
        for name in files:
            path = os.path.join(corpus, name)
            is_xml = name.endswith(".xml")
            with open(path, "rb") as f:
                c = canon(f.read(), is_xml)
            endpoint = endpoint_for(c)
            status, kind = expected_outcome(c)
            # Replies in JSON whatever the request's format (_format is honoured).
            reply = self.post(endpoint + "?_format=json", file=path,
                              content_type="application/fhir+xml" if is_xml
                              else "application/fhir+json")
            if kind == "stored" and status == 201:
                # A resource someone else in the corpus already sent is answered 200 (a resend).
                self.assertIn(reply.status, (200, 201), f"{name}: {reply.body[:300]}")
                self.assertEqual(reply.status == 200, reply.header("x-gateway-duplicate") == "true",
                                 name)
            else:
                self.assertEqual(reply.status, status, f"{name}: {reply.body[:300]}")
            body = reply.json()
            if kind == "stored":
                event_id = reply.header("x-gateway-event-id")
                self.assertRegex(event_id or "", r"^\d+$", name)
                stored_ids[name] = event_id
                if endpoint == "$process-message":
                    self.assertEqual(body["type"], "message", name)
                    header = body["entry"][0]["resource"]
                    self.assertEqual(header["response"]["code"], "ok", name)
            else:
                self.assertIsNone(reply.header("x-gateway-event-id"), name)
                self.assertEqual(body["resourceType"], "OperationOutcome", name)
                if status >= 400:
                    self.assertEqual(body["issue"][0]["severity"], "error", name)
                    self.assertIn("diagnostics", body["issue"][0], name)
        # Every stored file again: answered from the first commit, nothing stored twice.
        for name, event_id in stored_ids.items():
            path = os.path.join(corpus, name)
            is_xml = name.endswith(".xml")
            with open(path, "rb") as f:
                endpoint = endpoint_for(canon(f.read(), is_xml))
            reply = self.post(endpoint, file=path, content_type="application/fhir+xml" if is_xml
                              else "application/fhir+json")
            self.assertIn(reply.status, (200,), name)
            self.assertEqual(reply.header("x-gateway-duplicate"), "true", name)
            self.assertEqual(reply.header("x-gateway-event-id"), event_id, name)
        rows = list_messages(self.config_path)
        self.assertEqual(len(rows), len(set(stored_ids.values())))
        self.assertGreater(len(rows), 200)  # corpus files share Bundle ids: 255 distinct events
        self.assertTrue(all(r[5] == "received" for r in rows))
        types = {r[2] for r in rows}
        self.assertTrue({"message/R01", "Bundle/transaction", "Bundle/batch", "Bundle/collection",
                         "Observation", "Patient", "notification/event-notification"} <= types,
                        types)
        shown = run_cli("messages", "show", rows[0][0], "--config", self.config_path,
                        check=True).stdout.decode()
        self.assertGreaterEqual(int(re.search(r"resends answered:\s+(\d+)", shown).group(1)), 1)


class FhirIntakeTest(FhirTestCase):
    def test_json_and_xml_of_the_same_content_are_the_same_event(self):
        make_keys(self.dir)
        self.start_fhir({"auth": {"allow_unauthenticated": True, "audience": AUDIENCE,
                                  "clients": [{"id": "ehr-b",
                                               "public_key_file": os.path.join(self.dir,
                                                                               "rsa.pub")}]}})
        as_json = self.post("$process-message", json.dumps(MESSAGE_JSON).encode())
        self.assertEqual(as_json.status, 200, as_json.body)
        self.assertEqual(as_json.header("x-gateway-duplicate"), "false")
        # The same message in XML from the same client: the same event, answered again.
        as_xml = self.post("$process-message", MESSAGE_XML, content_type="application/fhir+xml")
        self.assertEqual(as_xml.status, 200, as_xml.body)
        self.assertEqual(as_xml.header("x-gateway-duplicate"), "true")
        self.assertEqual(as_xml.header("x-gateway-event-id"), as_json.header("x-gateway-event-id"))
        self.assertTrue(as_xml.header("content-type").startswith("application/fhir+xml"))
        response = ET.fromstring(as_xml.body)
        self.assertEqual(response.find(f".//{{{FHIR_NS}}}response/{{{FHIR_NS}}}code").get("value"),
                         "ok")
        # From another client the XML is stored on its own: same metadata, same canonical content.
        token = make_jwt(self.dir, "rsa.key", "RS384", claims("ehr-b"))
        other = self.post("$process-message", MESSAGE_XML, content_type="application/fhir+xml",
                          headers=["Authorization: Bearer " + token])
        self.assertEqual(other.status, 200, other.body)
        self.assertEqual(other.header("x-gateway-duplicate"), "false")
        rows = {r[0]: r for r in list_messages(self.config_path)}
        first_row = rows[as_json.header("x-gateway-event-id")]
        second_row = rows[other.header("x-gateway-event-id")]
        self.assertEqual(first_row[2], "message/A03")
        self.assertEqual(first_row[2:5], second_row[2:5])  # type, control id, facility
        self.assertEqual(first_row[3], "SYN-MSG-0001")
        # A single resource: the content digest makes JSON and XML one event.
        patient_json = self.post("Patient", PATIENT_JSON)
        self.assertEqual(patient_json.status, 201, patient_json.body)
        patient_xml = self.post("Patient", PATIENT_XML, content_type="application/fhir+xml")
        self.assertEqual(patient_xml.status, 200, patient_xml.body)
        self.assertEqual(patient_xml.header("x-gateway-event-id"),
                         patient_json.header("x-gateway-event-id"))
        # Payloads are read by the operator command once the gateway has stopped (it writes an
        # audit record of its own into the same database).
        self.assertEqual(self.gateway.stop(), 0)
        self.gateway = None
        payloads = []
        for event_id in (first_row[0], second_row[0]):
            shown = run_cli("messages", "show", event_id, "--payload", "--reason", "fhir test",
                            "--config", self.config_path, check=True).stdout
            payloads.append(shown.split(b"---\n", 1)[1])
        self.assertEqual(canon_json(payloads[0]), canon_xml(payloads[1]))
        self.assertEqual(canon_json(payloads[0]), canon_json(json.dumps(MESSAGE_JSON).encode()))
        # PHI is encrypted at rest.
        for suffix in ("", "-wal"):
            path = os.path.join(self.dir, "gateway.db" + suffix)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNoPhi(f.read())

    def test_bad_input_gets_a_clear_error_and_nothing_is_stored(self):
        self.start_fhir({"max_request_bytes": 1024 * 1024, "max_string_bytes": 65536})
        message = json.dumps(MESSAGE_JSON).encode()
        cases = [
            ("truncated JSON", "$process-message", message[:len(message) // 2],
             "application/fhir+json", 400, "structure"),
            ("deep nesting", "Patient",
             b'{"resourceType":"Patient","extension":' + b'[{"extension":' * 100 + b'[]' +
             b'}]' * 100 + b'}', "application/fhir+json", 400, "structure"),
            ("huge string", "Patient",
             b'{"resourceType":"Patient","id":"x","gender":"' + b"a" * 100000 + b'"}',
             "application/fhir+json", 400, "structure"),
            ("invalid UTF-8", "Patient",
             b'{"resourceType":"Patient","name":[{"family":"Test\xff\xfepatient"}]}',
             "application/fhir+json", 400, "structure"),
            ("XXE", "Patient",
             b'<?xml version="1.0"?><!DOCTYPE Patient [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
             b'<Patient xmlns="http://hl7.org/fhir"><id value="&xxe;"/></Patient>',
             "application/fhir+xml", 400, "structure"),
            ("entity expansion", "Patient",
             b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
             b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
             b'<Patient xmlns="http://hl7.org/fhir"><id value="&lol2;"/></Patient>',
             "application/fhir+xml", 400, "structure"),
            ("wrong content type", "Patient", PATIENT_JSON, "text/plain", 415, "not-supported"),
            ("not UTF-8", "Patient", PATIENT_JSON, "application/fhir+json; charset=iso-8859-1",
             415, "not-supported"),
            ("type mismatch", "Observation", PATIENT_JSON, "application/fhir+json", 400, "invalid"),
            ("unsupported type", "Organization",
             b'{"resourceType":"Organization","name":"Synthetic"}', "application/fhir+json",
             404, "not-supported"),
            ("message without MessageHeader", "$process-message",
             json.dumps(dict(MESSAGE_JSON, entry=MESSAGE_JSON["entry"][1:])).encode(),
             "application/fhir+json", 422, "invalid"),
            ("message on /Bundle", "Bundle", message, "application/fhir+json", 422,
             "not-supported"),
            ("document Bundle", "Bundle", b'{"resourceType":"Bundle","type":"document"}',
             "application/fhir+json", 422, "not-supported"),
            ("empty body", "Patient", b"", "application/fhir+json", 400, "required"),
        ]
        for label, endpoint, data, content_type, status, code in cases:
            with self.subTest(label):
                reply = self.post(endpoint, data, content_type=content_type)
                # The reply comes in the format of the request unless _format or Accept say else.
                self.assertOutcome(reply, status, code,
                                   fmt="xml" if content_type.endswith("+xml") else "json")
                self.assertNoPhi(reply.body)
                self.assertNotIn(b"passwd", reply.body)
        issue = self.assertOutcome(
            self.post("$process-message",
                      json.dumps(dict(MESSAGE_JSON, entry=MESSAGE_JSON["entry"][1:])).encode()),
            422)
        self.assertEqual(issue["expression"], ["Bundle.entry[0].resource"])
        deep = self.post("Patient", cases[1][2])
        self.assertIn("nesting", self.assertOutcome(deep, 400)["diagnostics"])
        # Too large: refused from Content-Length without reading the body.
        big = os.path.join(self.dir, "big.json")
        with open(big, "wb") as f:
            f.write(b'{"resourceType":"Patient","id":"x","text":"' + b"a" * (2 * 1024 * 1024) +
                    b'"}')
        self.assertOutcome(self.post("Patient", file=big), 413, "too-costly")
        # Chunked without a length: refused once the limit is passed.
        chunked = self.post("Patient", file=big, headers=["Transfer-Encoding: chunked"])
        self.assertOutcome(chunked, 413, "too-costly")
        # _format is honoured for the response, including errors.
        xml_error = self.post("Patient?_format=xml", b"{", content_type="application/fhir+json")
        self.assertOutcome(xml_error, 400, fmt="xml")
        self.assertOutcome(self.post("Patient?_format=html", PATIENT_JSON), 406)
        self.assertOutcome(curl(self.base + "/Patient"), 405)
        self.assertOutcome(curl(self.base + "/nothing/here", data=b"{}",
                                content_type="application/fhir+json"), 404, "not-found")
        self.assertEqual(list_messages(self.config_path), [])
        self.assertNoPhi(self.gateway.read_log().encode())

    def test_metadata_is_a_capability_statement_of_what_is_supported(self):
        self.start_fhir()
        reply = curl(self.base + "/metadata")
        self.assertEqual(reply.status, 200)
        cs = reply.json()
        self.assertEqual(cs["resourceType"], "CapabilityStatement")
        self.assertEqual(cs["fhirVersion"], "4.0.1")
        rest = cs["rest"][0]
        self.assertEqual(sorted(r["type"] for r in rest["resource"]),
                         ["Appointment", "Bundle", "DiagnosticReport", "Encounter",
                          "Observation", "Patient"])
        self.assertTrue(all([i["code"] for i in r["interaction"]] == ["create"]
                            for r in rest["resource"]))
        self.assertEqual([o["name"] for o in rest["operation"]], ["process-message"])
        self.assertEqual(sorted(i["code"] for i in rest["interaction"]), ["batch", "transaction"])
        as_xml = curl(self.base + "/metadata?_format=xml")
        self.assertEqual(ET.fromstring(as_xml.body).tag, "{%s}CapabilityStatement" % FHIR_NS)
        accept_xml = curl(self.base + "/metadata", headers=["Accept: application/fhir+xml"])
        self.assertTrue(accept_xml.header("content-type").startswith("application/fhir+xml"))

    def test_subscription_notifications_track_event_numbers_and_audit_gaps(self):
        self.start_fhir()
        handshake = self.post("Bundle", notification("handshake", since=0))
        self.assertOutcome(handshake, 200, "informational")
        self.assertIsNone(handshake.header("x-gateway-event-id"))
        one = self.post("Bundle", notification("event-notification", since=1, events=[1]))
        self.assertEqual(one.status, 200, one.body)
        again = self.post("Bundle", notification("event-notification", since=1, events=[1]))
        self.assertEqual(again.header("x-gateway-duplicate"), "true")
        four = self.post("Bundle", notification("event-notification", since=4, events=[4]))
        self.assertEqual(four.header("x-gateway-duplicate"), "false")
        beat = self.post("Bundle", notification("heartbeat", since=6))
        self.assertOutcome(beat, 200)
        rows = list_messages(self.config_path)
        self.assertEqual(sorted(r[3] for r in rows),
                         ["https://ehr.example.invalid/fhir/Subscription/admissions#1",
                          "https://ehr.example.invalid/fhir/Subscription/admissions#4"])
        log = self.gateway.read_log()
        self.assertIn("subscription notifications missed: event 2..3 (2 events", log)
        self.assertIn("subscription notifications missed: event 5..6 (2 events", log)
        exported = run_cli("audit", "export", "--format", "fhir", "--config", self.config_path,
                           check=True).stdout
        self.assertEqual(exported.count(b"subscription_gap"), 2, exported[-2000:])
        self.assertNoPhi(exported)

    def subscriptions(self):
        listed = run_cli("subscriptions", "list", "--format", "tsv", "--config", self.config_path,
                         check=True).stdout.decode()
        lines = [line.split("\t") for line in listed.splitlines() if line]
        header, rows = lines[0], lines[1:]
        return [dict(zip(header, row)) for row in rows]

    def test_query_status_and_query_event_and_counters_that_survive_a_restart(self):
        self.start_fhir()
        self.assertOutcome(self.post("Bundle", notification("handshake", since=0)), 200)
        self.assertEqual(self.post("Bundle", notification("event-notification", since=1,
                                                          events=[1])).status, 200)
        # The counters and the warning are durable: after a restart, event 4 reveals 2..3.
        self.restart()
        four = self.post("Bundle", notification("event-notification", since=4, events=[4]))
        self.assertEqual(four.header("x-gateway-duplicate"), "false", four.body)
        [row] = self.subscriptions()
        self.assertEqual((row["client"], row["events"], row["gaps"], row["missed"],
                          row["last_type"], row["status"]),
                         ("local", "4", "1", "2", "event-notification", "active"))
        self.assertIn("event 2..3 (2 events", row["last_gap"])
        # query-status (the answer to a $status query) must carry the status (sst-2), is
        # answered without storing anything, and counts like a heartbeat: 5..6 are missing.
        self.assertOutcome(self.post("Bundle", notification("query-status", since=6, status="")),
                           422, "required", "Bundle.entry[0].resource.parameter.where(name = "
                           "'status')")
        status = self.post("Bundle", notification("query-status", since=6, status="error"))
        issue = self.assertOutcome(status, 200, "informational")
        self.assertIn("query-status received", issue["diagnostics"])
        self.assertIsNone(status.header("x-gateway-event-id"))
        # query-event (events the EHR's $events returned) is stored, and fills the gap quietly.
        self.assertOutcome(self.post("Bundle", notification("query-event", since=6)), 422,
                           "required")
        fetched = self.post("Bundle", notification("query-event", since=6, events=[5, 6]))
        self.assertEqual(fetched.status, 200, fetched.body)
        self.assertEqual(fetched.header("x-gateway-duplicate"), "false")
        self.restart()
        [row] = self.subscriptions()
        # The status is the latest one sent (the query-event said "active" again).
        self.assertEqual((row["events"], row["gaps"], row["missed"], row["last_type"],
                          row["status"]), ("6", "2", "4", "query-event", "active"))
        self.assertIn("event 5..6 (2 events, noticed on query-status)", row["last_gap"])
        table = run_cli("subscriptions", "list", "--config", self.config_path, check=True).stdout
        self.assertIn(b"Subscription/admissions", table)
        self.assertNoPhi(table)
        missing = run_cli("subscriptions", "list", "--config", os.path.join(self.dir, "none.json"))
        self.assertEqual(missing.returncode, 78, missing.stderr)
        self.assertIn(b"none.json", missing.stderr)
        rows = list_messages(self.config_path)
        self.assertEqual(sorted(r[3] for r in rows),
                         ["https://ehr.example.invalid/fhir/Subscription/admissions#1",
                          "https://ehr.example.invalid/fhir/Subscription/admissions#4",
                          "https://ehr.example.invalid/fhir/Subscription/admissions#5-6"])
        self.assertEqual(sorted(r[2] for r in rows),
                         ["notification/event-notification", "notification/event-notification",
                          "notification/query-event"])
        exported = run_cli("audit", "export", "--format", "fhir", "--config", self.config_path,
                           check=True).stdout
        self.assertEqual(exported.count(b"subscription_gap"), 2, exported[-2000:])

    def test_a_chunked_upload_arrives_whole(self):
        corpus_or_skip(self)
        # The largest corpus Bundle accepted at [base]/Bundle, sent with Transfer-Encoding:
        # chunked (curl sends no Content-Length then), must be stored byte for byte.
        candidates = []
        for name in sorted(os.listdir(os.path.join(CORPUS_DIR, "fhir"))):
            path = os.path.join(CORPUS_DIR, "fhir", name)
            if not name.endswith(".json"):
                continue
            try:
                c = canon_json(open(path, "rb").read())
            except ValueError:
                continue
            if (c.get("@resourceType") == "Bundle" and
                    value(c, "type") in ("collection", "transaction", "batch") and
                    expected_outcome(c)[0] == 200):
                candidates.append((os.path.getsize(path), path))
        self.assertTrue(candidates)
        size, path = max(candidates)
        self.assertGreater(size, 64 * 1024)  # more than one read of curl's upload buffer
        self.start_fhir()
        reply = self.post("Bundle", file=path, headers=["Transfer-Encoding: chunked"],
                          extra=["-v"])
        self.assertEqual(reply.status, 200, reply.body[:500])
        sent_headers = reply.stderr.lower().split(b"< http/1.1")[0]
        self.assertIn(b"> transfer-encoding: chunked", sent_headers)
        self.assertNotIn(b"> content-length:", sent_headers)
        event_id = reply.header("x-gateway-event-id")
        shown = run_cli("messages", "show", event_id, "--payload", "--reason",
                        "integration test: chunked upload", "--config", self.config_path,
                        check=True).stdout
        stored = shown.split(b"---\n", 1)[1]
        original = open(path, "rb").read().replace(b"\r", b"\n")
        self.assertEqual(stored.rstrip(b"\n"), original.rstrip(b"\n"))
        # The same file again without chunking is the same event (a resend).
        again = self.post("Bundle", file=path)
        self.assertEqual(again.header("x-gateway-event-id"), event_id)
        self.assertEqual(again.header("x-gateway-duplicate"), "true")


class FhirAuthTest(FhirTestCase):
    def start_secure(self, **tls):
        make_keys(self.dir)
        make_pki(self.dir)
        settings = {
            "allow_plain_http": False,
            "tls": dict({"enabled": True, "certificate": os.path.join(self.dir, "server.pem"),
                         "private_key": os.path.join(self.dir, "server.key"),
                         "ca": os.path.join(self.dir, "ca.pem")}, **tls),
            "auth": {"audience": AUDIENCE, "clients": [
                {"id": "ehr-rsa", "public_key_file": os.path.join(self.dir, "rsa.pub")},
                {"id": "ehr-ec", "issuer": "ec-issuer",
                 "public_key_file": os.path.join(self.dir, "ec.pub")},
                {"id": "ehr-mtls", "certificate_subjects": ["ehr-mtls"]}]},
        }
        return self.start_fhir(settings)

    def secure_post(self, data, token=None, cert=None, endpoint="Patient"):
        extra = ["--cacert", os.path.join(self.dir, "ca.pem")]
        if cert:
            extra += ["--cert", os.path.join(self.dir, cert + ".pem"),
                      "--key", os.path.join(self.dir, cert + ".key")]
        headers = ["Authorization: Bearer " + token] if token else []
        return curl(self.base + "/" + endpoint, data=data, content_type="application/fhir+json",
                    headers=headers, extra=extra)

    def patient(self, n):
        return json.dumps({"resourceType": "Patient", "id": f"auth-{n}",
                           "name": [{"family": "Testpatient"}]}).encode()

    def test_jwt_and_mutual_tls_clients_and_every_refusal(self):
        self.start_secure()
        d = self.dir
        no_credentials = self.secure_post(self.patient(1))
        self.assertOutcome(no_credentials, 401, "login")
        self.assertTrue(no_credentials.header("www-authenticate").startswith("Bearer"))
        rsa = self.secure_post(self.patient(1), make_jwt(d, "rsa.key", "RS384", claims("ehr-rsa")))
        self.assertEqual(rsa.status, 201, rsa.body)
        ec = self.secure_post(self.patient(2), make_jwt(d, "ec.key", "ES384", claims("ec-issuer")))
        self.assertEqual(ec.status, 201, ec.body)
        mtls = self.secure_post(self.patient(3), cert="client")
        self.assertEqual(mtls.status, 201, mtls.body)
        refused = {
            "token expired": make_jwt(d, "rsa.key", "RS384",
                                      claims("ehr-rsa", exp=int(time.time()) - 600)),
            "wrong audience": make_jwt(d, "rsa.key", "RS384",
                                       claims("ehr-rsa", audience="https://other.example.invalid")),
            "bad signature": make_jwt(d, "stranger.key", "RS384", claims("ehr-rsa")),
            "unknown issuer": make_jwt(d, "rsa.key", "RS384", claims("nobody")),
            "alg does not match": make_jwt(d, "rsa.key", "RS384", claims("ec-issuer")),
            "unsupported alg": b64u(b'{"alg":"none"}') + "." +
                               b64u(json.dumps(claims("ehr-rsa")).encode()) + ".",
            "lifetime too long": make_jwt(d, "rsa.key", "RS384", claims("ehr-rsa", lifetime=86400)),
            "sub does not equal iss": make_jwt(d, "rsa.key", "RS384",
                                               claims("ehr-rsa", sub="someone-else")),
            "malformed": "not-a-jwt",
        }
        for reason, token in refused.items():
            with self.subTest(reason):
                reply = self.secure_post(self.patient(9), token)
                issue = self.assertOutcome(reply, 401, "login")
                self.assertIn(reason, issue["diagnostics"])
        unknown_cert = self.secure_post(self.patient(9), cert="unknown")
        self.assertOutcome(unknown_cert, 403, "forbidden")
        both = self.secure_post(self.patient(9), make_jwt(d, "rsa.key", "RS384", claims("ehr-rsa")),
                                cert="client")
        self.assertOutcome(both, 403, "forbidden")
        rows = list_messages(self.config_path)
        self.assertEqual(sorted(r[3].split("#")[0] for r in rows),
                         ["Patient/auth-1", "Patient/auth-2", "Patient/auth-3"])
        # The TLS peer is verified by the client, and plain HTTP is not served on the TLS port.
        unverified = curl(self.base + "/metadata")
        self.assertNotEqual(unverified.curl_rc, 0)
        plain = curl(self.base.replace("https://", "http://") + "/metadata")
        self.assertNotEqual(plain.status, 200)
        # metadata needs no credentials.
        meta = curl(self.base + "/metadata", extra=["--cacert", os.path.join(d, "ca.pem")])
        self.assertEqual(meta.status, 200)

    def test_a_replayed_token_and_a_long_lived_token_are_401(self):
        self.start_secure()
        d = self.dir
        token = make_jwt(d, "rsa.key", "RS384", claims("ehr-rsa"))
        self.assertEqual(self.secure_post(self.patient(1), token).status, 201)
        replay = self.secure_post(self.patient(2), token)
        issue = self.assertOutcome(replay, 401, "login")
        self.assertIn("token replayed", issue["diagnostics"])
        # SMART Backend Services: exp at most five minutes ahead, and no longer a lifetime.
        for lifetime, extra in ((400, {}), (200, {"iat": int(time.time()) - 200})):
            with self.subTest(lifetime=lifetime):
                long_lived = make_jwt(d, "rsa.key", "RS384",
                                      claims("ehr-rsa", lifetime=lifetime, **extra))
                issue = self.assertOutcome(self.secure_post(self.patient(3), long_lived), 401,
                                           "login")
                self.assertIn("token lifetime too long", issue["diagnostics"])
        no_jti = claims("ehr-rsa")
        del no_jti["jti"]
        issue = self.assertOutcome(
            self.secure_post(self.patient(4), make_jwt(d, "rsa.key", "RS384", no_jti)), 401,
            "login")
        self.assertIn("token has no jti", issue["diagnostics"])
        # A restart does not reopen the replay window (the jti is in the store until it expires).
        self.restart()
        issue = self.assertOutcome(self.secure_post(self.patient(2), token), 401, "login")
        self.assertIn("token replayed", issue["diagnostics"])
        fresh = make_jwt(d, "rsa.key", "RS384", claims("ehr-rsa"))
        self.assertEqual(self.secure_post(self.patient(2), fresh).status, 201)
        rows = list_messages(self.config_path)
        self.assertEqual(sorted(r[3].split("#")[0] for r in rows),
                         ["Patient/auth-1", "Patient/auth-2"])

    def test_required_client_certificate_refuses_the_handshake_without_one(self):
        self.start_secure(require_client_certificate=True)
        self.assertNotEqual(self.secure_post(self.patient(1)).curl_rc, 0)
        self.assertEqual(self.secure_post(self.patient(1), cert="client").status, 201)

    def test_config_refuses_plain_http_off_loopback_and_unauthenticated_with_tls(self):
        config = {"store": {"path": os.path.join(self.dir, "g.db")},
                  "inbound": {"fhir": {"enabled": True, "host": "0.0.0.0",
                                       "allow_plain_http": True,
                                       "auth": {"allow_unauthenticated": True}}}}
        path = os.path.join(self.dir, "bad.json")
        with open(path, "w") as f:
            json.dump(config, f)
        out = run_cli("check-config", "--config", path)
        self.assertEqual(out.returncode, 78)
        text = out.stderr.decode()
        self.assertIn("plain HTTP is only allowed on a loopback host", text)
        self.assertIn("allow_unauthenticated", text)
        self.assertRegex(text, r"bad\.json:\d+:\d+: error:")


if __name__ == "__main__":
    unittest.main()
