"""Passwords, tokens and API keys: how secrets are made and kept.

Passwords are hashed with scrypt (memory-hard; Python's standard library, so no C extension to
build), salted per password, and compared in constant time. API keys and session tokens are long
random strings: a SHA-256 of them is enough at rest, because nobody can guess 256 random bits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# scrypt cost: 2**15 x 8 x 1 takes about 50 ms and 32 MiB here; stored with the hash, so it can rise.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
KEY_PREFIX = "pp_"
MIN_PASSWORD_LENGTH = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        # Same work as a real check, so timing does not tell whether the user exists.
        hash_password(password)
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), maxmem=64 * 1024 * 1024
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
