"""The command line: `cunzhan invite` makes the first admin; `cunzhan db` migrates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.app import CunzhanApp
from tests.conftest import make_env
from tests.factories import ChatDriver, joined

ROOT = Path(__file__).resolve().parents[2]


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
        timeout=60,
        check=False,
    )


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_invite_from_the_command_line_makes_an_admin(
    tmp_path: Path, database_url: str, settings_for
) -> None:
    env = make_env(database_url)
    upgraded = cli(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == head_revision()
    made = cli(["invite", "--role", "admin"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    code = made.stdout.strip()
    assert len(code) == 11 and code[5] == "-"
    assert "expires=" in made.stderr
    refused = cli(["invite", "--role", "staff", "--county", "火星县"], env, tmp_path)
    assert refused.returncode == 2 and "unknown county" in refused.stderr

    app = CunzhanApp(settings_for(database_url))
    try:
        chat = ChatDriver(app.dispatcher, user="first-admin")
        assert "管理员" in joined(await chat.say(f"/bind {code}"))
        assert "邀请码：" in joined(await chat.say("/invite liaison 滑县"))
    finally:
        await app.db.dispose()


def test_bad_configuration_is_named(tmp_path: Path) -> None:
    result = cli(["db", "current"], {"CUNZHAN_HTTP_PORT": "x"}, tmp_path)
    assert result.returncode == 2 and "CUNZHAN_HTTP_PORT" in result.stderr
