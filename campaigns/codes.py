"""Unguessable coupon codes."""

from __future__ import annotations

import secrets

# Crockford's base32 without the look-alikes I, L, O, U: easy to read aloud and to type on a phone.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10  # 50 bits: guessing one live code among a million takes ~2^30 tries


def new_code(prefix: str = "") -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{prefix}-{body}" if prefix else body
