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


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(presented: str, stored_hash: str) -> bool:
    """Constant-time: the time taken does not depend on how much of it matched."""
    return hmac.compare_digest(hash_secret(presented).encode(), stored_hash.encode())


def hash_matches(presented_hash: str, stored_hash: str) -> bool:
    """Constant-time comparison of two digests (a secret already hashed)."""
    return hmac.compare_digest(presented_hash.encode(), stored_hash.encode())
