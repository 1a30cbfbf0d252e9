"""The Henan gazetteer: canonical names, aliases, OCR corrections, sentences, ambiguity."""

from __future__ import annotations

import pytest

from content.regions import Gazetteer


@pytest.fixture(scope="module")
def regions() -> Gazetteer:
    return Gazetteer.load()


def test_every_city_has_counties(regions: Gazetteer) -> None:
    assert len(regions.cities()) == 18
    total = sum(len(regions.counties_of(c)) for c in regions.cities())
    assert 150 <= total <= 165
    assert {c.name for c in regions.counties_of("安阳")} >= {"滑县", "林州市", "内黄县"}


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("荣阳", "荥阳市"),
        ("荣阳市", "荥阳市"),
        ("浙川", "淅川县"),
        ("澠池", "渑池县"),
        ("郟县", "郏县"),
        ("临颖", "临颍县"),
        ("滑", "滑县"),
        ("滑县", "滑县"),
        ("安阳滑县", "滑县"),
        ("河南省安阳市滑县", "滑县"),
        ("　滑　县 ", "滑县"),
        ("荥阳", "荥阳市"),
        ("浚", "浚县"),
        ("济源", "济源市"),
        ("淮阳县", "淮阳区"),
    ],
)
def test_county_forms(regions: Gazetteer, typed: str, canonical: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == canonical


def test_city_is_not_its_namesake_county(regions: Gazetteer) -> None:
    assert regions.county("安阳") is None
    assert regions.county("安阳县").name == "安阳县"  # type: ignore[union-attr]
    assert regions.resolve("安阳").city == "安阳市"
    assert regions.county("火星县") is None and regions.county("") is None


def test_corrections_are_reported(regions: Gazetteer) -> None:
    assert regions.resolve("荣阳").corrected_from == "荣阳"
    assert regions.resolve("滑县").corrected_from is None
    assert regions.correct("浙川") == "淅川县"
    assert regions.correct("不存在") == "不存在"


def test_find_in_sentences(regions: Gazetteer) -> None:
    assert [c.name for c in regions.find_in("滑县有几个帮扶村 谁负责")] == ["滑县"]
    assert [c.name for c in regions.find_in("荣阳和中牟的服务站")] == ["荥阳市", "中牟县"]
    # Everyday words that happen to be district stems are not places.
    assert regions.find_in("解放思想，中原更出彩，上街买菜") == []
    assert [c.name for c in regions.find_in("金水区和二七区")] == ["金水区", "二七区"]


def test_directly_managed_counties(regions: Gazetteer) -> None:
    managed = {
        c.name
        for city in regions.cities()
        for c in regions.counties_of(city)
        if c.directly_managed
    }
    assert {
        "巩义市",
        "兰考县",
        "汝州市",
        "滑县",
        "长垣市",
        "邓州市",
        "永城市",
        "固始县",
        "鹿邑县",
        "新蔡县",
    } <= managed
