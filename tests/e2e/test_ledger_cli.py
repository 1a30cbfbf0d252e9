"""`cunzhan ledger totals|export`: the figures and the operator's Excel 台账, audited."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from storage.models import AuditEntry
from tests.conftest import make_env
from tests.e2e.test_cli import cli
from tests.e2e.test_orders import bound, record


async def test_ledger_totals_and_export_from_the_command_line(
    core, tmp_path: Path, database_url: str
) -> None:
    staff = await bound(core, "staff")
    await record(staff)
    await record(staff, "代购 化肥 5袋 120元 李四", poor="否")
    env = make_env(database_url)
    totals = cli(["ledger", "totals", "--county", "滑", "--month", "2026-11"], env, tmp_path)
    assert totals.returncode == 0, totals.stderr
    assert json.loads(totals.stdout) == {
        "purchase_count": 1,
        "purchase_fen": 12000,
        "sale_count": 1,
        "sale_fen": 70000,
        "households": 2,
        "poor_households": 1,
        "count": 2,
        "total_fen": 82000,
    }
    out = tmp_path / "ledger.xlsx"
    args = ["ledger", "export", "--county", "滑县", "--village", "王庄村", "--month", "2026-11"]
    exported = cli([*args, "--out", str(out)], env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = list(load_workbook(out)["台账"].iter_rows(min_row=3, values_only=True))
    assert [r[9] for r in rows] == ["13812345678", None]  # 李四 has no phone
    bad = cli(["ledger", "totals", "--county", "火星县", "--month", "11"], env, tmp_path)
    assert bad.returncode == 2
    async with core.db.transaction() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.actor_label == "cli"))
    assert entry is not None and entry.action == "ledger.export" and entry.details["rows"] == 2
