"""Information topics: /subscribe (topics, region, digest time), 退订 from any push, and
staff or administrators posting an information item for every subscriber in its region and
roles (``publish``, also used by ``cunzhan info post``): the post commits the item, and the
background fan-out (scheduler/info_fanout.py) queues its outbox rows in chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.context import Context
from bot.dialogs import Form, Invalid, Step
from bot.messages import Incoming, Option, Reply
from bot.router import Router
from content.regions import Gazetteer
from storage.models import InfoItem, Role
from storage.repositories import Repositories

router = Router("info")

TOPICS = ("price", "agri", "policy", "edu", "health", "travel", "training")
TOPIC_WORDS = {
    "价格行情": "price",
    "价格": "price",
    "行情": "price",
    "农业技术": "agri",
    "农技": "agri",
    "政策通知": "policy",
    "政策": "policy",
    "教育": "edu",
    "医疗": "health",
    "旅游": "travel",
    "培训信息": "training",
    "培训": "training",
}
UNSUBSCRIBE_WORDS = ("退订", "取消订阅", "td")
ALL_WORDS = frozenset({"全部", "所有", "all"})
PROVINCE_WORDS = frozenset({"全省", "河南", "河南省", "province"})
DIGEST_TIMES = ("07:00", "12:00", "18:00", "20:00")
ROLE_CHOICES = {"all": (), **{r.value: (r.value,) for r in Role}}
TITLE_MAX = 40
BODY_MAX = 1000
POSTERS = (Role.STAFF, Role.ADMIN)


def topic_of(text: str) -> str | None:
    word = "".join(text.split()).lower()
    return word if word in TOPICS else TOPIC_WORDS.get(word)


def is_unsubscribe(text: str) -> bool:
    """退订, 取消订阅, TD, and those followed by a topic or 全部."""
    word = "".join(text.split()).lower()
    for prefix in UNSUBSCRIBE_WORDS:
        if word.startswith(prefix):
            rest = word[len(prefix) :]
            return not rest or rest in ALL_WORDS or topic_of(rest) is not None
    return False


def region_of(ctx: Context) -> dict[str, str | None]:
    """The person's own county and its city (None where no county is set)."""
    county = ctx.services.regions.county(ctx.user.county) if ctx.user.county else None
    return {"county": county.name if county else None, "city": county.city if county else None}


# -- subscribing --------------------------------------------------------------------------
@router.command("subscribe", aliases=("订阅", "我的订阅", "订阅信息"), summary="help_subscribe")
async def subscriptions(msg: Incoming, ctx: Context) -> list[Reply]:
    """The topic menu with what this person receives now; ``/subscribe 农业技术`` goes on."""
    if msg.args:
        topic = topic_of("".join(msg.args))
        if topic is None:
            return [Reply("info/bad_topic", {"text": "".join(msg.args)[:12], "topics": TOPICS})]
        return [await topic_menu(ctx, topic)]
    return [await overview(ctx)]


async def overview(ctx: Context) -> Reply:
    subs = {s.topic: s for s in await ctx.repos.subscriptions.for_user(ctx.user.id)}
    region = region_of(ctx)
    rows = [
        {
            "topic": s.topic,
            "scope": s.scope,
            **region,
            "digest_time": s.digest_time,
        }
        for t in TOPICS
        if (s := subs.get(t)) is not None
    ]
    options = [
        Option("info_topic_button", f"sub:t:{t}", {"topic": t, "on": t in subs}) for t in TOPICS
    ]
    if subs:
        options.append(Option("unsubscribe_all", "sub:u:all"))
    return Reply("info/subscriptions", {"subs": rows}, tuple(options))


async def topic_menu(ctx: Context, topic: str) -> Reply:
    """Region choices for a topic (and, when subscribed, 退订)."""
    current = await ctx.repos.subscriptions.get(ctx.user.id, topic)
    region = region_of(ctx)
    options = []
    if region["county"]:
        options.append(Option("scope_county", f"sub:s:{topic}:county", region))
        options.append(Option("scope_city", f"sub:s:{topic}:city", region))
    options.append(Option("scope_province", f"sub:s:{topic}:province"))
    if current is not None:
        options.append(Option("unsubscribe_topic", f"sub:u:{topic}", {"topic": topic}))
    data = {
        "topic": topic,
        "scope": current.scope if current else None,
        "digest_time": current.digest_time if current else None,
        **region,
    }
    return Reply("info/choose_scope", data, tuple(options))


@router.option("sub")
async def subscription_option(msg: Incoming, ctx: Context) -> list[Reply]:
    """Buttons of the topic menu: ``sub:t|s|d|u:<topic>[:<value>]``."""
    action, topic, value = [*(msg.option or "").split(":"), "", "", ""][1:4]
    if action == "u" and topic == "all":
        return await _unsubscribe(ctx, None)
    if topic not in TOPICS:
        return [Reply("system/stale_option")]
    if action == "u":
        return await _unsubscribe(ctx, topic)
    if action == "t":
        return [await topic_menu(ctx, topic)]
    if action == "s":
        return await _subscribe(ctx, topic, value)
    if action == "d":
        return await _digest_time(ctx, topic, value)
    return [Reply("system/stale_option")]


async def _subscribe(ctx: Context, topic: str, scope: str) -> list[Reply]:
    region = region_of(ctx)
    if scope not in ("county", "city", "province") or (scope != "province" and not region["city"]):
        return [Reply("system/stale_option")]
    await ctx.repos.subscriptions.subscribe(ctx.user.id, topic, scope=scope, now=ctx.now)
    data = {"topic": topic, "scope": scope, **region}
    if topic != "price":
        return [Reply("info/subscribed", data, (Option("back_to_topics", "/subscribe"),))]
    options = [
        Option("digest_at", f"sub:d:price:{t.replace(':', '')}", {"time": t}) for t in DIGEST_TIMES
    ]
    options.append(Option("digest_off", "sub:d:price:off"))
    return [Reply("info/choose_digest_time", data, tuple(options))]


async def _digest_time(ctx: Context, topic: str, value: str) -> list[Reply]:
    at = None if value == "off" else f"{value[:2]}:{value[2:]}"
    if at is not None and at not in DIGEST_TIMES:
        return [Reply("system/stale_option")]
    if not await ctx.repos.subscriptions.set_digest_time(ctx.user.id, topic, at, ctx.now):
        return [Reply("system/stale_option")]
    return [Reply("info/digest_time_set", {"time": at}, (Option("back_to_topics", "/subscribe"),))]


# -- unsubscribing ------------------------------------------------------------------------
@router.option("unsub")
async def unsubscribe_button(msg: Incoming, ctx: Context) -> list[Reply]:
    """The 退订 button every push carries: ``unsub:<topic>``."""
    topic = (msg.option or "").partition(":")[2]
    if topic not in TOPICS:
        return [Reply("system/stale_option")]
    return await _unsubscribe(ctx, topic)


@router.text(match=is_unsubscribe)
async def unsubscribe_text(msg: Incoming, ctx: Context) -> list[Reply]:
    """退订 (the topic of the last push), 退订 农业技术, 退订全部."""
    word = "".join(msg.text.split()).lower()
    rest = next(word[len(p) :] for p in UNSUBSCRIBE_WORDS if word.startswith(p))
    if rest in ALL_WORDS:
        return await _unsubscribe(ctx, None)
    topic = topic_of(rest) if rest else await ctx.repos.subscriptions.last_push_topic(ctx.user.id)
    if topic is None:
        return [Reply("info/which_topic"), await overview(ctx)]
    return await _unsubscribe(ctx, topic)


async def _unsubscribe(ctx: Context, topic: str | None) -> list[Reply]:
    removed = await ctx.repos.subscriptions.unsubscribe(ctx.user.id, topic)
    if removed:
        await ctx.repos.audit.record(
            action="subscription.remove",
            target_type="user",
            target_id=ctx.user.id,
            at=ctx.now,
            actor_id=ctx.user.id,
            details={"topic": topic or "all"},
        )
    again = (Option("back_to_topics", "/subscribe"),)
    return [Reply("info/unsubscribed", {"topic": topic, "removed": removed}, again)]


# -- posting an information item ----------------------------------------------------------
def _allowed_region(ctx: Context, region: dict[str, Any]) -> bool:
    """Staff and county admins post within their county; province admins anywhere."""
    if ctx.role is Role.ADMIN and not ctx.user.county:
        return True
    own = region_of(ctx)["county"]
    return own is not None and region["scope"] == "county" and region["county"] == own


def parse_region(text: str, ctx: Context) -> dict[str, Any]:
    word = "".join(text.split())
    regions = ctx.services.regions
    county = regions.county(word)
    if word in PROVINCE_WORDS:
        region: dict[str, Any] = {"scope": "province", "county": None, "city": None}
    elif county is not None:
        region = {"scope": "county", "county": county.name, "city": county.city}
    elif (city := regions.city(word)) is not None:
        region = {"scope": "city", "county": None, "city": city}
    else:
        raise Invalid("fields/county_unknown", text=word[:20])
    if not _allowed_region(ctx, region):
        raise Invalid("info/region_forbidden", county=region_of(ctx)["county"])
    return region


def parse_topic(text: str) -> str:
    topic = topic_of(text)
    if topic is None:
        raise Invalid("info/bad_topic", text=text[:12], topics=TOPICS)
    return topic


def parse_roles(text: str) -> list[str]:
    word = "".join(text.split()).lower()
    names = {
        "所有人": "all",
        "全部": "all",
        "农户": "household",
        "服务站人员": "staff",
        "服务站": "staff",
        "联络员": "liaison",
        "管理员": "admin",
    }
    choice = names.get(word, word)
    if choice not in ROLE_CHOICES:
        raise Invalid("info/bad_roles")
    return list(ROLE_CHOICES[choice])


def parse_title(text: str) -> str:
    title = " ".join(text.split())
    if not title or len(title) > TITLE_MAX or title.startswith("/"):
        raise Invalid("info/bad_title", limit=TITLE_MAX)
    return title


async def parse_body(text: str, ctx: Context, answers: dict[str, Any]) -> str:
    """The text; also counts the audience for the confirmation step's preview."""
    body = text.strip()
    if not body or len(body) > BODY_MAX:
        raise Invalid("info/bad_body", limit=BODY_MAX)
    region = answers["region"]
    answers["audience"] = await ctx.repos.subscriptions.audience_size(
        answers["topic"],
        scope=region["scope"],
        county=region["county"],
        city_counties=counties_of(ctx.services.regions, region["city"]),
        roles=answers["roles"],
    )
    return body


def parse_confirm(text: str) -> bool:
    if text.strip().lower() not in ("yes", "确认", "发送", "确认发送", "是"):
        raise Invalid("info/confirm_expected")
    return True


def region_options(ctx: Context, _answers: dict[str, Any]) -> Sequence[Option]:
    own = region_of(ctx)
    options = []
    if own["county"]:
        options.append(Option("info_region_county", own["county"], {"county": own["county"]}))
    if ctx.role is Role.ADMIN and not ctx.user.county:
        options.append(Option("info_region_province", "全省"))
    return options


async def save_item(ctx: Context, answers: dict[str, Any]) -> list[Reply]:
    """The item is committed with this message; its outbox rows follow in the background."""
    region = answers["region"]
    item = await ctx.repos.info_items.add(
        topic=answers["topic"],
        title=answers["title"],
        body=answers["body"],
        roles=answers["roles"],
        now=ctx.now,
        author_id=ctx.user.id,
        author_label=ctx.user.display_name or None,
        **region,
    )
    count = await publish(ctx.repos, item, regions=ctx.services.regions)
    await ctx.repos.audit.record(
        action="info.post",
        target_type="info_item",
        target_id=item.id,
        at=ctx.now,
        actor_id=ctx.user.id,
        details={"topic": item.topic, "scope": item.scope, "recipients": count},
    )
    return [Reply("info/posted", {"id": item.id, "title": item.title, "count": count})]


router.form(
    Form(
        name="info_post",
        title="form_info_post",
        steps=(
            Step(
                "topic",
                "forms/info_post/ask_topic",
                lambda text, ctx, _: parse_topic(text),
                options=tuple(Option("info_topic", t, {"code": t}) for t in TOPICS),
            ),
            Step(
                "region",
                "forms/info_post/ask_region",
                lambda text, ctx, _: parse_region(text, ctx),
                options=region_options,
            ),
            Step(
                "roles",
                "forms/info_post/ask_roles",
                lambda text, ctx, _: parse_roles(text),
                options=(
                    Option("info_roles_all", "all"),
                    *(Option("role", r.value, {"name": r.value}) for r in Role),
                ),
            ),
            Step("title", "forms/info_post/ask_title", lambda text, ctx, _: parse_title(text)),
            Step("body", "forms/info_post/ask_body", parse_body),
            Step(
                "confirm",
                "forms/info_post/ask_confirm",
                lambda text, ctx, _: parse_confirm(text),
                options=(Option("info_confirm_send", "yes"),),
            ),
        ),
        on_complete=save_item,
    )
)


@router.command("post", aliases=("发布信息",), roles=POSTERS, summary="help_post")
async def post(msg: Incoming, ctx: Context) -> list[Reply]:
    """``/post`` opens the form; ``/post 农业技术 滑县 标题 正文…`` posts at once."""
    if ctx.role is Role.STAFF and not ctx.user.county:
        return [Reply("info/need_county")]
    if not msg.args:
        return await ctx.start_form("info_post")
    if len(msg.args) < 4:
        return [Reply("info/post_usage")]
    try:
        answers: dict[str, Any] = {
            "topic": parse_topic(msg.args[0]),
            "region": parse_region(msg.args[1], ctx),
            "roles": [],
            "title": parse_title(msg.args[2]),
        }
        answers["body"] = await parse_body(" ".join(msg.args[3:]), ctx, answers)
    except Invalid as refusal:
        return [Reply(refusal.template, refusal.data), Reply("info/post_usage")]
    return await save_item(ctx, answers)


def counties_of(regions: Gazetteer, city: str | None) -> list[str]:
    return [c.name for c in regions.counties_of(city)] if city else []


async def audience_of(repos: Repositories, regions: Gazetteer, item: InfoItem) -> int:
    """How many subscribers ``item`` reaches now."""
    return await repos.subscriptions.audience_size(
        item.topic,
        scope=item.scope,
        county=item.county,
        city_counties=counties_of(regions, item.city),
        roles=item.roles,
    )


async def publish(repos: Repositories, item: InfoItem, *, regions: Gazetteer) -> int:
    """Hand ``item`` to the background fan-out (scheduler/info_fanout.py), which writes one
    outbox row per subscriber in chunks after this transaction commits; records and returns
    the audience, the number of subscribers in scope now."""
    item.audience = await audience_of(repos, regions, item)
    return item.audience
