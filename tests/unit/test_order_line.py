"""The one-line order grammar, as a table of real-looking lines: what each means, or why
it is refused. Also the router's matcher (questions that start with 代销 are not orders)."""

from __future__ import annotations

import pytest

from bot.dialogs import Invalid
from handlers.order_line import looks_like_order, parse_order_line

P = "13812345678"
# line → (kind, product, amount, unit, price fen, total fen, name, phone, poor, platform, note)
ACCEPTED = [
    (
        "代销 苹果 200斤 3.5元/斤 张三 13812345678",
        ("sale", "苹果", "200", "斤", 350, 70000, "张三", P, None, None, None),
    ),
    (
        "代购 化肥 5袋 120元 李四",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    (
        "代销苹果200斤3.5元/斤张三13812345678",
        ("sale", "苹果", "200", "斤", 350, 70000, "张三", P, None, None, None),
    ),
    (
        "代购 化肥 ５袋 １２０元 李四 １３８１２３４５６７８",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", P, None, None, None),
    ),
    (
        "代销 红富士 苹果 两百斤 三块五一斤 王五",
        ("sale", "红富士 苹果", "200", "斤", 350, 70000, "王五", None, None, None, None),
    ),
    (
        "代销 苹果 200斤 7元/公斤 张三",
        ("sale", "苹果", "100", "公斤", 700, 70000, "张三", None, None, None, None),
    ),
    (
        "代销 苹果 100公斤 3.5元/斤 张三",
        ("sale", "苹果", "200", "斤", 350, 70000, "张三", None, None, None, None),
    ),
    (
        "代购 盐 5袋 每袋3元 共15元 李四",
        ("purchase", "盐", "5", "袋", 300, 1500, "李四", None, None, None, None),
    ),
    (
        "代购 盐 一斤 3元 张三",
        ("purchase", "盐", "1", "斤", None, 300, "张三", None, None, None, None),
    ),
    (
        "代销 鸡蛋 30个 1.2元一个 赵六 非贫困户",
        ("sale", "鸡蛋", "30", "个", 120, 3600, "赵六", None, False, None, None),
    ),
    (
        "代销 土鸡 10只 ¥80 钱七",
        ("sale", "土鸡", "10", "只", None, 8000, "钱七", None, None, None, None),
    ),
    (
        "代购 化肥，5袋，120元，李四",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    (
        "代销 五常大米 10袋 50元/袋 孙八",
        ("sale", "五常大米", "10", "袋", 5000, 50000, "孙八", None, None, None, None),
    ),
    (
        "代销 三七 2斤 100元 张三",
        ("sale", "三七", "2", "斤", None, 10000, "张三", None, None, None, None),
    ),
    (
        "代销 核桃 50斤 每斤12元 王五 建档立卡",
        ("sale", "核桃", "50", "斤", 1200, 60000, "王五", None, True, None, None),
    ),
    (
        "代销 核桃 50斤 每斤12元 王五 贫困户 平台:拼多多",
        ("sale", "核桃", "50", "斤", 1200, 60000, "王五", None, True, "拼多多", None),
    ),
    (
        "代销 香菇 20斤 单价15元 李四 平台：淘宝 备注：干货",
        ("sale", "香菇", "20", "斤", 1500, 30000, "李四", None, None, "淘宝", "干货"),
    ),
    (
        "代购 种子 三袋 四十五元 周九 13912345678",
        ("purchase", "种子", "3", "袋", None, 4500, "周九", "13912345678", None, None, None),
    ),
    (
        "代购 农药 2瓶 35.5元 吴十",
        ("purchase", "农药", "2", "瓶", None, 3550, "吴十", None, None, None, None),
    ),
    (
        "代购 手机 1台 1.2万元 郑一",
        ("purchase", "手机", "1", "台", None, 1200000, "郑一", None, None, None, None),
    ),
    (
        "代销 蜂蜜 12瓶 68元/瓶 欧阳娜娜",
        ("sale", "蜂蜜", "12", "瓶", 6800, 81600, "欧阳娜娜", None, None, None, None),
    ),
    (
        "代销 小米 1.5吨 4元/斤 张三",
        ("sale", "小米", "3000", "斤", 400, 1200000, "张三", None, None, None, None),
    ),
    (
        "代销 红薯 一斤半 2元/斤 张三",
        ("sale", "红薯", "1.5", "斤", 200, 300, "张三", None, None, None, None),
    ),
    (
        "代购 复合肥 5 袋 120 元 李四",
        ("purchase", "复合肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    (
        "代销 苹果 200斤 3块5一斤 张三",
        ("sale", "苹果", "200", "斤", 350, 70000, "张三", None, None, None, None),
    ),
    (
        "代销 苹果 200斤 3元5角/斤 张三",
        ("sale", "苹果", "200", "斤", 350, 70000, "张三", None, None, None, None),
    ),
    (
        "代购 5袋 化肥 120元 李四",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    (
        "代购 化肥 5袋 李四 120元",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    (
        "代购 化肥 5袋 120元 13812345678",
        ("purchase", "化肥", "5", "袋", None, 12000, None, P, None, None, None),
    ),
    (
        "代卖 西瓜 3个 25元 张三",
        ("sale", "西瓜", "3", "个", None, 2500, "张三", None, None, None, None),
    ),
    ("帮买 电池 4节 8元 李四 备注 要5号的", None),
    (
        "代购 化肥 5袋 合计120元 李四",
        ("purchase", "化肥", "5", "袋", None, 12000, "李四", None, None, None, None),
    ),
    ("代销 猕猴桃 3箱 每箱80元 +86 13812345678 张三", None),
]
REFUSED = [
    ("代销 苹果 200斤 张三", "orders/line_no_price"),
    ("代销 苹果 200 3.5元 张三", "orders/line_no_quantity"),
    ("代销 苹果 3.5元/斤 张三", "orders/line_no_quantity"),
    ("代购 化肥 5袋 120元", "orders/line_no_household"),
    ("代销 200斤 3.5元/斤 张三", "orders/line_no_product"),
    ("代销 苹果 200斤 3.5元/斤 张三 1381234567", "fields/phone_invalid"),
    ("代销 苹果 200斤 3.5元/斤 张三 138123456789", "fields/phone_invalid"),
    ("代购 化肥 -5袋 120元 李四", "fields/quantity_negative"),
    ("代购 化肥 5袋 -120元 李四", "fields/money_negative"),
    ("代购 化肥 5袋 0元 李四", "fields/money_zero"),
    ("代购 化肥 0袋 120元 李四", "fields/quantity_zero"),
    ("代购 拖拉机 1台 2000000元 李四", "orders/total_too_large"),
    ("代销 小麦 300000斤 1元/斤 张三", "orders/quantity_too_large"),
    ("代购 化肥 5袋 120元 李四 王五", "orders/line_not_understood"),
    ("代销 苹果 200斤 3.5元/斤 张三 3.5元/斤", "orders/line_two_prices"),
    ("代销 苹果 200斤 300斤 3.5元/斤 张三", "orders/line_two_quantities"),
    ("代销 苹果 200斤 3.5元/箱 张三", "orders/price_unit_mismatch"),
    ("代购 盐 5袋 每袋3元 共20元 李四", "orders/price_conflict"),
    ("代销 苹果 200斤 3.5元/斤 张三 13812345678 13912345678", "orders/line_two_phones"),
    ("代销 苹果 200斤 3.5元/斤 张三 建档立卡 非贫困户", "orders/line_poor_conflict"),
    ("代销 苹果 200斤 3.555元/斤 张三", "fields/money_precision"),
    ("代销 苹果 200斤 3.333元/斤 张三", "fields/money_precision"),
    ("代销 苹果 200.1234斤 3.5元/斤 张三", "fields/quantity_precision"),
    ("代销 苹果 200斤 3.5元/斤 张3", "orders/household_name_invalid"),
    (
        "代销 特别特别长的产品名称一二三四五六七八九十特别特别长的产品名称一二三 2斤 5元 张三",
        "orders/product_too_long",
    ),
]


@pytest.mark.parametrize(("line", "expected"), ACCEPTED)
def test_accepted_lines(line: str, expected: tuple | None) -> None:
    draft = parse_order_line(line)
    got = (
        draft.kind,
        draft.product,
        str(draft.priced.quantity.amount),
        draft.priced.quantity.unit,
        draft.priced.unit_price_fen,
        draft.priced.total_fen,
        draft.name,
        draft.phone,
        draft.poor,
        draft.platform,
        draft.note,
    )
    if expected is None:
        assert draft.priced.total_fen > 0 and draft.product
    else:
        assert got == expected


def test_lines_with_notes_and_international_phones() -> None:
    battery = parse_order_line("帮买 电池 4节 8元 李四 备注 要5号的")
    assert (battery.kind, battery.note, battery.priced.quantity.unit) == (
        "purchase",
        "要5号的",
        "节",
    )
    kiwi = parse_order_line("代销 猕猴桃 3箱 每箱80元 +86 13812345678 张三")
    assert (kiwi.phone, kiwi.name, kiwi.priced.total_fen) == (P, "张三", 24000)
    rounded = parse_order_line("代销 苹果 200斤 3.33元/斤 张三")
    assert rounded.priced.total_fen == 66600
    half_up = parse_order_line("代销 苹果 0.5斤 3.33元/斤 张三")
    assert half_up.priced.total_fen == 167  # 166.5 fen rounds half up


@pytest.mark.parametrize(("line", "template"), REFUSED)
def test_refused_lines_say_why(line: str, template: str) -> None:
    with pytest.raises(Invalid) as refusal:
        parse_order_line(line)
    assert refusal.value.template == template


def test_table_is_large_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 40


@pytest.mark.parametrize(
    ("text", "is_order"),
    [
        ("代销 苹果 200斤 3.5元/斤 张三", True),
        ("代购 化肥 五袋 一百二十元 李四", True),
        ("代销苹果两百斤", True),
        ("代销农产品有什么补贴", False),
        ("代购是什么意思", False),
        ("我想代销苹果200斤", False),
        ("苹果多少钱", False),
    ],
)
def test_matcher(text: str, is_order: bool) -> None:
    assert looks_like_order(text) is is_order
