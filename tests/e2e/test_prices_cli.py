"""`cunzhan prices import`: a CSV with a header, bad lines reported one by one, a progress
bar on stderr, and a second run that changes nothing; `cunzhan info post` with an image."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from content.charts import TrendPoint, price_trend_png
from storage.db import Database
from storage.models import Blob, InfoItem, OutboxMessage, Price
from tests.conftest import make_env
from tests.e2e.test_cli import cli

CSV = """品名,市场,价格,单位,日期
苹果,灵宝,3.2,斤,2026-11-01
苹果,灵宝果品批发市场,3.3元,元/斤,2026/11/02
小米,滑县,6,公斤,2026-11-02
梨,火星,2,斤,2026-11-02
苹果,灵宝,-1,斤,2026-11-03
苹果,灵宝,3,斤,2026-13-01
,灵宝,3,斤,2026-11-01
"""


async def rows(database_url: str, model) -> list:
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            return list(await session.scalars(select(model).order_by(model.id)))
    finally:
        await db.dispose()


async def test_import_reports_bad_lines_and_is_idempotent(tmp_path: Path, database_url) -> None:
    env = make_env(database_url)
    path = tmp_path / "prices.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    first = cli(["prices", "import", str(path)], env, tmp_path)
    assert first.returncode == 1, first.stderr
    assert "新增 3 条，更正 0 条，未变 0 条，4 行有错误" in first.stdout
    assert "[##############################] 100% 7/7" in first.stderr
    for line in (
        "第 5 行：不认识“火星”",
        "第 6 行：价格不对",
        "第 7 行：日期不对",
        "第 8 行：缺少“品名”",
    ):
        assert line in first.stderr
    stored = await rows(database_url, Price)
    assert [
        (p.product, p.market, p.county, p.price_fen, p.unit, str(p.observed_on)) for p in stored
    ] == [
        ("苹果", "灵宝市", "灵宝市", 320, "斤", "2026-11-01"),
        ("苹果", "灵宝果品批发市场", "灵宝市", 330, "斤", "2026-11-02"),
        ("小米", "滑县", "滑县", 600, "公斤", "2026-11-02"),
    ]
    assert {p.source_label for p in stored} == {"prices.csv"}
    again = cli(["prices", "import", str(path)], env, tmp_path)
    assert "新增 0 条，更正 0 条，未变 3 条" in again.stdout
    assert len(await rows(database_url, Price)) == 3
    # Without a header the columns are taken in the documented order; a price can be corrected.
    plain = tmp_path / "plain.csv"
    plain.write_bytes("苹果,灵宝,3.4,斤,2026-11-01\n".encode("gb18030"))
    fixed = cli(["prices", "import", str(plain), "--source", "县商务局"], env, tmp_path)
    assert fixed.returncode == 0 and "更正 1 条" in fixed.stdout
    assert (await rows(database_url, Price))[0].price_fen == 340
    missing = cli(["prices", "import", str(tmp_path / "none.csv")], env, tmp_path)
    assert missing.returncode == 2 and "无法读取文件" in missing.stderr


async def test_info_post_with_an_image(tmp_path: Path, database_url) -> None:
    env = make_env(database_url)
    image = tmp_path / "wheat.png"
    image.write_bytes(price_trend_png([TrendPoint(date(2026, 11, 1), 1, 1, 1)]))
    posted = cli(
        [
            "info",
            "post",
            "--topic",
            "农业技术",
            "--region",
            "滑县",
            "--title",
            "冬灌",
            "--text",
            "抓紧冬灌。",
            "--image",
            str(image),
        ],
        env,
        tmp_path,
    )
    assert posted.returncode == 0, posted.stderr
    [item] = await rows(database_url, InfoItem)
    [blob] = await rows(database_url, Blob)
    assert item.blob_id == blob.id and blob.content == image.read_bytes()
    assert item.scope == "county" and item.county == "滑县" and item.author_label is None
    assert await rows(database_url, OutboxMessage) == []  # nobody subscribed yet
    bad = cli(["info", "post", "--topic", "天气", "--title", "x", "--text", "y"], env, tmp_path)
    assert bad.returncode == 2 and "没有“天气”这个栏目" in bad.stderr
