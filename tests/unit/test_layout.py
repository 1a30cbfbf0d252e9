"""The layout's rules, checked: import contracts, templates that exist, no stray sentences."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "content" / "templates"
CODE_DIRS = ["bot", "handlers", "storage", "scheduler"]


def test_import_contracts_hold() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint, "import-linter is a test dependency"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def _python_files() -> list[Path]:
    return [p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]


def test_every_template_named_in_code_exists() -> None:
    pattern = re.compile(r"""(?:Reply|Invalid)\(\s*["']([a-z_]+/[a-z_/]+)["']""")
    prompt = re.compile(r"""["'](forms/[a-z_]+/ask_[a-z_]+)["']""")
    missing = []
    for path in _python_files():
        source = path.read_text(encoding="utf-8")
        for name in pattern.findall(source) + prompt.findall(source):
            if not (TEMPLATES / f"{name}.j2").exists():
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []


def test_code_holds_no_chinese_sentences() -> None:
    """User-facing words live in templates; code may hold only short keywords (取消, 滑县…)."""
    sentence = re.compile(r"""["'][^"'\n]*[\u4e00-\u9fff][^"'\n]*[，。！？：][^"'\n]*["']""")
    offenders = []
    for path in _python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if sentence.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
