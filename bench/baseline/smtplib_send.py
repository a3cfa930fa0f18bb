# SPDX-License-Identifier: Apache-2.0
"""Baseline for delivery_bench: Python's smtplib sends the same rendered message COUNT times to
the same local SMTP sink over one STARTTLS connection (certificate and host name verified
against CAFILE), as the gateway's pooled SMTP transport does. Prints "<count> <seconds>"."""
import smtplib
import ssl
import sys
import time


def main():
    port, cafile, message_file, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(message_file, "rb") as f:
        message = f.read()
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as client:
        client.ehlo("baseline.invalid")
        client.starttls(context=context)
        client.ehlo("baseline.invalid")
        for i in range(count):
            client.sendmail("no-reply@gateway.invalid", ["bench.patient@example.invalid"], message)
    print(count, time.perf_counter() - started)


if __name__ == "__main__":
    main()
