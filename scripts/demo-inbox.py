#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Demo helper (README, "One-command demo"): lists the notification mails the gateway wrote to
the pickup directory (outbound.email.transport "pickup") and prints, oldest first, the inbox
link or the one-time code each one carries. The mails hold no PHI; the addresses are the
synthetic patients' example.invalid ones.

    scripts/demo-inbox.py                       # every mail in var/mail/pickup
    scripts/demo-inbox.py --to alexa            # only mails to addresses containing "alexa"
    scripts/demo-inbox.py --last 1              # the newest mail only
"""
import argparse
import email
import email.policy
import email.utils
import os
import re
import signal
import sys

LINK = re.compile(r"https?://\S+/l/[A-Za-z0-9_-]{20,}")
CODE = re.compile(r"\b(\d{6})\b")


def read_mail(path):
    with open(path, "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    text = part.get_content() if part is not None else ""
    sent = email.utils.parsedate_to_datetime(message["Date"]) if message["Date"] else None
    return {"to": str(message["To"] or ""), "date": sent, "text": text,
            "mtime": os.path.getmtime(path)}


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends quietly
    default_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "var", "mail",
                               "pickup")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=default_dir, help="pickup directory (default: %(default)s)")
    parser.add_argument("--to", default="", help="only mails whose To contains this text")
    parser.add_argument("--last", type=int, default=0, help="only the newest N mails")
    args = parser.parse_args()
    if not os.path.isdir(args.dir):
        print(f"demo-inbox: {args.dir}: no such directory (is outbound.email.transport "
              f"\"pickup\" and has the gateway sent anything yet?)", file=sys.stderr)
        return 1
    mails = []
    for name in os.listdir(args.dir):
        if name.endswith(".eml"):
            try:
                mails.append(read_mail(os.path.join(args.dir, name)))
            except (OSError, ValueError) as error:
                print(f"demo-inbox: {name}: cannot read: {error}", file=sys.stderr)
    mails = [m for m in mails if args.to.lower() in m["to"].lower()]
    mails.sort(key=lambda m: m["mtime"])
    if args.last:
        mails = mails[-args.last:]
    if not mails:
        print("demo-inbox: no matching mails yet", file=sys.stderr)
        return 1
    for m in mails:
        when = m["date"].strftime("%H:%M:%S") if m["date"] else "?"
        link = LINK.search(m["text"])
        code = CODE.search(m["text"])
        if link:
            what = f"link  {link.group(0)}"
        elif code:
            what = f"code  {code.group(1)}"
        else:
            what = "other " + m["text"].strip().splitlines()[0][:60] if m["text"].strip() else "empty"
        print(f"{when}  {m['to']:<45}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
