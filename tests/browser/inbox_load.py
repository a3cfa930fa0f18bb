#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Load benchmark of the inbox pages with wrk (Debian): p50/p99 latency and requests/s of the
message page (session lookup, rate limits, decrypt with the real EnvelopeCipher, audited view,
mustache render) under concurrent load, against the same server's static stylesheet as the
same-run baseline. Uses inbox_test_host (build it Release for meaningful figures).

usage: inbox_load.py HOST_BINARY [--sessions 64] [--connections 32] [--threads 2] [--seconds 10]
"""
import argparse
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def wait_for(predicate, what, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


def notes_to(path, email):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [n for n in (json.loads(l) for l in f if l.strip()) if n["to"] == email]


def verified_session(base, notes, n):
    """Delivers a synthetic message and walks link -> birth date -> code; returns the cookie."""
    email = "load%d@example.invalid" % n
    req = urllib.request.Request(base + "/__test/deliver?email=" + urllib.parse.quote(email),
                                 method="POST")
    urllib.request.urlopen(req).read()
    link = re.search(r"http://\S+/inbox/l/\S+", wait_for(lambda: notes_to(notes, email), "link")[0]["text"]).group(0)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(link).read().decode()
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    opener.open(base + "/inbox/dob", urllib.parse.urlencode({"csrf": csrf, "dob": "1980-04-23"}).encode()).read()
    code = re.search(r"\b(\d{6})\b", wait_for(lambda: notes_to(notes, email)[1:], "code")[0]["text"]).group(1)
    page = opener.open(base + "/inbox/code", urllib.parse.urlencode({"csrf": csrf, "code": code}).encode()).read().decode()
    assert 'data-page="message"' in page, "session did not reach the message page"
    cookie = [c for c in jar if c.name == "gw_inbox"][0]
    return "gw_inbox=" + cookie.value


def run_wrk(base, path, script, args):
    cmd = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections, "-d%ds" % args.seconds,
           "--latency", "-s", script, base + path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    def latency(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000.0 if unit == "us" else value * 1000.0 if unit == "s" else value
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"path": path, "rps": rps, "p50_ms": latency("50%"), "p99_ms": latency("99%"),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("--sessions", type=int, default=64)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gw-inbox-load-") as work:
        notes = os.path.join(work, "notes.jsonl")
        host = subprocess.Popen([args.host, notes], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            port = re.match(r"PORT (\d+)", host.stdout.readline()).group(1)
            base = "http://127.0.0.1:" + port
            cookies = [verified_session(base, notes, n) for n in range(args.sessions)]
            script = os.path.join(work, "cookies.lua")
            with open(script, "w") as f:
                f.write("local cookies = {%s}\nlocal i = 0\n" % ",".join('"%s"' % c for c in cookies))
                f.write("request = function()\n  i = i + 1\n"
                        "  return wrk.format(nil, nil, {[\"Cookie\"] = cookies[(i % #cookies) + 1]})\nend\n")
            results = [run_wrk(base, "/inbox/style.css", script, args),
                       run_wrk(base, "/inbox/message", script, args)]
        finally:
            host.stdin.close()
            host.wait(timeout=10)
    print("inbox load: %d verified sessions, wrk -t%d -c%d -d%ds" % (args.sessions, args.threads, args.connections, args.seconds))
    for r in results:
        print("  %-18s %9.0f req/s   p50 %7.2f ms   p99 %7.2f ms   non-2xx %d" %
              (r["path"], r["rps"], r["p50_ms"], r["p99_ms"], r["non_2xx"]))
    return 0 if all(r["non_2xx"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
