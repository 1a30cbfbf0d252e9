"""``cunzhan reports``: export a period to Excel, change a due day, add a type from YAML."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from tests.conftest import make_env
from tests.e2e.test_cli import cli


def test_reports_commands(tmp_path: Path, sqlite_url: str) -> None:
    env = make_env(sqlite_url)
    assert cli(["reports", "set-due", "progress", "20"], env, tmp_path).returncode == 0
    refused = cli(["reports", "set-due", "progress", "40"], env, tmp_path)
    assert refused.returncode == 2 and "due_day" in refused.stderr
    extra = tmp_path / "types.yaml"
    extra.write_text(
        "types:\n"
        "  - code: stations\n"
        "    name: 服务站季度情况\n"
        "    due_day: 10\n"
        "    words: [服务站月报]\n"
        "    fields:\n"
        "      - {key: open_days, label: 营业天数, kind: number, unit: 天, keyword: 营业}\n",
        encoding="utf-8",
    )
    added = cli(["reports", "add-type", str(extra)], env, tmp_path)
    assert added.returncode == 0 and "stations: due day 10, 1 fields" in added.stdout
    out = tmp_path / "stations.xlsx"
    exported = cli(
        ["reports", "export", "2026-10", "--type", "stations", "--out", str(out)], env, tmp_path
    )
    assert exported.returncode == 0, exported.stderr
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert rows[0][-1] == "营业天数（天）" and len(rows) == 1
