"""The Henan gazetteer: canonical names, aliases, OCR corrections, sentences, ambiguity."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from content.regions import County, Gazetteer, Match

# The 2020 list, written out a second time so that a slip in the YAML shows up here.
EXPECTED = {
    "郑州市": "中原区 二七区 管城回族区 金水区 上街区 惠济区 中牟县 巩义市 荥阳市 新密市 "
    "新郑市 登封市",
    "开封市": "龙亭区 顺河回族区 鼓楼区 禹王台区 祥符区 杞县 通许县 尉氏县 兰考县",
    "洛阳市": "老城区 西工区 瀍河回族区 涧西区 吉利区 洛龙区 孟津县 新安县 栾川县 嵩县 汝阳县 "
    "宜阳县 洛宁县 伊川县 偃师市",
    "平顶山市": "新华区 卫东区 石龙区 湛河区 宝丰县 叶县 鲁山县 郏县 舞钢市 汝州市",
    "安阳市": "文峰区 北关区 殷都区 龙安区 安阳县 汤阴县 滑县 内黄县 林州市",
    "鹤壁市": "鹤山区 山城区 淇滨区 浚县 淇县",
    "新乡市": "红旗区 卫滨区 凤泉区 牧野区 新乡县 获嘉县 原阳县 延津县 封丘县 卫辉市 "
    "辉县市 长垣市",
    "焦作市": "解放区 中站区 马村区 山阳区 修武县 博爱县 武陟县 温县 沁阳市 孟州市",
    "濮阳市": "华龙区 清丰县 南乐县 范县 台前县 濮阳县",
    "许昌市": "魏都区 建安区 鄢陵县 襄城县 禹州市 长葛市",
    "漯河市": "源汇区 郾城区 召陵区 舞阳县 临颍县",
    "三门峡市": "湖滨区 陕州区 渑池县 卢氏县 义马市 灵宝市",
    "南阳市": "宛城区 卧龙区 南召县 方城县 西峡县 镇平县 内乡县 淅川县 社旗县 唐河县 新野县 "
    "桐柏县 邓州市",
    "商丘市": "梁园区 睢阳区 民权县 睢县 宁陵县 柘城县 虞城县 夏邑县 永城市",
    "信阳市": "浉河区 平桥区 罗山县 光山县 新县 商城县 固始县 潢川县 淮滨县 息县",
    "周口市": "川汇区 淮阳区 扶沟县 西华县 商水县 沈丘县 郸城县 太康县 鹿邑县 项城市",
    "驻马店市": "驿城区 西平县 上蔡县 平舆县 正阳县 确山县 泌阳县 汝南县 遂平县 新蔡县",
    "济源市": "济源市",
}
DIRECTLY_MANAGED = {
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
    "济源市",
}


@pytest.fixture(scope="module")
def regions() -> Gazetteer:
    return Gazetteer.load()


def _names(counties: list[County]) -> list[str]:
    return [c.name for c in counties]


# -- the data ---------------------------------------------------------------------------


def test_every_city_has_its_counties(regions: Gazetteer) -> None:
    assert regions.cities() == list(EXPECTED)
    for city, names in EXPECTED.items():
        units = regions.counties_of(city)
        assert units, city
        assert _names(units) == names.split(), city
        assert all(c.city == city and c.name.endswith(c.kind) for c in units)


def test_total_and_kinds(regions: Gazetteer) -> None:
    units = [c for city in regions.cities() for c in regions.counties_of(city)]
    assert 155 <= len(units) <= 160
    assert len(units) == len({c.name for c in units}) == 158
    kinds = [c.kind for c in units]
    assert (kinds.count("区"), kinds.count("市"), kinds.count("县")) == (53, 22, 83)


def test_directly_managed_counties_stay_under_their_cities(regions: Gazetteer) -> None:
    managed = {
        c for city in regions.cities() for c in regions.counties_of(city) if c.directly_managed
    }
    assert {c.name for c in managed} == DIRECTLY_MANAGED
    cities = {c.name: c.city for c in managed}
    assert cities["鹿邑县"] == "周口市"
    assert cities["永城市"] == "商丘市"
    assert cities["长垣市"] == "新乡市"
    assert cities["滑县"] == "安阳市"


def test_counties_of_accepts_aliases(regions: Gazetteer) -> None:
    assert _names(regions.counties_of("安阳")) == _names(regions.counties_of("安阳市"))
    assert "荥阳市" in _names(regions.counties_of("鄭州"))
    assert regions.counties_of("火星市") == []


# -- county(): names, aliases, variants, OCR ---------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        # OCR misreadings from the province's documents
        ("荣阳", "荥阳市"),
        ("荣阳市", "荥阳市"),
        ("浙川", "淅川县"),
        ("浙川县", "淅川县"),
        ("澠池", "渑池县"),
        ("澠池县", "渑池县"),
        ("郟县", "郏县"),
        ("临颖", "临颍县"),
        ("临颖县", "临颍县"),
        # look-alikes, same-sound slips and traditional forms
        ("荧阳", "荥阳市"),
        ("滎陽市", "荥阳市"),
        ("雎县", "睢县"),
        ("雎阳区", "睢阳区"),
        ("拓城", "柘城县"),
        ("濬县", "浚县"),
        ("臨潁縣", "临颍县"),
        ("鄧州", "邓州市"),
        ("長垣", "长垣市"),
        # OCR table cells, spaced out
        ("荣 阳", "荥阳市"),
        ("临 颖", "临颍县"),
        ("澠 池", "渑池县"),
        ("浙 川", "淅川县"),
        ("郟 县", "郏县"),
        ("辉 县", "辉县市"),
        ("邓 州", "邓州市"),
    ],
)
def test_ocr_forms(regions: Gazetteer, typed: str, canonical: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == canonical
    assert regions.correct(typed) == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("荥阳", "荥阳市"),
        ("中牟", "中牟县"),
        ("辉县", "辉县市"),
        ("管城", "管城回族区"),
        ("管城区", "管城回族区"),
        ("滑", "滑县"),
        ("浚", "浚县"),
        ("睢", "睢县"),
        ("郏", "郏县"),
        ("杞", "杞县"),
        ("济源", "济源市"),
        # historical names and renamed units
        ("开封县", "祥符区"),
        ("许昌县", "建安区"),
        ("陕县", "陕州区"),
        ("巩县", "巩义市"),
        ("林县", "林州市"),
        ("邙山区", "惠济区"),
    ],
)
def test_aliases(regions: Gazetteer, typed: str, canonical: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("荥阳县", "荥阳市"),
        ("长垣县", "长垣市"),
        ("淮阳县", "淮阳区"),
        ("偃师区", "偃师市"),
        ("孟津区", "孟津县"),
        ("新郑县", "新郑市"),
        ("陕州市", "陕州区"),
    ],
)
def test_suffix_variants(regions: Gazetteer, typed: str, canonical: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == canonical


def test_every_canonical_name_resolves_to_itself(regions: Gazetteer) -> None:
    for city in regions.cities():
        for unit in regions.counties_of(city):
            assert regions.county(unit.name) == unit
            assert regions.resolve(unit.name) == Match(unit, city, None)


@pytest.mark.parametrize(
    "typed",
    [
        "安阳市滑县",
        "安阳滑县",
        "河南省安阳市滑县",
        "河南滑县",
        "河南安阳滑县",
        "安阳市 滑县",
        "安阳滑",
    ],
)
def test_city_and_province_prefixes(regions: Gazetteer, typed: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == "滑县"


def test_prefix_of_another_city_is_refused(regions: Gazetteer) -> None:
    assert regions.county("郑州市滑县") is None
    assert regions.county("南阳荣阳") is None
    assert regions.county("郑州荣阳").name == "荥阳市"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "typed", ["　滑　县 ", "\u3000滑县\u3000", " 滑 县\n", "滑\u200b县", "滑县。"]
)
def test_spaces_and_edges(regions: Gazetteer, typed: str) -> None:
    county = regions.county(typed)
    assert county is not None and county.name == "滑县"
    assert regions.resolve(typed).corrected_from is None


def test_unknown(regions: Gazetteer) -> None:
    for text in ("火星县", "", "   ", "河南省", "河南", "县", "北京市朝阳区"):
        assert regions.county(text) is None
        assert regions.resolve(text) == Match(None, None, None)


# -- cities, resolve(), correct() ------------------------------------------------------


def test_city_names(regions: Gazetteer) -> None:
    assert regions.city("郑州") == "郑州市"
    assert regions.city("郑州市") == "郑州市"
    assert regions.city("鄭州") == "郑州市"
    assert regions.city("洛陽") == "洛阳市"
    assert regions.city("濮陽市") == "濮阳市"
    assert regions.city("河南省 三门峡市") == "三门峡市"
    assert regions.city("滑县") is None
    assert regions.city("长沙") is None


def test_a_city_is_not_its_namesake_county(regions: Gazetteer) -> None:
    for stem in ("安阳", "新乡", "濮阳"):
        assert regions.county(stem) is None
        assert regions.county(stem + "市") is None
        assert regions.resolve(stem) == Match(None, stem + "市", stem)
        county = regions.county(stem + "县")
        assert county is not None and county.city == stem + "市"
    # 济源 is both the city and its only county-level unit.
    jiyuan = regions.resolve("济源")
    assert jiyuan.county is not None and jiyuan.county.name == jiyuan.city == "济源市"


def test_resolve_reports_what_was_typed(regions: Gazetteer) -> None:
    assert regions.resolve("荣阳").corrected_from == "荣阳"
    assert regions.resolve("荣 阳").corrected_from == "荣阳"
    assert regions.resolve("荥阳县").corrected_from == "荥阳县"
    assert regions.resolve("河南省郑州市荣阳市").corrected_from == "荣阳市"
    assert regions.resolve("滑县").corrected_from is None
    assert regions.resolve("安阳市滑县").corrected_from is None
    assert regions.resolve("鄭州") == Match(None, "郑州市", "鄭州")
    assert regions.resolve("郑州市") == Match(None, "郑州市", None)
    match = regions.resolve("浙川")
    assert match.county is not None and (match.county.name, match.city) == ("淅川县", "南阳市")


def test_correct(regions: Gazetteer) -> None:
    assert regions.correct("浙川") == "淅川县"
    assert regions.correct("荣阳") == "荥阳市"
    assert regions.correct("鄭州") == "郑州市"
    assert regions.correct("安阳") == "安阳市"
    assert regions.correct("滑县") == "滑县"
    assert regions.correct("不存在") == "不存在"


# -- find_in() ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("滑县有几个帮扶村", ["滑县"]),
        ("滑县有几个帮扶村 谁负责", ["滑县"]),
        ("荣阳和中牟", ["荥阳市", "中牟县"]),
        ("荣阳和中牟的服务站", ["荥阳市", "中牟县"]),
        ("金水区和二七区", ["金水区", "二七区"]),
        ("安阳市滑县和林州", ["滑县", "林州市"]),
        ("濮阳县、范县、台前县", ["濮阳县", "范县", "台前县"]),
        ("荥阳市荥阳县荣阳", ["荥阳市"]),
        ("浙 川 县 的 村", ["淅川县"]),
        (
            "确山县、鹿邑县、淇县、封丘县、永城市人民政府",
            ["确山县", "鹿邑县", "淇县", "封丘县", "永城市"],
        ),
        (
            "将南召、新蔡、郸城、沈丘等4个国家级贫困县，原阳、舞阳、罗山、汝南等4个省级贫困县",
            ["南召县", "新蔡县", "郸城县", "沈丘县", "原阳县", "舞阳县", "罗山县", "汝南县"],
        ),
        ("商城县的商城", ["商城县"]),
        ("新县县城", ["新县"]),
        ("滑", ["滑县"]),
        ("商城", ["商城县"]),
    ],
)
def test_find_in_sentences(regions: Gazetteer, sentence: str, expected: list[str]) -> None:
    assert _names(regions.find_in(sentence)) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        "去滑雪场滑雪",
        "河道疏浚工程",
        "解放思想，中原更出彩，上街买菜",
        "电子商务进农村综合示范县",
        "规范县级服务中心，创新县域电商",
        "申请生产流通许可",
        "乡镇平台和县内乡村服务站",
        "电商水果销售，各项城市建设",
        "请输入新密码",
        "重新安排地方城市的商城",
        "安阳和新乡",
        "湖南省长沙县",
    ],
)
def test_find_in_ignores_ordinary_words(regions: Gazetteer, sentence: str) -> None:
    assert regions.find_in(sentence) == []


# -- ambiguity and the loader's checks ---------------------------------------------------

AMBIGUOUS_YAML = """
province: {name: 某省, aliases: [某]}
cities:
  甲市:
    aliases: [甲]
    counties:
      - {name: 东山区, kind: 区, aliases: [东山]}
      - {name: 甲县, kind: 县, aliases: [甲]}
  乙市:
    aliases: [乙]
    counties:
      - {name: 东山县, kind: 县, aliases: [东山]}
      - {name: 西河县, kind: 县, aliases: [西河]}
ocr_corrections: {束山: 东山}
"""


@pytest.fixture()
def ambiguous(tmp_path: Path) -> Gazetteer:
    path = tmp_path / "regions.yaml"
    path.write_text(AMBIGUOUS_YAML, encoding="utf-8")
    return Gazetteer.load(path)


def test_a_shared_stem_picks_nothing(ambiguous: Gazetteer) -> None:
    for typed in ("东山", "束山", "东山市", "某省东山"):
        assert ambiguous.county(typed) is None
        assert ambiguous.resolve(typed).county is None
        assert ambiguous.correct(typed) == typed
    assert ambiguous.find_in("东山有几个村") == []
    # The full names and a city prefix settle it.
    assert ambiguous.county("东山区").city == "甲市"  # type: ignore[union-attr]
    assert ambiguous.county("东山县").city == "乙市"  # type: ignore[union-attr]
    assert ambiguous.county("乙市东山").name == "东山县"  # type: ignore[union-attr]
    assert ambiguous.county("甲束山").name == "东山区"  # type: ignore[union-attr]
    assert _names(ambiguous.find_in("乙市东山和西河")) == ["东山县", "西河县"]


def test_a_city_name_is_not_a_county_alias(ambiguous: Gazetteer) -> None:
    assert ambiguous.county("甲") is None
    assert ambiguous.resolve("甲") == Match(None, "甲市", "甲")
    assert ambiguous.county("甲县").name == "甲县"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (AMBIGUOUS_YAML.replace("kind: 区", "kind: 县"), "kind"),
        (AMBIGUOUS_YAML.replace("{束山: 东山}", "{西河: 东河}"), "ocr_corrections"),
        (AMBIGUOUS_YAML.replace("{name: 西河县", "{name: 东山县"), "twice"),
    ],
)
def test_bad_data_is_refused(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "regions.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Gazetteer.load(path)


def test_loading_is_fast() -> None:
    Gazetteer.load()
    best = min(_timed_load() for _ in range(3))
    assert best < 0.1  # typically under 10 ms


def _timed_load() -> float:
    start = time.perf_counter()
    Gazetteer.load()
    return time.perf_counter() - start
