"""cunzhan's WeChat crypto against wechatpy's: each decrypts what the other encrypts,
signatures agree, and tampered or foreign ciphertexts are refused."""

from __future__ import annotations

import base64
import re

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.wechat_crypto import WechatCipher, WechatCryptoError, signature, signature_ok
from tests.fakes.wechat_peer import AES_KEY, APP_ID

TOKEN = "tok"
MESSAGES = ["<xml>你好</xml>", "", "a" * 31, "b" * 32, "c" * 33, "表情😀" * 300]


@pytest.mark.parametrize("message", MESSAGES)
def test_wechatpy_decrypts_what_we_encrypt(message: str) -> None:
    ours = WechatCipher(AES_KEY, APP_ID).encrypt(message)
    sig = signature(TOKEN, "1700000000", "n1", ours)
    envelope = f"<xml><ToUserName>gh</ToUserName><Encrypt>{ours}</Encrypt></xml>"
    theirs = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    assert theirs.decrypt_message(envelope, sig, "1700000000", "n1") == message


@pytest.mark.parametrize("message", [m for m in MESSAGES if m])
def test_we_decrypt_what_wechatpy_encrypts(message: str) -> None:
    envelope = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(message, "n2", "1700000001")
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    given = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope).group(1)  # type: ignore[union-attr]
    assert signature_ok((TOKEN, "1700000001", "n2", encrypted), given)
    assert WechatCipher(AES_KEY, APP_ID).decrypt(encrypted) == message


def test_url_signature_matches_wechatpy() -> None:
    sig = signature(TOKEN, "1700000000", "abc")
    check_signature(TOKEN, sig, "1700000000", "abc")
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, sig, "1700000000", "abd")
    assert signature_ok((TOKEN, "1700000000", "abc"), sig.upper())
    assert not signature_ok((TOKEN, "1700000000", "abc"), sig[:-1] + "0")
    assert not signature_ok((TOKEN, "1700000000", "abc"), "")


def test_foreign_app_tampered_and_malformed_ciphertexts_are_refused() -> None:
    other = WechatCipher(AES_KEY, "wxsomeoneelse").encrypt("<xml/>")
    with pytest.raises(WechatCryptoError, match="AppID"):
        WechatCipher(AES_KEY, APP_ID).decrypt(other)
    good = base64.b64decode(WechatCipher(AES_KEY, APP_ID).encrypt("<xml>x</xml>"))
    tampered = base64.b64encode(good[:-1] + bytes([good[-1] ^ 1])).decode()
    with pytest.raises(WechatCryptoError):
        WechatCipher(AES_KEY, APP_ID).decrypt(tampered)
    for bad in ("not base64!", base64.b64encode(b"short").decode(), ""):
        with pytest.raises(WechatCryptoError):
            WechatCipher(AES_KEY, APP_ID).decrypt(bad)


def test_bad_keys_are_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        WechatCipher("short", APP_ID)
    with pytest.raises(ValueError):
        WechatCipher("!" * 43, APP_ID)
    with pytest.raises(ValueError):
        WechatCipher(AES_KEY, "")
