"""Secrets kept encrypted at rest (Fernet), such as language models' API keys.

    box = secret_box(settings.secrets, dev_key_file=None)   # DSPEX_SECRETS_KEY
    token = box.encrypt("sk-...")                           # what the database holds
    box.decrypt(token)                                      # "sk-..."

Without DSPEX_SECRETS_KEY a box can still work on a developer's machine: given a `dev_key_file`,
it generates a key there the first time it needs one (mode 0600) and reads it back afterwards.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url

from dspex_gql.config import MAKE_A_FERNET_KEY, SecretsSettings, Settings, is_fernet_key

logger = logging.getLogger(__name__)

KEY_FILE_NAME = "dspex.secrets.key"
MISSING_KEY = (
    "the server has no secrets key: set DSPEX_SECRETS_KEY to a Fernet key "
    f"(make one with: {MAKE_A_FERNET_KEY})"
)


class SecretsUnavailable(Exception):
    """No key to encrypt or decrypt with; the message says which setting to set."""


class SecretUnreadable(Exception):
    """A stored secret the current key cannot decrypt (it was encrypted with another key)."""


class SecretBox:
    def __init__(self, load_key: Callable[[], bytes] | None) -> None:
        """`load_key` is called once, when a secret is first encrypted or decrypted."""
        self._load_key = load_key
        self._fernet: Fernet | None = None

    @property
    def available(self) -> bool:
        return self._load_key is not None

    def encrypt(self, secret: str) -> str:
        return self._cipher().encrypt(secret.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._cipher().decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable(
                "it was encrypted with another secrets key (was DSPEX_SECRETS_KEY changed?)"
            ) from None

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            if self._load_key is None:
                raise SecretsUnavailable(MISSING_KEY)
            self._fernet = Fernet(self._load_key())
        return self._fernet


def secret_box(settings: SecretsSettings, *, dev_key_file: Path | None) -> SecretBox:
    """A box with DSPEX_SECRETS_KEY; else one with a generated key in `dev_key_file` (pass one
    only on a developer's machine); else one with the key in DSPEX_SECRETS_KEY_FILE (read,
    never made); else one that refuses to encrypt or decrypt."""
    if settings.key is not None:
        key = settings.key.get_secret_value().encode()
        return SecretBox(lambda: key)
    if dev_key_file is not None:
        return SecretBox(lambda: load_or_create_key_file(dev_key_file))
    if settings.key_file is not None:
        given = settings.key_file
        return SecretBox(lambda: _valid(given, given.read_bytes().strip()))
    return SecretBox(None)


def default_key_file(settings: Settings) -> Path:
    """DSPEX_SECRETS_KEY_FILE, else beside the SQLite database, else in the working directory."""
    if settings.secrets.key_file is not None:
        return settings.secrets.key_file
    url = make_url(settings.database.url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        return Path(database).with_name(KEY_FILE_NAME)
    return Path(KEY_FILE_NAME)


def load_or_create_key_file(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = _create_key_file(path)
    return _valid(path, key)


def _valid(path: Path, key: bytes) -> bytes:
    if not is_fernet_key(key):
        raise SecretsUnavailable(
            f"the secrets key file {path} does not hold a Fernet key: remove it (secrets stored "
            "with it are lost) or set DSPEX_SECRETS_KEY"
        )
    return key


def _create_key_file(path: Path) -> bytes:
    key = Fernet.generate_key()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key + b"\n")
    logger.info(
        "Generated a secrets key for stored API keys in %s (development only: set "
        "DSPEX_SECRETS_KEY on a server others reach)",
        path,
    )
    return key
