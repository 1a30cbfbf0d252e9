"""Encryption at rest for ID-card numbers, and keyed hashes for looking them up.

The key comes from ``CUNZHAN_SECRET_KEY`` (handed in by the composition root); an ID number
is stored once, encrypted (Fernet: AES-128-CBC + HMAC), beside a keyed hash that lets the
repositories find duplicates without decrypting every row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class PiiKeyError(ValueError):
    """Stored personal data cannot be read with the configured key."""


class PiiCipher:
    """Called by repositories that store or read ID numbers; built once from the secret key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("personal data needs CUNZHAN_SECRET_KEY")
        enc_key = hashlib.sha256(("pii-encrypt:" + secret).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(enc_key))
        self._hash_key = hashlib.sha256(("pii-lookup:" + secret).encode()).digest()

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise PiiKeyError("stored personal data does not open with this key") from exc

    def lookup_hash(self, plain: str) -> str:
        """A stable keyed hash: equal numbers give equal hashes, nothing can be read back."""
        return hmac.new(self._hash_key, plain.encode(), hashlib.sha256).hexdigest()
