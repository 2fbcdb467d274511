"""API keys: `dsx_<prefix>_<secret>`. The prefix is public and looked up; only the secret's
SHA-256 is stored, and it is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCHEME = "dsx"


@dataclass(frozen=True)
class KeyParts:
    prefix: str
    secret: str

    def __str__(self) -> str:
        return f"{SCHEME}_{self.prefix}_{self.secret}"


def new_key() -> KeyParts:
    return KeyParts(prefix=secrets.token_hex(6), secret=secrets.token_urlsafe(32))


def parse_key(value: str) -> KeyParts | None:
    """`dsx_1a2b3c4d5e6f_<secret>` → its parts; None when it is not an API key at all."""
    scheme, _, rest = value.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != SCHEME or len(prefix) != 12 or not secret:
        return None
    return KeyParts(prefix, secret)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
