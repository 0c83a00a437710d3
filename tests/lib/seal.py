#!/usr/bin/env python3
"""Seal and open message bodies as docs/protocol.md (Seals) describes,
independently of krun's C code, for the tests that forge, replay or inspect
messages.  Needs python3-cryptography.

  seal.py seal KEYFILE EXPIRY_US [NONCE_HEX] < BODY > SEALED
  seal.py open KEYFILE [NOW_US] < SEALED > BODY     (exit 1 if refused)
"""
import hmac
import os
import re
import sys

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TAG = b"krun-sig-v2"


def read_key(path):
    data = open(path, "rb").read()
    if data.endswith(b"\n"):
        data = data[:-1]
    if data.endswith(b"\r"):
        data = data[:-1]
    return data


def message_cipher(key, nonce):
    e = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
             info=TAG + b" AES-256-GCM").derive(key)
    return AESGCM(hmac.new(e, nonce[:12], "sha256").digest()), nonce[12:]


def seal(key, expiry, body, nonce):
    header = TAG + b" %d %s\n" % (expiry, nonce.hex().encode())
    aead, iv = message_cipher(key, nonce)
    return header + aead.encrypt(iv, body, header)


def open_(key, sealed, now):
    m = re.match(rb"krun-sig-v2 (0|[1-9][0-9]{0,18}) ([0-9a-f]{48})\n", sealed)
    if not m:
        raise ValueError("malformed header")
    aead, iv = message_cipher(key, bytes.fromhex(m.group(2).decode()))
    body = aead.decrypt(iv, sealed[m.end():], sealed[:m.end()])
    if int(m.group(1)) < now:
        raise ValueError("expired")
    return body


def main():
    cmd, key = sys.argv[1], read_key(sys.argv[2])
    data = sys.stdin.buffer.read()
    if cmd == "seal":
        nonce = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else os.urandom(24)
        sys.stdout.buffer.write(seal(key, int(sys.argv[3]), data, nonce))
    elif cmd == "open":
        try:
            body = open_(key, data, int(sys.argv[3]) if len(sys.argv) > 3 else 0)
        except Exception as e:  # InvalidTag, ValueError
            print("seal.py: refused: %s" % (e or type(e).__name__), file=sys.stderr)
            return 1
        sys.stdout.buffer.write(body)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
