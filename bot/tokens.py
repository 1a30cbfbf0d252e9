"""Signs option values per person, so a forged or forwarded button is recognised and refused."""

from __future__ import annotations

import base64
import hashlib
import hmac

SEPARATOR = "~"
SIGNATURE_CHARS = 10
MAX_TOKEN_BYTES = 64  # Telegram's callback_data limit


class OptionSigner:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("an option signer needs a secret key")
        self._key = hashlib.sha256(("options:" + secret).encode()).digest()

    def _signature(self, user_id: int, value: str) -> str:
        digest = hmac.new(self._key, f"{user_id}:{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[:SIGNATURE_CHARS]

    def sign(self, user_id: int, value: str) -> str:
        token = f"{value}{SEPARATOR}{self._signature(user_id, value)}"
        if len(token.encode()) > MAX_TOKEN_BYTES:
            raise ValueError(f"option value too long for a button: {value!r}")
        return token

    def verify(self, user_id: int, token: str) -> str | None:
        """The value if ``token`` was signed for ``user_id``, else None."""
        value, sep, signature = token.rpartition(SEPARATOR)
        if not sep or not value:
            return None
        expected = self._signature(user_id, value)
        return value if hmac.compare_digest(expected, signature) else None
