"""Training conversations through the real dispatcher on each engine: courses, the
registration form (consent, duplicates, bad input, cancel/back, restart), the waiting list,
attendance, cancellation notices."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.models import AuditEntry, Course, OutboxMessage, Person, Registration
from storage.repositories import Repositories
from tests.conftest import issue_invite
from tests.factories import ChatDriver, joined, labels, verify_dialog

# 18-digit IDs with valid check digits (GB 11643).
ID_1 = "11010519491231002X"
ID_2 = "110105199001011232"


def valid_id(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


async def count(core, model, *where) -> int:
    async with core.db.transaction() as session:
        stmt = select(func.count()).select_from(model)
        for clause in where:
            stmt = stmt.where(clause)
        return await session.scalar(stmt)


async def staff_chat(core, user: str = "staff", county: str = "滑县") -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    code = await issue_invite(core.db, "staff", county=county, village="王庄村")
    await chat.say(f"/bind {code}")
    return chat


async def create_course(staff: ChatDriver, *, title: str = "直播带货入门班", capacity: int = 30):
    await verify_dialog(
        staff,
        [
            ("/course_new", "课程名称"),
            (title, "讲哪些内容"),
            ("[直播带货]", "哪个县"),
            ("[保持不变]", "具体地点"),
            ("城关镇电商服务中心", "什么时候开始"),
            ("2026-11-10 09:00", "什么时候结束"),
            ("17:00", "最多收多少人"),
            (str(capacity), "授课老师"),
            ("李老师", "面向哪些人"),
            ("[农户]", ["课程已发布", title, "滑县 城关镇电商服务中心"]),
        ],
    )
    async with staff.dispatcher.db.transaction() as session:
        return (await session.execute(select(Course).order_by(Course.id.desc()))).scalars().first()


async def open_course(chat: ChatDriver, title: str) -> None:
    await chat.say("/courses")
    await chat.press(f"11-10 {title}")


REGISTRATION = [
    ("[我要报名]", ["报名“直播带货入门班”", "姓名"]),
    ("张三", "手机号"),
    ("１３８ １２３４ ５６７８", "身份证号"),
    (ID_1, ["1949-12-31 出生", "女", "哪个县"]),
    ("滑县", "乡镇"),
    ("城关镇", "哪个村"),
    ("王庄村", "哪一类"),
    ("[贫困户]", "建档立卡"),
    ("[是]", "想学什么"),
    ("直播带货、网店运营", "同意吗"),
]


async def household(core, user: str) -> ChatDriver:
    chat = ChatDriver(core.dispatcher, user=user)
    await chat.say("/start")
    return chat


async def test_full_registration_with_consent(core) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    assert "名额：30 人，已报名 0 人" in joined(chat.last)
    page = chat.last
    await verify_dialog(chat, REGISTRATION)
    replies = await chat.press("同意")
    text = joined(replies)
    assert "报名成功" in text and "2026-11-10 09:00" in text and "城关镇电商服务中心" in text
    assert "138****5678" in text and "110105********002X" in text
    assert "13812345678" not in text and ID_1 not in text
    async with core.db.transaction() as session:
        person = (await session.execute(select(Person))).scalar_one()
        reg = (await session.execute(select(Registration))).scalar_one()
        assert person.phone == "13812345678" and person.poor_registered is True
        assert person.id_number_enc and ID_1 not in person.id_number_enc
        assert str(person.birth_date) == "1949-12-31" and person.sex == "女"
        assert Repositories.on(session, core.pii).people.id_number(person) == ID_1
        assert person.consent_at is not None and person.id_consent_at is not None
        assert reg.course_id == course.id and reg.status == "confirmed"
        assert reg.interests == ["直播带货", "网店运营"] and reg.entered_by is None
        assert person.user_id == reg.user_id is not None
    # The course page now says so and offers cancelling instead.
    await open_course(chat, "直播带货入门班")
    assert "已报名 1 人" in joined(chat.last) and "您已报名这门课" in joined(chat.last)
    assert labels(chat.last) == ["取消报名：直播带货入门班"]
    # The old page's button again: refused before the form starts.
    chat.last = page
    await verify_dialog(chat, [("[我要报名]", "不用重复报名")])


async def test_refusing_consent_stores_nothing(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    await verify_dialog(chat, REGISTRATION)
    replies = await chat.press("不同意")
    assert "一条都没有保存" in joined(replies)
    assert await count(core, Person) == 0
    assert await count(core, Registration) == 0
    assert await count(core, AuditEntry, AuditEntry.action == "training.register") == 0


async def register_quick(chat: ChatDriver, name: str, phone: str, title: str) -> str:
    """Register through the form without an ID number; the final reply's text."""
    await open_course(chat, title)
    for said in ("[我要报名]", name, phone, "跳过", "滑县", "跳过", "李庄村", "[其他]", "[否]"):
        if said.startswith("["):
            await chat.press(said[1:-1])
        else:
            await chat.say(said)
    await chat.press("跳过")
    return joined(await chat.press("同意"))


async def outbox_texts(core, user_external: str) -> list[str]:
    async with core.db.transaction() as session:
        repos = Repositories.on(session)
        user = await repos.users.by_identity("test", user_external)
        rows = await session.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.user_id == user.id)
            .order_by(OutboxMessage.id)
        )
        return list(rows)


async def test_full_course_waiting_list_and_promotion_in_order(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff, title="网店运营班", capacity=2)
    chats = [await household(core, f"h{i}") for i in range(4)]
    texts = [
        await register_quick(chat, f"学员{i}", f"1390000000{i}", "网店运营班")
        for i, chat in enumerate(chats)
    ]
    assert "报名成功" in texts[0] and "报名成功" in texts[1]
    assert "候补名单，排第 1 位" in texts[2] and "排第 2 位" in texts[3]
    await verify_dialog(chats[3], [("/my_courses", "候补第 2 位")])
    # The second trainee cancels: the first on the waiting list gets the seat and is told.
    await verify_dialog(
        chats[1],
        [
            ("我的培训", "网店运营班"),
            ("[取消报名：网店运营班]", "确定要取消报名"),
            ("[确认取消报名]", "已取消报名"),
        ],
    )
    assert any("从候补转为正式报名" in t for t in await outbox_texts(core, "h2"))
    assert await outbox_texts(core, "h3") == []
    await verify_dialog(chats[3], [("/my_courses", "候补第 1 位")])
    async with core.db.transaction() as session:
        statuses = list(
            await session.scalars(select(Registration.status).order_by(Registration.id))
        )
    assert statuses == ["confirmed", "cancelled", "confirmed", "waiting"]
    # The cancelled trainee registers again: to the back of the queue, not their old seat.
    assert "候补名单，排第 2 位" in await register_quick(
        chats[1], "学员1", "13900000001", "网店运营班"
    )


async def test_duplicate_phone_invalid_id_and_staff_entry(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff)
    chat = await household(core, "h1")
    assert "报名成功" in await register_quick(chat, "王五", "13700001111", "直播带货入门班")
    await open_course(staff, "直播带货入门班")
    await verify_dialog(
        staff,
        [
            ("[代人报名]", ["替别人报名", "学员的姓名"]),
            ("王五", "学员的手机号"),
            ("13700001111", "已经报名了“直播带货入门班”"),
            ("[跳过]", "身份证号"),
            ("110105194912310021", "校验"),
            ("11010519491231002", "18 位"),
            (ID_2, "哪个县"),
            ("[保持不变]", "乡镇"),
            ("跳过", "哪个村"),
            ("[保持不变]", "哪一类"),
            ("残疾", "建档立卡"),
            ("否", "想学什么"),
            ("跳过", "学员刚才填写"),
            ("同意", ["服务站代王五报名", "110105********1232"]),
        ],
    )
    async with core.db.transaction() as session:
        rows = (await session.execute(select(Registration, Person).join(Person))).all()
    assert len(rows) == 2
    entered = rows[1]
    assert entered[0].entered_by is not None and entered[0].user_id is None
    assert entered[1].phone is None and entered[1].category == "残疾人"
    assert entered[1].village == "王庄村" and entered[1].created_by == entered[0].entered_by
    # The ID number now registered cannot register the same course again.
    await open_course(staff, "直播带货入门班")
    await verify_dialog(
        staff,
        [("[代人报名]", "姓名"), ("赵六", "手机号"), ("跳过", "身份证号"), (ID_2, "已经报名了")],
    )
    roster = joined(await staff.say("取消"))
    assert "已取消" in roster


async def test_cancel_back_and_restart_in_the_middle_of_the_form(
    core, settings_for, clock
) -> None:
    from bot.app import CunzhanApp

    staff = await staff_chat(core)
    await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    await verify_dialog(
        chat,
        [
            ("[我要报名]", "姓名"),
            ("张三", "手机号"),
            ("12345", "11 位"),
            ("返回", "姓名"),
            ("张三丰", "手机号"),
            ("取消", "已取消“培训报名”"),
        ],
    )
    assert await count(core, Person) == 0
    await open_course(chat, "直播带货入门班")
    await verify_dialog(
        chat, [("[我要报名]", "姓名"), ("张三", "手机号"), ("13800001234", "身份证")]
    )
    # A new process on the same database continues at the same step.
    url = core.settings.database.url
    restarted = CunzhanApp(settings_for(url), clock=clock)
    try:
        again = ChatDriver(restarted.dispatcher, user="h1")
        await verify_dialog(
            again,
            [
                ("跳过", "哪个县"),
                ("滑县", "乡镇"),
                ("跳过", "哪个村"),
                ("李庄村", "哪一类"),
                ("贫困户", "建档立卡"),
                ("是", "想学什么"),
                ("跳过", "同意吗"),
                ("同意", ["报名成功", "138****1234"]),
            ],
        )
    finally:
        await restarted.db.dispose()
    assert await count(core, Registration) == 1


async def test_attendance_by_buttons_and_phone(core, clock) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff)
    chats = [await household(core, f"h{i}") for i in range(3)]
    for i, chat in enumerate(chats):
        await register_quick(chat, f"学员{i}", f"1390000000{i}", "直播带货入门班")
    await open_course(staff, "直播带货入门班")
    await verify_dialog(staff, [("[点名签到]", "开课当天才能签到")])
    clock.set(course.starts_at + timedelta(hours=1))
    await staff.say("/courses")
    await verify_dialog(
        staff,
        [
            ("[11-10 直播带货入门班]", "课程已经开始"),
            ("[点名签到]", "已到 0/3 人"),
            ("[学员0 139****0000]", "已到 1/3 人"),
            (f"签到 {course.id} １３９０００００００２", "已到 2/3 人"),
            (f"/checkin {course.id} 13900000009", "没有手机号 139****0009"),
        ],
    )
    assert labels(staff.last) == []
    await staff.say("/courses")
    await staff.press("11-10 直播带货入门班")
    await verify_dialog(staff, [("[点名签到]", "已到 2/3 人")])
    assert "学员1 139****0001" in labels(staff.last)
    # A household cannot take attendance.
    await verify_dialog(chats[0], [(f"签到 {course.id} 13900000001", "没有使用这项功能的权限")])


async def test_cancel_and_edit_course_tell_trainees_through_the_outbox(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff, capacity=1)
    first, second = await household(core, "h1"), await household(core, "h2")
    await register_quick(first, "甲", "13900000001", "直播带货入门班")
    assert "候补" in await register_quick(second, "乙", "13900000002", "直播带货入门班")
    await open_course(staff, "直播带货入门班")
    await staff.press("修改课程")
    for answer in ("不变", "不变", "不变", "县农业局二楼", "不变", "不变", "2", "不变", "不变"):
        await staff.say(answer)
    text = joined(staff.last)
    assert "已修改" in text and "已通知 2 位" in text and "1 位候补学员已转为正式" in text
    assert any("县农业局二楼" in t for t in await outbox_texts(core, "h1"))
    assert any("从候补转为正式报名" in t for t in await outbox_texts(core, "h2"))
    await open_course(staff, "直播带货入门班")
    await verify_dialog(
        staff,
        [("[取消课程]", "已报名 2 人"), ("[确认取消课程]", "已通知 2 位学员")],
    )
    assert any("已取消" in t for t in await outbox_texts(core, "h1"))
    await verify_dialog(first, [("/courses", "暂时没有培训课程")])


async def press_raw(chat: ChatDriver, label: str):
    """Press a button and keep the rendered replies whole (with their attachments)."""
    from tests.factories import as_dicts, find_token, incoming

    rendered = await chat.dispatcher.handle(
        incoming(option=find_token(chat.last, label), user=chat.user)
    )
    chat.last = as_dicts(rendered)
    return rendered


async def test_archive_figures_export_and_subsidy_list(core, clock) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    staff = await staff_chat(core)
    course = await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    await verify_dialog(chat, REGISTRATION)
    await chat.press("同意")
    await register_quick(await household(core, "h2"), "李四", "13900000002", "直播带货入门班")
    clock.set(course.starts_at + timedelta(hours=2))
    await staff.say(f"签到 {course.id} 13812345678")
    await verify_dialog(
        staff,
        [
            ("/trainees", ["学员 2 人", "报名 2 人次", "参训 1 人次", "建档立卡 1 人次"]),
            ("[补贴名单]", ["张三 138****5678 王庄村", "出勤 1 次"]),
        ],
    )
    assert "李四" not in joined(staff.last)
    await staff.say("/trainees")
    rendered = await press_raw(staff, "导出学员档案")
    assert "已隐去中间数字" in rendered[0].text
    sheet = load_workbook(BytesIO(rendered[0].attachment.content))["学员档案"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][:5] == ("张三", "女", "1949-12-31", "138****5678", "110105********002X")
    assert values[1][-1] == "是" and values[2][-1] == "否"
    assert len(values) == 3
    admin = ChatDriver(core.dispatcher, user="admin")
    await admin.say(f"/bind {await issue_invite(core.db, 'admin')}")
    await admin.say("/trainees")
    rendered = await press_raw(admin, "导出学员档案")
    assert "完整手机号和身份证号" in rendered[0].text
    book = load_workbook(BytesIO(rendered[0].attachment.content))
    first = next(book["学员档案"].iter_rows(min_row=2, values_only=True))
    assert first[3:5] == ("13812345678", ID_1)
    assert [r[0] for r in book["补贴名单"].iter_rows(min_row=2, values_only=True)] == ["张三"]
    async with core.db.transaction() as session:
        exports = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "trainees.export"))
        )
    assert [e.details["full_numbers"] for e in exports] == [False, True]
    assert [e.target_id for e in exports] == ["滑县", "all"]
    # A household has no archive.
    assert "没有使用这项功能的权限" in joined(await chat.say("/trainees"))


async def test_staff_entry_without_phone_or_id_is_not_registered_twice(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff)
    answers = ("孙七", "跳过", "跳过", "不变", "跳过", "不变", "贫困户", "是", "跳过", "同意")
    for expected in ("服务站代孙七报名", "不用重复报名"):
        await open_course(staff, "直播带货入门班")
        await staff.press("代人报名")
        for said in answers:
            await staff.say(said)
        assert expected in joined(staff.last)
    assert await count(core, Person) == 1
    await open_course(staff, "直播带货入门班")
    roster = joined(await staff.press("报名名单"))
    assert "孙七 （无手机号） 贫困户（服务站代报）" in roster


async def test_archive_export_from_the_command_line(core, tmp_path) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.conftest import make_env
    from tests.e2e.test_cli import cli

    staff = await staff_chat(core)
    await create_course(staff)
    chat = await household(core, "h1")
    await open_course(chat, "直播带货入门班")
    await verify_dialog(chat, REGISTRATION)
    await chat.press("同意")
    env = make_env(core.settings.database.url)
    out = tmp_path / "archive.xlsx"
    done = cli(["trainees", "export", "--out", str(out), "--county", "滑"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 rows" in done.stderr and ID_1 not in done.stderr + done.stdout
    row = list(load_workbook(BytesIO(out.read_bytes()))["学员档案"].iter_rows(values_only=True))[1]
    assert row[3:5] == ("13812345678", ID_1)
    masked = cli(["trainees", "export", "--out", str(out), "--masked"], env, tmp_path)
    assert masked.returncode == 0, masked.stderr
    row = list(load_workbook(BytesIO(out.read_bytes()))["学员档案"].iter_rows(values_only=True))[1]
    assert row[3:5] == ("138****5678", "110105********002X")
    async with core.db.transaction() as session:
        labels_ = list(
            await session.scalars(
                select(AuditEntry.actor_label).where(AuditEntry.action == "trainees.export")
            )
        )
    assert labels_ == ["cli", "cli"]


async def test_staff_registering_a_chatting_trainee_tells_them(core) -> None:
    staff = await staff_chat(core)
    await create_course(staff, title="社交电商班")
    await create_course(staff, title="网店运营班")
    chat = await household(core, "h1")
    await register_quick(chat, "周八", "13900000008", "社交电商班")
    await open_course(staff, "网店运营班")
    await staff.press("代人报名")
    for said in ("周八", "13900000008", "跳过", "不变", "跳过", "李庄村", "其他", "否", "跳过"):
        await staff.say(said)
    assert "服务站代周八报名" in joined(await staff.say("同意"))
    assert await count(core, Person) == 1
    [notice] = await outbox_texts(core, "h1")
    assert "服务站已为您报名培训“网店运营班”" in notice
    await verify_dialog(chat, [("/my_courses", ["社交电商班", "网店运营班"])])


async def test_certificate_of_completion_after_attending(core, clock) -> None:
    staff = await staff_chat(core)
    course = await create_course(staff)
    chat, absent = await household(core, "h1"), await household(core, "h2")
    await register_quick(chat, "吴九", "13900000009", "直播带货入门班")
    await register_quick(absent, "郑十", "13900000010", "直播带货入门班")
    await verify_dialog(chat, [("/certificates", "还没有完成的培训")])
    clock.set(course.starts_at + timedelta(hours=1))
    await staff.say(f"签到 {course.id} 13900000009")
    clock.set(course.ends_at + timedelta(hours=1))
    await verify_dialog(chat, [("结业证书", ["直播带货入门班", "出勤 1 次"])])
    rendered = await press_raw(chat, "结业证书：直播带货入门班")
    assert "编号 0001-000001" in rendered[0].text
    pdf = rendered[0].attachment
    assert pdf.mime_type == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert b"STSong-Light" in pdf.content and len(pdf.content) > 1000
    await verify_dialog(absent, [("/certificates", "还没有完成的培训")])
