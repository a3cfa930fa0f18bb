# SPDX-License-Identifier: Apache-2.0
"""The secure inbox pages over real HTTP (inbox_test_host on 127.0.0.1 port 0): security headers
on every answer, cookie attributes, bodies that are not forms or too large, wrong methods, CSRF,
generic error pages without PHI, and a whole flow by plain HTTP (no browser)."""
import http.client
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.parse

HOST = os.environ.get("GW_INBOX_HOST", "build/tests/inbox_test_host")
BIRTH_DATE = "1980-04-23"
PHI = ["Sam Synthetic", BIRTH_DATE, "medicine", "discharge"]
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class InboxHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(HOST):
            raise unittest.SkipTest("inbox_test_host not built (GW_INBOX_HOST)")
        cls.work = tempfile.TemporaryDirectory(prefix="gw-inbox-http-")
        cls.notes = os.path.join(cls.work.name, "notes.jsonl")
        cls.host = subprocess.Popen([HOST, cls.notes], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True)
        cls.port = int(re.match(r"PORT (\d+)", cls.host.stdout.readline()).group(1))

    @classmethod
    def tearDownClass(cls):
        cls.host.stdin.close()
        cls.host.wait(timeout=10)
        cls.work.cleanup()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, \
                response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def notes_to(self, email):
        if not os.path.exists(self.notes):
            return []
        with open(self.notes, encoding="utf-8") as f:
            return [n for n in (json.loads(l) for l in f if l.strip()) if n["to"] == email]

    def wait_notes(self, email, count):
        end = time.time() + 10
        while time.time() < end:
            notes = self.notes_to(email)
            if len(notes) >= count:
                return notes
            time.sleep(0.02)
        self.fail("no notification for " + email)

    def deliver(self, email):
        status, _, _ = self.request("POST", "/__test/deliver?email=" + urllib.parse.quote(email))
        self.assertEqual(status, 200)
        link = re.search(r"http://127\.0\.0\.1:\d+(/inbox/l/[A-Za-z0-9_-]{43})",
                         self.wait_notes(email, 1)[0]["text"])
        return link.group(1)

    def assert_secure_headers(self, headers):
        self.assertEqual(headers.get("content-security-policy"), CSP)
        self.assertEqual(headers.get("cache-control"), "no-store")
        self.assertEqual(headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(headers.get("referrer-policy"), "no-referrer")
        self.assertEqual(headers.get("x-frame-options"), "DENY")

    def assert_no_phi(self, body):
        for secret in PHI:
            self.assertNotIn(secret, body)

    def open_link(self, email):
        path = self.deliver(email)
        status, headers, body = self.request("GET", path)
        self.assertEqual(status, 200)
        cookie = re.match(r"gw_inbox=([A-Za-z0-9_-]{43});", headers["set-cookie"]).group(1)
        csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', body).group(1)
        return cookie, csrf

    def post_form(self, path, fields, cookie):
        return self.request("POST", path, urllib.parse.urlencode(fields),
                            {"Content-Type": "application/x-www-form-urlencoded",
                             "Cookie": "gw_inbox=" + cookie})

    def test_link_page_headers_and_cookie(self):
        path = self.deliver("headers@example.invalid")
        status, headers, body = self.request("GET", path)
        self.assertEqual(status, 200)
        self.assert_secure_headers(headers)
        self.assertTrue(headers["content-type"].startswith("text/html; charset=utf-8"))
        cookie = headers["set-cookie"]
        for attribute in ("Path=/inbox/", "HttpOnly", "SameSite=Strict"):
            self.assertIn(attribute, cookie)
        self.assertNotIn("<script", body)
        self.assert_no_phi(body)

    def test_error_pages_are_generic_and_carry_the_headers(self):
        for method, path, expected in [("GET", "/inbox/l/" + "A" * 43, 404),
                                       ("GET", "/inbox/l/short", 404),
                                       ("GET", "/inbox/anything", 404),
                                       ("GET", "/inbox/message", 401),
                                       ("GET", "/inbox/dob", 405),
                                       ("DELETE", "/inbox/message", 405)]:
            with self.subTest(path=path, method=method):
                status, headers, body = self.request(method, path)
                self.assertEqual(status, expected)
                self.assert_secure_headers(headers)
                self.assert_no_phi(body)

    def test_bodies_that_are_not_small_forms_are_refused(self):
        cookie, csrf = self.open_link("bodies@example.invalid")
        status, headers, _ = self.request("POST", "/inbox/dob", json.dumps({"dob": BIRTH_DATE}),
                                          {"Content-Type": "application/json",
                                           "Cookie": "gw_inbox=" + cookie})
        self.assertEqual(status, 415)
        self.assert_secure_headers(headers)
        status, _, _ = self.post_form("/inbox/dob", {"csrf": csrf, "dob": "x" * 9000}, cookie)
        self.assertEqual(status, 413)
        status, _, _ = self.request("POST", "/inbox/dob", "csrf=%zz",
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "Cookie": "gw_inbox=" + cookie})
        self.assertEqual(status, 400)

    def test_csrf_token_is_required(self):
        cookie, csrf = self.open_link("csrf@example.invalid")
        status, _, _ = self.post_form("/inbox/dob", {"dob": BIRTH_DATE}, cookie)
        self.assertEqual(status, 403)
        status, _, _ = self.post_form("/inbox/dob", {"dob": BIRTH_DATE, "csrf": "0" * 64}, cookie)
        self.assertEqual(status, 403)
        self.assertEqual(len(self.notes_to("csrf@example.invalid")), 1, "no code sent")
        status, _, body = self.post_form("/inbox/dob", {"dob": BIRTH_DATE, "csrf": csrf}, cookie)
        self.assertEqual(status, 200)
        self.assertIn('data-page="code"', body)

    def test_whole_flow_over_http(self):
        email = "http.flow@example.invalid"
        cookie, csrf = self.open_link(email)
        self.post_form("/inbox/dob", {"dob": BIRTH_DATE, "csrf": csrf}, cookie)
        code = re.search(r"\b(\d{6})\b", self.wait_notes(email, 2)[1]["text"]).group(1)
        status, headers, _ = self.post_form("/inbox/code", {"code": code, "csrf": csrf}, cookie)
        self.assertEqual(status, 303)
        self.assertEqual(headers["location"], "/inbox/message")
        new_cookie = re.match(r"gw_inbox=([A-Za-z0-9_-]{43});", headers["set-cookie"]).group(1)
        self.assertNotEqual(new_cookie, cookie)
        status, _, _ = self.request("GET", "/inbox/message", headers={"Cookie": "gw_inbox=" + cookie})
        self.assertEqual(status, 401, "the pre-verification session id is void")
        status, headers, body = self.request("GET", "/inbox/message",
                                             headers={"Cookie": "gw_inbox=" + new_cookie})
        self.assertEqual(status, 200)
        self.assert_secure_headers(headers)
        self.assertIn("Take your medicine twice a day.", body)
        status, headers, _ = self.request("HEAD", "/inbox/style.css")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/css"))


if __name__ == "__main__":
    unittest.main()
