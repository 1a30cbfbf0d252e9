"""Agency orders (代购 / 代销): recording by one line or a guided form, always confirmed
before saving; viewing, status changes, audited corrections; a household's own orders.

A station is its staff member's (county, village). Only that station's staff (and
administrators of its county or the province) record or change its orders; a household
sees only the orders of the person record linked to its account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.dialogs import Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from handlers.fields import Quantity, format_decimal, parse_phone, parse_quantity
from handlers.order_line import (
    PLATFORMS,
    Draft,
    Priced,
    kind_of,
    looks_like_order,
    parse_household_name,
    parse_note,
    parse_order_line,
    parse_platform,
    parse_price,
    parse_product,
    price_order,
)
from storage.models import Order, OrderKind, OrderStatus, Person, Role, User

router = Router("orders")
router.menu("menu_order_new", "/order", roles=(Role.STAFF, Role.ADMIN), order=20)
router.menu("menu_orders", "/orders", roles=(Role.STAFF, Role.ADMIN), order=21)

RECORDERS = (Role.STAFF, Role.ADMIN)
NEXT_STATUS = {
    "ship": (OrderStatus.SHIPPED, {OrderStatus.REGISTERED}),
    "done": (OrderStatus.DONE, {OrderStatus.SHIPPED}),
    "cancelok": (OrderStatus.CANCELLED, {OrderStatus.REGISTERED, OrderStatus.SHIPPED}),
}
YES_WORDS = frozenset({"是", "是的", "对", "有", "建档立卡", "贫困户", "yes", "y"})
NO_WORDS = frozenset({"否", "不是", "没有", "无", "不", "非贫困户", "一般户", "no", "n"})
CONFIRM_WORDS = frozenset({"确认", "确认保存", "保存", "确定", "是", "对", "好", "ok", "y", "yes"})
ORDER_REF_RE = re.compile(r"^订单\s*#?\s*(\d{1,9})$")
EDITABLE = ("product", "quantity", "price", "poor", "platform", "note")


@dataclass(frozen=True)
class Station:
    county: str
    village: str


def station_of(user: User) -> Station | None:
    """The station a staff member (or an administrator placed in a village) records for."""
    if user.role in (Role.STAFF, Role.ADMIN) and user.county and user.village:
        return Station(user.county, user.village)
    return None


def can_manage(user: User, order: Order) -> bool:
    """Staff of the order's station, or an administrator over its county (or province)."""
    if user.role == Role.STAFF:
        return (user.county, user.village) == (order.county, order.village)
    if user.role == Role.ADMIN:
        return user.county is None or user.county == order.county
    return False


def local_date(ctx: Context, at: datetime | None = None):
    return (at or ctx.now).astimezone(ZoneInfo(ctx.settings.timezone)).date()


def order_data(order: Order, person: Person) -> dict[str, Any]:
    """What the templates show of one order; the phone is masked by the template."""
    return {
        "id": order.id,
        "kind": order.kind,
        "status": order.status,
        "product": order.product,
        "quantity": format_decimal(Decimal(order.quantity)),
        "unit": order.unit,
        "unit_price_fen": order.unit_price_fen,
        "total_fen": order.total_fen,
        "name": person.name,
        "phone": person.phone,
        "new": False,
        "poor": order.poor_registered,
        "platform": order.platform,
        "note": order.note,
        "ledger_date": order.ledger_date.isoformat(),
        "created_at": order.created_at,
        "shipped_at": order.shipped_at,
        "completed_at": order.completed_at,
        "cancelled_at": order.cancelled_at,
        "county": order.county,
        "village": order.village,
    }


def _priced_answer(priced: Priced) -> dict[str, Any]:
    return {
        "amount": format_decimal(priced.quantity.amount),
        "unit": priced.quantity.unit,
        "unit_price_fen": priced.unit_price_fen,
        "total_fen": priced.total_fen,
    }


def _quantity_of(answers: dict[str, Any]) -> Quantity:
    quantity = answers["quantity"]
    return Quantity(Decimal(quantity["amount"]), quantity["unit"])


# -- households ---------------------------------------------------------------------------
def _household(person: Person, phone: str | None = None) -> dict[str, Any]:
    return {
        "person_id": person.id,
        "name": person.name,
        "phone": person.phone or phone,
        "poor": person.poor_registered,
        "new": False,
    }


async def resolve_household(
    ctx: Context, station: Station, name: str | None, phone: str | None
) -> dict[str, Any]:
    """The household in the station's village by phone, then by name; else a new one."""
    people = ctx.repos.people
    if phone:
        here = [
            p
            for p in await people.by_phone(phone)
            if (p.county, p.village) == (station.county, station.village)
        ]
        if here:
            if name and here[0].name != name:
                raise Invalid("orders/household_phone_other", name=here[0].name)
            return _household(here[0])
    if name is None:
        raise Invalid("orders/household_need_name")
    named = await people.named(station.county, station.village, name)
    if phone:
        named = [p for p in named if p.phone in (None, phone)]
    if len(named) > 1:
        raise Invalid("orders/household_ambiguous", name=name, count=len(named))
    if named:
        return _household(named[0], phone)
    return {"person_id": None, "name": name, "phone": phone, "poor": None, "new": True}


async def parse_household(text: str, ctx: Context, answers: dict[str, Any]) -> dict[str, Any]:
    """A form answer: ``张三``, ``13812345678`` or ``张三 13812345678``."""
    station = station_of(ctx.user)
    if station is None:
        raise Invalid("orders/no_station")
    phone_match = re.search(r"[+\d０-９][\d\s\-０-９]{9,}", text)
    phone = parse_phone(phone_match.group(0)) if phone_match else None
    rest = text.replace(phone_match.group(0), " ") if phone_match else text
    name = parse_household_name(rest) if rest.strip() else None
    return await resolve_household(ctx, station, name, phone)


# -- form parsers -------------------------------------------------------------------------
def parse_kind(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    kind = kind_of(text)
    if kind is None:
        raise Invalid("orders/kind_invalid")
    return kind


def parse_product_answer(text: str) -> str:
    """A product name; a whole one-line order typed here is refused, not taken as a name."""
    if looks_like_order(text):
        raise Invalid("orders/line_in_form")
    return parse_product(text)


def parse_quantity_answer(text: str, ctx: Context, answers: dict[str, Any]) -> dict[str, Any]:
    quantity = parse_quantity(text)
    price_order(quantity, unit_price_fen=None, per_unit=None, total_fen=1)  # the quantity limit
    return {"amount": format_decimal(quantity.amount), "unit": quantity.unit}


def parse_price_answer(text: str, ctx: Context, answers: dict[str, Any]) -> dict[str, Any]:
    return _priced_answer(parse_price(text, _quantity_of(answers)))


def parse_yes_no(text: str, ctx: Context, answers: dict[str, Any]) -> bool:
    word = text.strip().lower()
    if word in YES_WORDS:
        return True
    if word in NO_WORDS:
        return False
    raise Invalid("orders/yes_no")


def parse_confirm(text: str, ctx: Context, answers: dict[str, Any]) -> bool:
    if text.strip().lower() in CONFIRM_WORDS:
        return True
    raise Invalid("orders/confirm_expected")


def _absent(name: str):
    return lambda answers: name not in answers


def _poor_unknown(answers: dict[str, Any]) -> bool:
    return "poor" not in answers and answers.get("household", {}).get("poor") is None


KIND_OPTIONS = (Option("kind_sale", "代销"), Option("kind_purchase", "代购"))
YES_NO_OPTIONS = (Option("yes", "是"), Option("no", "否"))
PLATFORM_OPTIONS = tuple(Option("plain", p, {"text": p}) for p in PLATFORMS[:6])


async def save_order(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """The confirmed draft becomes a ledger row (and, if needed, a new household)."""
    station = station_of(ctx.user)
    if station is None or ctx.user.role not in RECORDERS:
        return [Reply("orders/no_station")]
    household, priced = answers["household"], answers["price"]
    poor = answers.get("poor")
    poor = bool(household["poor"]) if poor is None else bool(poor)
    person = await _person_for(ctx, station, household, poor)
    order = await ctx.repos.orders.create(
        kind=OrderKind(answers["kind"]),
        county=station.county,
        village=station.village,
        person_id=person.id,
        poor_registered=poor,
        product=answers["product"],
        quantity=Decimal(priced["amount"]),
        unit=priced["unit"],
        unit_price_fen=priced["unit_price_fen"],
        total_fen=priced["total_fen"],
        platform=answers.get("platform"),
        note=answers.get("note"),
        ledger_date=local_date(ctx),
        now=ctx.now,
        created_by=ctx.user.id,
    )
    await ctx.repos.audit.record(
        action="order.create",
        target_type="order",
        target_id=order.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"values": _audit_values(order)},
    )
    return [Reply("orders/saved", order_data(order, person), _order_buttons(order))]


async def _person_for(
    ctx: Context, station: Station, household: dict[str, Any], poor: bool
) -> Person:
    people = ctx.repos.people
    person = await people.get(household["person_id"]) if household["person_id"] else None
    if person is None or (person.county, person.village) != (station.county, station.village):
        person = await people.create(
            name=household["name"],
            phone=household["phone"],
            county=station.county,
            village=station.village,
            poor_registered=poor,
            now=ctx.now,
            created_by=ctx.user.id,
        )
        await ctx.repos.audit.record(
            action="person.create",
            target_type="person",
            target_id=person.id,
            at=ctx.now,
            actor_id=ctx.user.id,
            details={"via": "order", "poor_registered": poor},
        )
        return person
    changed: dict[str, list[Any]] = {}
    if household["phone"] and not person.phone:
        person.phone = household["phone"]
        changed["phone"] = ["", "added"]
    if person.poor_registered != poor:
        changed["poor_registered"] = [person.poor_registered, poor]
        person.poor_registered = poor
    if changed:
        await ctx.repos.audit.record(
            action="person.update",
            target_type="person",
            target_id=person.id,
            at=ctx.now,
            actor_id=ctx.user.id,
            details={"via": "order", "changed": changed},
        )
    return person


def _audit_values(order: Order) -> dict[str, Any]:
    return {
        "kind": order.kind,
        "product": order.product,
        "quantity": format_decimal(Decimal(order.quantity)),
        "unit": order.unit,
        "unit_price_fen": order.unit_price_fen,
        "total_fen": order.total_fen,
        "person_id": order.person_id,
        "poor": order.poor_registered,
        "platform": order.platform,
        "note": order.note,
    }


ORDER_FORM = router.form(
    Form(
        name="order",
        title="form_order",
        steps=(
            Step("kind", "forms/order/ask_kind", parse_kind, KIND_OPTIONS, when=_absent("kind")),
            Step(
                "product",
                "forms/order/ask_product",
                lambda text, ctx, _: parse_product_answer(text),
                when=_absent("product"),
            ),
            Step(
                "quantity",
                "forms/order/ask_quantity",
                parse_quantity_answer,
                when=_absent("quantity"),
            ),
            Step("price", "forms/order/ask_price", parse_price_answer, when=_absent("price")),
            Step(
                "household",
                "forms/order/ask_household",
                parse_household,
                when=_absent("household"),
            ),
            Step("poor", "forms/order/ask_poor", parse_yes_no, YES_NO_OPTIONS, when=_poor_unknown),
            Step(
                "platform",
                "forms/order/ask_platform",
                lambda text, ctx, _: parse_platform(text),
                PLATFORM_OPTIONS,
                optional=True,
                when=_absent("platform"),
            ),
            Step(
                "note",
                "forms/order/ask_note",
                lambda text, ctx, _: parse_note(text),
                optional=True,
                when=_absent("note"),
            ),
            Step(
                "confirm",
                "forms/order/ask_confirm",
                parse_confirm,
                (Option("confirm_save", "确认"),),
            ),
        ),
        on_complete=save_order,
    )
)


# -- recording ----------------------------------------------------------------------------
@router.command("order", aliases=("登记订单", "记一笔"), roles=RECORDERS, summary="help_order")
async def order_command(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/order`` starts the guided form; ``/order 12`` shows order 12."""
    if msg.args:
        if len(msg.args) == 1 and msg.args[0].lstrip("#").isdigit():
            return await show_order(ctx, int(msg.args[0].lstrip("#")))
        return [Reply("orders/order_usage")]
    if station_of(ctx.user) is None:
        return [Reply("orders/no_station")]
    return await ctx.start_form("order")


@router.text(match=looks_like_order, roles=RECORDERS)
async def one_line(msg: Incoming, ctx: Context) -> list[Reply]:
    """``代销 苹果 200斤 3.5元/斤 张三 13812345678``: parsed, echoed, confirmed, then saved."""
    station = station_of(ctx.user)
    if station is None:
        return [Reply("orders/no_station")]
    try:
        draft = parse_order_line(msg.text)
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data), Reply("orders/line_usage")]
    answers = _draft_answers(draft)
    try:
        answers["household"] = await resolve_household(ctx, station, draft.name, draft.phone)
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data), *await ctx.start_form("order", answers)]
    return await ctx.start_form("order", answers)


def _draft_answers(draft: Draft) -> dict[str, Any]:
    answers: dict[str, Any] = {
        "kind": draft.kind,
        "product": draft.product,
        "quantity": {
            "amount": format_decimal(draft.priced.quantity.amount),
            "unit": draft.priced.quantity.unit,
        },
        "price": _priced_answer(draft.priced),
        "platform": draft.platform,
        "note": draft.note,
    }
    if draft.poor is not None:
        answers["poor"] = draft.poor
    return answers


# -- one order: view, status, corrections -------------------------------------------------
def _order_buttons(order: Order) -> tuple[Option, ...]:
    status = order.status_enum
    buttons: list[Option] = []
    if status is OrderStatus.REGISTERED:
        buttons.append(Option("order_ship", f"ord:ship:{order.id}"))
    if status is OrderStatus.SHIPPED:
        buttons.append(Option("order_done", f"ord:done:{order.id}"))
    if status in (OrderStatus.REGISTERED, OrderStatus.SHIPPED):
        buttons.append(Option("order_edit", f"ord:edit:{order.id}"))
        buttons.append(Option("order_cancel", f"ord:cancel:{order.id}"))
    return tuple(buttons)


async def _history(ctx: Context, order_id: int) -> list[dict[str, Any]]:
    entries = await ctx.repos.orders.history(order_id)
    names: dict[int, str] = {}
    for entry in entries:
        if entry.actor_id is not None and entry.actor_id not in names:
            actor = await ctx.repos.users.get(entry.actor_id)
            names[entry.actor_id] = actor.display_name if actor else ""
    return [
        {
            "at": entry.at,
            "action": entry.action,
            "actor": names.get(entry.actor_id or 0, entry.actor_label),
            "details": entry.details,
        }
        for entry in entries
    ]


async def show_order(ctx: Context, order_id: int) -> list[Reply]:
    """One order with its history; buttons for what this person may do next."""
    found = await ctx.repos.orders.with_person(order_id)
    if found is None:
        return [Reply("orders/not_found", {"id": order_id})]
    order, person = found
    if can_manage(ctx.user, order):
        data = {**order_data(order, person), "history": await _history(ctx, order.id)}
        return [Reply("orders/detail", data, _order_buttons(order))]
    if person.user_id is not None and person.user_id == ctx.user.id:
        return [Reply("orders/detail", {**order_data(order, person), "history": []})]
    return [Reply("orders/not_found", {"id": order_id})]


@router.text(match=lambda text: bool(ORDER_REF_RE.match(text)))
async def order_by_text(msg: Incoming, ctx: Context) -> list[Reply]:
    """``订单 12``: the same as ``/order 12``."""
    found = ORDER_REF_RE.match(msg.text.strip())
    assert found is not None
    return await show_order(ctx, int(found.group(1)))


@router.option("ord", roles=RECORDERS)
async def order_action(msg: Incoming, ctx: Context) -> list[Reply]:
    """Buttons on an order: ``ord:<view|ship|done|cancel|cancelok|edit>:<id>``."""
    try:
        _, action, id_text = (msg.option or "").split(":", 2)
        order_id = int(id_text)
    except ValueError:
        return [Reply("system/stale_option")]
    if action == "view":
        return await show_order(ctx, order_id)
    found = await ctx.repos.orders.with_person(order_id, for_update=True)
    if found is None or not can_manage(ctx.user, found[0]):
        return [Reply("orders/not_found", {"id": order_id})]
    order, person = found
    if action == "cancel":
        if order.status_enum in (OrderStatus.DONE, OrderStatus.CANCELLED):
            return [
                Reply("orders/status_refused", {**order_data(order, person), "to": "cancelled"})
            ]
        confirm = (Option("order_cancel_confirm", f"ord:cancelok:{order.id}"),)
        return [Reply("orders/cancel_ask", order_data(order, person), confirm)]
    if action == "edit":
        if order.status_enum in (OrderStatus.DONE, OrderStatus.CANCELLED):
            return [Reply("orders/edit_refused", order_data(order, person))]
        return await ctx.start_form("order_edit", {"order_id": order.id})
    if action in NEXT_STATUS:
        return await change_status(ctx, order, person, action)
    return [Reply("system/stale_option")]


async def change_status(ctx: Context, order: Order, person: Person, action: str) -> list[Reply]:
    """Move the order on (已登记 → 已发货 → 已完成, or 已取消), audited, household told."""
    target, allowed_from = NEXT_STATUS[action]
    if order.status_enum not in allowed_from:
        return [Reply("orders/status_refused", {**order_data(order, person), "to": target.value})]
    before = order.status
    ctx.repos.orders.set_status(order, target, ctx.now)
    await ctx.repos.audit.record(
        action="order.status",
        target_type="order",
        target_id=order.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"from": before, "to": target.value},
    )
    data = order_data(order, person)
    if person.user_id is not None and person.user_id != ctx.user.id:
        await ctx.notify(
            person.user_id,
            Reply("orders/status_push", data),
            kind="order_status",
            dedupe_key=f"order:{order.id}:{target.value}",
        )
    return [Reply("orders/status_changed", data, _order_buttons(order))]


# -- corrections --------------------------------------------------------------------------
def parse_edit_field(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    word = text.strip()
    names = {
        "产品": "product",
        "数量": "quantity",
        "价格": "price",
        "单价": "price",
        "总价": "price",
        "建档立卡": "poor",
        "平台": "platform",
        "买家": "platform",
        "备注": "note",
    }
    field = names.get(word, word)
    if field not in EDITABLE:
        raise Invalid("orders/edit_field_invalid")
    return field


async def parse_edit_value(text: str, ctx: Context, answers: dict[str, Any]) -> Any:
    """The new value for the chosen field, checked like a new order's."""
    order = await ctx.repos.orders.get(answers["order_id"])
    if order is None:
        raise Invalid("orders/not_found", id=answers["order_id"])
    field = answers["field"]
    quantity = Quantity(Decimal(order.quantity), order.unit)
    if field == "product":
        return parse_product(text)
    if field == "quantity":
        new = parse_quantity(text)
        unit_price, per_unit = order.unit_price_fen, order.unit
        total = None if unit_price is not None else order.total_fen
        if unit_price is None:
            per_unit = None
        priced = price_order(new, unit_price_fen=unit_price, per_unit=per_unit, total_fen=total)
        return _priced_answer(priced)
    if field == "price":
        return _priced_answer(parse_price(text, quantity))
    if field == "poor":
        return parse_yes_no(text, ctx, answers)
    if field == "platform":
        return parse_platform(text)
    return parse_note(text)


EDIT_FIELD_OPTIONS = tuple(Option(f"edit_{name}", name) for name in EDITABLE)


def _edit_value_options(ctx: Context, answers: dict[str, Any]) -> tuple[Option, ...]:
    return YES_NO_OPTIONS if answers.get("field") == "poor" else ()


async def save_edit(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """Apply a confirmed correction; the previous values go to the audit log."""
    found = await ctx.repos.orders.with_person(answers["order_id"], for_update=True)
    if found is None or not can_manage(ctx.user, found[0]):
        return [Reply("orders/not_found", {"id": answers["order_id"]})]
    order, person = found
    if order.status_enum in (OrderStatus.DONE, OrderStatus.CANCELLED):
        return [Reply("orders/edit_refused", order_data(order, person))]
    before = _audit_values(order)
    _apply(order, answers["field"], answers["value"])
    order.updated_at = ctx.now
    after = _audit_values(order)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changed:
        return [Reply("orders/edit_unchanged", order_data(order, person), _order_buttons(order))]
    await ctx.repos.audit.record(
        action="order.edit",
        target_type="order",
        target_id=order.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"changed": changed},
    )
    data = {**order_data(order, person), "changed": changed}
    return [Reply("orders/edited", data, _order_buttons(order))]


def _apply(order: Order, field: str, value: Any) -> None:
    if field in ("quantity", "price"):
        order.quantity = Decimal(value["amount"])
        order.unit = value["unit"]
        order.unit_price_fen = value["unit_price_fen"]
        order.total_fen = value["total_fen"]
    elif field == "poor":
        order.poor_registered = bool(value)
    else:
        setattr(order, field, value)


router.form(
    Form(
        name="order_edit",
        title="form_order_edit",
        steps=(
            Step(
                "field",
                "forms/order_edit/ask_field",
                parse_edit_field,
                EDIT_FIELD_OPTIONS,
            ),
            Step("value", "forms/order_edit/ask_value", parse_edit_value, _edit_value_options),
            Step(
                "confirm",
                "forms/order_edit/ask_confirm",
                parse_confirm,
                (Option("confirm_save", "确认"),),
            ),
        ),
        on_complete=save_edit,
    )
)


# -- lists --------------------------------------------------------------------------------
@router.command("orders", aliases=("订单列表",), roles=RECORDERS, summary="help_orders")
async def station_orders(msg: Incoming, ctx: Context) -> list[Reply]:
    """The station's latest orders, each with a button to open it."""
    station = station_of(ctx.user)
    if station is None:
        return [Reply("orders/no_station")]
    rows = await ctx.repos.orders.recent(county=station.county, village=station.village)
    items = [order_data(order, person) for order, person in rows]
    options = tuple(Option("order_open", f"ord:view:{o['id']}", {"id": o["id"]}) for o in items)
    return [Reply("orders/list", {"orders": items, "village": station.village}, options)]


@router.command("myorders", aliases=("我的订单",), summary="help_my_orders")
async def my_orders(msg: Incoming, ctx: Context) -> list[Reply]:
    """A household's own orders (through the person record linked to this account)."""
    person = await ctx.repos.people.for_user(ctx.user.id)
    if person is None:
        return [Reply("orders/my_not_linked", {"number": ctx.user.id})]
    orders = await ctx.repos.orders.for_person(person.id)
    return [Reply("orders/my_orders", {"orders": [order_data(o, person) for o in orders]})]


@router.command("link", aliases=(), roles=RECORDERS, summary="help_link")
async def link_household(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/link 编号 手机号或姓名``: link a household's chat account to its ledger record."""
    station = station_of(ctx.user)
    if station is None:
        return [Reply("orders/no_station")]
    if len(msg.args) != 2 or not msg.args[0].isdigit():
        return [Reply("orders/link_usage")]
    account = await ctx.repos.users.get(int(msg.args[0]))
    if account is None or account.role != Role.HOUSEHOLD:
        return [Reply("orders/link_no_account", {"number": msg.args[0]})]
    try:
        person = await _person_in_station(ctx, station, msg.args[1])
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data)]
    if person.user_id is not None and person.user_id != account.id:
        return [Reply("orders/link_taken", {"name": person.name})]
    if await ctx.repos.people.for_user(account.id) not in (None, person):
        return [Reply("orders/link_account_taken", {"number": account.id})]
    person.user_id = account.id
    await ctx.repos.audit.record(
        action="person.link",
        target_type="person",
        target_id=person.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"user_id": account.id},
    )
    return [Reply("orders/linked", {"name": person.name, "account": account.display_name})]


async def _person_in_station(ctx: Context, station: Station, text: str) -> Person:
    try:
        phone = parse_phone(text)
    except Invalid:
        phone = None
    found = await resolve_household(
        ctx, station, None if phone else parse_household_name(text), phone
    )
    if found["person_id"] is None:
        raise Invalid("orders/link_no_person", text=found["name"])
    person = await ctx.repos.people.get(found["person_id"])
    assert person is not None
    return person
