"""Encryption at rest of secrets the service must send later.

The pull-endpoint secret has to be presented to the customer's WMS in clear,
so it cannot be hashed; it is stored encrypted instead.

Policy:

* Fernet from ``cryptography`` (AES-128-CBC with HMAC-SHA256 and a random IV)
  does the work; nothing here is hand-written crypto.  Tokens are
  authenticated: a wrong key or a damaged token raises
  :class:`SecretCipherError` and never yields garbage.
* Key source, in order: ``WMS_INTAKE_SECRET_KEY`` (the ``secret_key``
  argument; blank counts as unset), else the key file, which is created on
  first use with mode 0600 and a fresh ``Fernet.generate_key()``.
* Each key is either a Fernet key (url-safe base64 of 32 bytes), used as is,
  or any other string of at least :data:`MIN_DERIVED_KEY_CHARS` characters,
  from which a Fernet key is derived with HKDF-SHA256 (no salt, a fixed info
  label: the same string must always give the same key).  HKDF does not slow
  down guessing, so such a string must itself be random (for instance
  ``openssl rand -base64 48``); shorter strings are refused.
* Rotation: several keys separated by commas (or lines, in the key file) may
  be given; the first encrypts, all decrypt (``MultiFernet``), and
  :meth:`SecretCipher.rotate` re-encrypts a token under the first key.  Keys
  therefore cannot contain commas.
* Neither keys nor plaintexts appear in exception messages or logs.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["MIN_DERIVED_KEY_CHARS", "SecretCipher", "SecretCipherError"]

MIN_DERIVED_KEY_CHARS: Final = 32

# Domain separation: the same string used as a key elsewhere yields another key.
_HKDF_INFO: Final = b"wms-intake secret cipher v1"
# A Fernet key is exactly 32 bytes in url-safe base64 with its padding; matching
# the text strictly keeps a random string from being half-read as base64.
_FERNET_KEY_TEXT: Final = re.compile(r"[A-Za-z0-9_-]{43}=")
_KEY_SEPARATORS: Final = re.compile(r"[,\r\n]")

_logger = logging.getLogger(__name__)


class SecretCipherError(Exception):
    """A key is unusable, or a token cannot be decrypted with the configured keys."""


class SecretCipher:
    """Encrypts and decrypts stored secrets with Fernet.

    ``key`` encrypts and decrypts; ``previous_keys`` only decrypt, so tokens
    written before a key rotation stay readable.
    """

    def __init__(self, key: bytes, *, previous_keys: Sequence[bytes] = ()) -> None:
        try:
            fernets = [Fernet(candidate) for candidate in (key, *previous_keys)]
        except (TypeError, ValueError):
            raise SecretCipherError("a key is not a valid Fernet key") from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt ``plaintext`` under the first key; the token is ASCII text."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with any configured key."""
        return self._open(self._fernet.decrypt, token, "utf-8", "decrypt")

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the first key (after adding a new key)."""
        return self._open(self._fernet.rotate, token, "ascii", "rotate")

    @staticmethod
    def _open(operation: Callable[[bytes], bytes], token: str, encoding: str, verb: str) -> str:
        """``operation`` on a stored token, its result as text; any failure a :class:`SecretCipherError`."""
        try:
            return operation(token.encode("ascii")).decode(encoding)
        except (InvalidToken, ValueError):
            # ValueError covers a non-ASCII token and a non-UTF-8 plaintext.
            raise SecretCipherError(f"cannot {verb} the secret: wrong key or damaged token") from None

    @classmethod
    def from_settings(cls, secret_key: str | None, key_file: Path) -> SecretCipher:
        """The cipher for the configured keys (see the module policy).

        ``secret_key`` is ``WMS_INTAKE_SECRET_KEY``; when it is unset or blank
        the keys come from ``key_file``, which is created (with its parent
        directory) when missing.
        """
        if secret_key is not None and secret_key.strip():
            keys = _parse_keys(secret_key, "WMS_INTAKE_SECRET_KEY")
        else:
            keys = _parse_keys(_read_or_create_key_file(key_file), f"key file {key_file}")
        return cls(keys[0], previous_keys=keys[1:])


def _parse_keys(text: str, source: str) -> list[bytes]:
    parts = [part.strip() for part in _KEY_SEPARATORS.split(text)]
    keys = [_fernet_key(part, source) for part in parts if part]
    if not keys:
        raise SecretCipherError(f"{source} holds no key")
    return keys


def _fernet_key(text: str, source: str) -> bytes:
    if _FERNET_KEY_TEXT.fullmatch(text):
        return text.encode("ascii")
    if len(text) < MIN_DERIVED_KEY_CHARS:
        raise SecretCipherError(
            f"{source}: a key must be a Fernet key or a random string of at least {MIN_DERIVED_KEY_CHARS} characters"
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(text.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def _read_or_create_key_file(path: Path) -> str:
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        return _create_key_file(path)


def _read_key_file(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        _logger.warning("secret key file %s is accessible to other users; chmod 600 it", path)
    return text


def _create_key_file(path: Path) -> str:
    """Create ``path`` holding a new key, or read the key another process just wrote.

    The key is written to a private temporary file (``O_CREAT | O_EXCL`` with
    mode 0600, so it is never readable by others, not even briefly) and then
    hard-linked to ``path``.  ``link`` fails when ``path`` exists, so two
    processes starting at once settle on one key, and no reader ever sees a
    half-written key file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Fernet.generate_key()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(descriptor, "wb") as stream:
            stream.write(key + b"\n")
            stream.flush()
            # Durable before it becomes visible: losing the key after secrets
            # were encrypted with it would make them unreadable.
            os.fsync(stream.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            return _read_key_file(path)
        _fsync_directory(path.parent)
    finally:
        temporary.unlink(missing_ok=True)
    return key.decode("ascii")


def _fsync_directory(directory: Path) -> None:
    # Persists the new directory entry; not possible on every platform.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
