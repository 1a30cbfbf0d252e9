"""Where the content package keeps its files."""

from pathlib import Path

CONTENT_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = CONTENT_DIR / "templates"
DATA_DIR = CONTENT_DIR / "data"
