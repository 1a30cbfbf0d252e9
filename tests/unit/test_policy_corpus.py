"""The policy corpus: document records, the section tree, OCR repairs, the parsed tables."""

from __future__ import annotations

import json

import pytest

from content.policy.build import BUILT_PATH, SOURCE_DIR, build, to_json
from content.regions import Gazetteer


@pytest.fixture(scope="module")
def built():
    return build(SOURCE_DIR, Gazetteer.load())


def test_five_documents_with_number_title_issuers_and_date(built) -> None:
    corpus, _, _ = built
    docs = {d.doc_no: d for d in corpus.documents.values()}
    assert set(docs) == {
        "豫通局〔2020〕47号",
        "豫脱贫办〔2018〕94号",
        "湘扶办联〔2017〕19号",
        "豫商体系〔2020〕25号",
        "云网信办通〔2019〕21号",
    }
    assert docs["湘扶办联〔2017〕19号"].title == "关于促进电商精准扶贫的实施意见"
    assert docs["湘扶办联〔2017〕19号"].date == "2017年9月20日"
    assert docs["豫通局〔2020〕47号"].date == "2020年8月26日"
    assert docs["豫通局〔2020〕47号"].issuers == (
        "河南省通信管理局",
        "河南省商务厅",
        "河南省扶贫开发办公室",
    )
    assert docs["豫脱贫办〔2018〕94号"].date is None  # the text carries no date
    assert {d.region for d in docs.values()} == {"河南", "湖南", "云南"}


def passage_with(corpus, words: str):
    return next(p for p in corpus.passages if words in p.text)


def test_section_paths_follow_the_numbering(built) -> None:
    corpus, _, _ = built
    assert passage_with(corpus, "每月25日前").section == "三（三）"
    assert passage_with(corpus, "益农中心社").section == "三（四）12"
    assert passage_with(corpus, "每村培育1名电商带头人。通过").section == "三（三）"
    national = passage_with(corpus, "有关情况于2020年7月31日前上报三部门")
    assert national.section == "附件1 六（一）" and national.region == "国家"
    assert national.path[0].title == "财办建〔2020〕48号"
    henan = passage_with(corpus, "申报截止时间为5月27日")
    assert henan.section == "附件2 四" and henan.path[0].title == "豫财贸〔2020〕35号"
    standard = passage_with(corpus, "不低于100Mbps")
    assert standard.section == "附件2" and standard.path[-1].title == "网络覆盖"


def test_ocr_damage_is_repaired(built) -> None:
    corpus, _, _ = built
    text = "".join(p.text for p in corpus.passages)
    assert " and " not in text and " etc " not in text and "**" not in text
    assert "生活服务等电商扶贫服务" in text  # "生活服务 etc 电商扶贫服务" in the OCR
    # a sentence broken by a page break is one passage again
    assert passage_with(corpus, "帮助其通过电商产业链就业创业增收")
    assert "2020 年" not in text and "2020年新选定3342个贫困村" in text


def test_task_table_names_corrected_and_checked_against_stated_totals(built) -> None:
    _, tables, _ = built
    assert len(tables.tasks) == 95
    names = {t.county: t for t in tables.tasks}
    fixed = [("荣阳", "荥阳市"), ("浙川", "淅川县"), ("澠池", "渑池县"), ("郟县", "郏县")]
    for wrong, right in fixed:
        assert names[right].printed == wrong
    assert names["渑池县"].villages == 24 and names["渑池县"].operator == "河南移动"
    assert names["郏县"].villages == 38 and names["郏县"].operator == "河南联通"
    assert names["辉县市"].villages == 51 and names["辉县市"].city == "新乡市"  # shifted row
    assert names["舞阳县"].villages == 42  # figure printed one column to the left
    assert names["临颍县"].villages is None  # illegible: recorded unknown, never guessed
    assert names["邓州市"].city == "邓州市" and names["固始县"].villages == 57
    assert tables.stated == {"河南移动": 1110, "河南联通": 1171, "河南电信": 1061, "合计": 3342}
    checks = {c.operator: c for c in tables.check()}
    assert checks["河南联通"].rows_sum == 1171 and checks["河南电信"].rows_sum == 1061
    assert checks["河南移动"].unknown == ("临颍县",) and checks["河南移动"].rows_sum == 1092
    assert all(c.consistent for c in checks.values())


def test_station_standard_items_and_contacts(built) -> None:
    _, tables, contacts = built
    items = {s.item: s for s in tables.standard}
    assert len(items) == 9 and items["电商培训"].category == "服务内容"
    assert "免费" in items["电商服务"].text and "代销" in items["电商服务"].text
    people = {c.person: c for c in contacts if c.person}
    assert people["崔海成"].unit == "省扶贫办" and people["崔海成"].phone == "65919565"
    assert people["党莎"].section == "附件2 联系人"


def test_built_file_is_current(built) -> None:
    """content/policy/corpus.json is what ``cunzhan content build`` makes of the sources,
    and its cached index tokens match the current vocabulary (else: run the build)."""
    from content.policy.build import load_engine

    assert load_engine(Gazetteer.load()).index.from_cache
    on_disk = json.loads(BUILT_PATH.read_text(encoding="utf-8"))
    fresh = json.loads(json.dumps(to_json(*built), ensure_ascii=False))
    assert {k: v for k, v in on_disk.items() if k != "tokens"} == {
        k: v for k, v in fresh.items() if k != "tokens"
    }
