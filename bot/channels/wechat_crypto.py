"""WeChat's message signatures and safe-mode (安全模式) encryption, on ``cryptography``.

What WeChat does, and what this module reproduces:

- ``signature`` = SHA-1 of the sorted, concatenated (token, timestamp, nonce); for
  safe-mode bodies ``msg_signature`` is the same over (token, timestamp, nonce, Encrypt).
- The AES key is the base64 ``EncodingAESKey`` (43 characters) plus ``=``: 32 bytes, and
  its first 16 bytes are the IV. The plaintext is 16 random bytes, the message length as
  4 big-endian bytes, the message, and the AppID; padded PKCS#7 to 32-byte blocks (not
  AES's 16); AES-256-CBC; base64.

Comparisons are constant-time. Used by the WeChat channel only; no network here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class WechatCryptoError(ValueError):
    """A body that does not decrypt, or decrypts to something not meant for this app."""


def signature(*parts: str) -> str:
    """WeChat's SHA-1 signature over the sorted parts (token, timestamp, nonce[, encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_ok(expected_parts: tuple[str, ...], given: str) -> bool:
    """Constant-time check of a hex signature given by the caller."""
    return hmac.compare_digest(signature(*expected_parts).encode(), given.lower().encode())


def _pad(data: bytes) -> bytes:
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    if not data:
        raise WechatCryptoError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise WechatCryptoError("bad padding")
    return data[:-amount]


class WechatCipher:
    """Encrypts replies and decrypts messages for one AppID with one EncodingAESKey."""

    def __init__(self, encoding_aes_key: str, app_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not base64") from exc
        if len(self._key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        if not app_id:
            raise ValueError("safe mode needs the AppID")
        self._app_id = app_id.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        """The base64 ciphertext of ``message`` as WeChat expects it in <Encrypt>."""
        body = message.encode("utf-8")
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("the random prefix is 16 bytes")
        plain = _pad(prefix + struct.pack(">I", len(body)) + body + self._app_id)
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """The XML inside <Encrypt>; raises ``WechatCryptoError`` if it is not ours or broken."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WechatCryptoError("Encrypt is not base64") from exc
        if not data or len(data) % BLOCK:
            raise WechatCryptoError("ciphertext is not a whole number of blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(data) + decryptor.finalize())
        if len(plain) < 20:
            raise WechatCryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        body, app_id = plain[20 : 20 + length], plain[20 + length :]
        if len(body) != length:
            raise WechatCryptoError("length field exceeds the plaintext")
        if not hmac.compare_digest(app_id, self._app_id):
            raise WechatCryptoError("message is for another AppID")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WechatCryptoError("message is not UTF-8") from exc
