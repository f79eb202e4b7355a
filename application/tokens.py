"""Bearer secrets: generated with ``secrets``, stored as SHA-256, compared in constant time.

The secrets are 256-bit random tokens, not passwords: a fast hash is the right
tool (a slow KDF protects low-entropy secrets and would only add latency to
every webhook call).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(TOKEN_BYTES)}"


def credential_bytes(text: str) -> bytes:
    """The bytes of a presented credential, for any string at all.

    A header that is not UTF-8 reaches us holding lone surrogates (the HTTP
    parser's ``surrogateescape``). Those encode here to bytes no real secret
    has (every secret we issue is ASCII), so such a credential is simply a
    wrong one: hashing and comparing never fail on it.
    """
    return text.encode("utf-8", "surrogatepass")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(credential_bytes(secret)).hexdigest()


def secret_matches(presented: str, stored_hash: str) -> bool:
    """Constant-time: the time taken does not depend on how much of it matched."""
    return hmac.compare_digest(hash_secret(presented).encode(), stored_hash.encode())


def hash_matches(presented_hash: str, stored_hash: str) -> bool:
    """Constant-time comparison of two digests (a secret already hashed)."""
    return hmac.compare_digest(credential_bytes(presented_hash), credential_bytes(stored_hash))
