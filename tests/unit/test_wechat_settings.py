"""WeChat settings: safe mode needs a 43-character key and the AppID; defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from tests.fakes.wechat_peer import AES_KEY, APP_ID


def settings(tmp_path: Path, **env: str):
    base = {"CUNZHAN_SECRET_KEY": "k", "CUNZHAN_WECHAT_TOKEN": "t"}
    return load_settings({**base, **env}, workdir=tmp_path)


def test_defaults_and_safe_mode(tmp_path: Path) -> None:
    plain = settings(tmp_path).wechat
    assert plain.enabled and plain.aes_key is None and plain.reply_budget_ms == 4000
    assert plain.template_id is None
    safe = settings(
        tmp_path,
        CUNZHAN_WECHAT_AES_KEY=AES_KEY,
        CUNZHAN_WECHAT_APP_ID=APP_ID,
        CUNZHAN_WECHAT_REPLY_BUDGET_MS="3500",
        CUNZHAN_WECHAT_TEMPLATE_ID="tmpl",
    ).wechat
    assert (safe.aes_key, safe.reply_budget_ms, safe.template_id) == (AES_KEY, 3500, "tmpl")


@pytest.mark.parametrize(
    "env",
    [
        {"CUNZHAN_WECHAT_AES_KEY": AES_KEY},
        {"CUNZHAN_WECHAT_AES_KEY": AES_KEY[:-1], "CUNZHAN_WECHAT_APP_ID": APP_ID},
    ],
)
def test_safe_mode_without_app_id_or_with_a_short_key_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    with pytest.raises(SettingsError, match="WECHAT_AES_KEY"):
        settings(tmp_path, **env)
