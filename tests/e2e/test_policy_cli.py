"""`cunzhan ask` (one question, or JSON lines for evaluation) and `cunzhan content build`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from content.policy.build import SOURCE_DIR

ROOT = Path(__file__).resolve().parents[2]


def cli(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "CUNZHAN_LOG_LEVEL": "warning"},
        timeout=120,
        check=False,
    )


def test_ask_one_question_and_jsonl(tmp_path: Path) -> None:
    one = cli(["ask", "辉县市电商帮扶村数是多少"], tmp_path)
    assert one.returncode == 0, one.stderr
    assert "51个" in one.stdout and "来源：豫通局〔2020〕47号 附件1" in one.stdout
    lines = "\n".join(
        json.dumps({"id": i, "question": q}, ensure_ascii=False)
        for i, q in [("a", "服务站的网速得多快才算达标"), ("b", "今天天气怎么样")]
    )
    many = cli(["ask", "--jsonl"], tmp_path, stdin=lines + "\n")
    assert many.returncode == 0, many.stderr
    out = [json.loads(line) for line in many.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"]
    assert out[0]["answered"] and "100Mbps" in out[0]["answer"]
    assert out[0]["sources"][0] == {
        "file": "000_b9bf2de68da213ca.txt",
        "doc": "豫通局〔2020〕47号",
        "section": "附件2",
    }
    assert out[1] == {"id": "b", "answered": False, "answer": out[1]["answer"], "sources": []}


def test_content_build_from_a_folder(tmp_path: Path) -> None:
    source = tmp_path / "docs"
    shutil.copytree(SOURCE_DIR, source)
    out = tmp_path / "corpus.json"
    built = cli(["content", "build", "--source", str(source), "--out", str(out)], tmp_path)
    assert built.returncode == 0, built.stderr
    assert "5 documents" in built.stdout and "95 table rows" in built.stdout
    assert "河南联通: stated 1171, rows 1171" in built.stdout
    assert "河南移动: stated 1110, rows 1092, illegible 临颍县: ok" in built.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["documents"]) == 5 and len(data["tasks"]) == 95
    empty = cli(["content", "build", "--source", str(tmp_path / "none")], tmp_path)
    assert empty.returncode == 2 and "no *.txt" in empty.stderr
