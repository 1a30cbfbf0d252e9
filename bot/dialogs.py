"""The dialog (form) engine: forms declared as data, state kept in the database.

A ``Form`` is a list of ``Step``s (field, prompt template, parser, options).
Every answer is committed with the message that carried it, so a restart
continues at the same step. 取消 cancels, 返回 goes back one step, 跳过 skips an
optional step, and a parser's ``Invalid`` re-asks with the reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.context import Context
from bot.messages import Option, Reply
from storage.models import DialogState, Role

CANCEL_WORDS = frozenset({"取消", "退出", "cancel"})
BACK_WORDS = frozenset({"返回", "上一步", "back"})
SKIP_WORDS = frozenset({"跳过", "skip"})
KEEP_WORDS = frozenset({"不变", "保持不变"})

OPTION_PREFIX = "dlg"
CONTROL_BACK = "!back"
CONTROL_SKIP = "!skip"
CONTROL_CANCEL = "!cancel"
CONTROL_KEEP = "!keep"

Parser = Callable[[str, Context, dict[str, Any]], Any]
OptionsFor = Callable[[Context, dict[str, Any]], Sequence[Option]]
Completion = Callable[[Context, dict[str, Any]], Awaitable[list[Reply]]]


class Invalid(Exception):
    """Raised by a parser: the answer is refused; ``template`` says why."""

    def __init__(self, template: str, **data: Any) -> None:
        super().__init__(template)
        self.template = template
        self.data = data


@dataclass(frozen=True)
class Step:
    """One question of a form.

    ``parse`` turns the raw answer into a JSON-safe value or raises ``Invalid``;
    it may be async. ``options`` are offered as buttons whose value is parsed as if
    typed. ``keep`` gives the current value for edit forms (the person can answer
    不变). ``when`` skips the step for answers that make it irrelevant.
    """

    field: str
    prompt: str
    parse: Parser
    options: Sequence[Option] | OptionsFor = ()
    optional: bool = False
    keep: Callable[[Context], Any] | None = None
    when: Callable[[dict[str, Any]], bool] | None = None


@dataclass(frozen=True)
class Form:
    name: str
    title: str  # a macro of labels.j2
    steps: tuple[Step, ...]
    on_complete: Completion
    data: dict[str, Any] = field(default_factory=dict)
    # Who may fill it in, checked again at every answer (a role taken away mid-form stops
    # it); None: anyone who could start it.
    roles: frozenset[Role] | None = None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class FormEngine:
    """Runs every registered form; called by the router for each message in a form."""

    def __init__(self, forms: Sequence[Form]) -> None:
        self.forms: dict[str, Form] = {}
        for form in forms:
            if form.name in self.forms:
                raise ValueError(f"form {form.name!r} registered twice")
            if ":" in form.name:
                raise ValueError("form names may not contain ':'")
            self.forms[form.name] = form

    # -- entry points ---------------------------------------------------------------
    async def start(self, ctx: Context, name: str, answers: dict[str, Any]) -> list[Reply]:
        form = self.forms[name]
        first = self._next_index(form, -1, answers)
        if first is None:
            return await self._complete(ctx, form, answers)
        await self._save(ctx, form, first, answers, [])
        return [self._prompt(ctx, form, first, answers, has_back=False)]

    async def on_text(self, ctx: Context, text: str) -> list[Reply]:
        state = ctx.dialog
        assert state is not None
        form = self.forms.get(state.form)
        if form is None or state.step >= len(form.steps):
            # A form that no longer exists (an upgrade removed it): drop it honestly.
            await ctx.repos.dialogs.clear(ctx.user.id)
            ctx.dialog = None
            return [Reply("dialog/expired")]
        word = text.strip().lower()
        if word in CANCEL_WORDS:
            return await self.cancel(ctx)
        if word in BACK_WORDS:
            return await self._back(ctx, form, state)
        return await self._answer(ctx, form, state, text)

    async def on_option(self, ctx: Context, value: str) -> list[Reply]:
        """A button of a form was pressed: ``dlg:<form>:<step>:<raw>``."""
        try:
            _, form_name, step_text, raw = value.split(":", 3)
            step = int(step_text)
        except ValueError:
            return [Reply("dialog/stale_option")]
        state = ctx.dialog
        if state is None or state.form != form_name or state.step != step:
            return [Reply("dialog/stale_option")]
        form = self.forms[form_name]
        if raw == CONTROL_CANCEL:
            return await self.cancel(ctx)
        if raw == CONTROL_BACK:
            return await self._back(ctx, form, state)
        return await self._answer(ctx, form, state, raw)

    async def cancel(self, ctx: Context) -> list[Reply]:
        if ctx.dialog is None:
            return [Reply("dialog/nothing_to_cancel")]
        form = self.forms.get(ctx.dialog.form)
        await ctx.repos.dialogs.clear(ctx.user.id)
        ctx.dialog = None
        return [Reply("dialog/cancelled", {"title": form.title if form else None})]

    def reminder(self, ctx: Context) -> Reply | None:
        """A note that a form is still open (after a command interrupted it), with its buttons."""
        prompt = self.current_prompt(ctx)
        if prompt is None or ctx.dialog is None:
            return None
        title = self.forms[ctx.dialog.form].title
        return Reply("dialog/still_open", {"title": title}, prompt.options)

    def current_prompt(self, ctx: Context) -> Reply | None:
        state = ctx.dialog
        if state is None or state.form not in self.forms:
            return None
        form = self.forms[state.form]
        return self._prompt(ctx, form, state.step, state.answers, has_back=bool(state.history))

    # -- internals ------------------------------------------------------------------
    async def _answer(self, ctx: Context, form: Form, state: DialogState, raw: str) -> list[Reply]:
        if form.roles is not None and ctx.role not in form.roles:
            await ctx.repos.dialogs.clear(ctx.user.id)
            ctx.dialog = None
            return [Reply("system/forbidden")]
        step = form.steps[state.step]
        answers = dict(state.answers)
        word = raw.strip().lower()
        try:
            if raw == CONTROL_SKIP or (word in SKIP_WORDS and step.optional):
                if not step.optional:
                    raise Invalid("dialog/cannot_skip")
                value = None
            elif step.keep is not None and (raw == CONTROL_KEEP or word in KEEP_WORDS):
                value = step.keep(ctx)
            else:
                value = await _maybe_await(step.parse(raw.strip(), ctx, answers))
        except Invalid as refusal:
            has_back = bool(state.history)
            return [
                Reply(refusal.template, refusal.data),
                self._prompt(ctx, form, state.step, answers, has_back=has_back),
            ]
        answers[step.field] = value
        following = self._next_index(form, state.step, answers)
        if following is None:
            return await self._complete(ctx, form, answers)
        history = [*state.history, state.step]
        await self._save(ctx, form, following, answers, history)
        return [self._prompt(ctx, form, following, answers, has_back=True)]

    async def _back(self, ctx: Context, form: Form, state: DialogState) -> list[Reply]:
        if not state.history:
            return [
                Reply("dialog/at_first_step"),
                self._prompt(ctx, form, state.step, state.answers, has_back=False),
            ]
        history = list(state.history)
        previous = history.pop()
        answers = dict(state.answers)
        answers.pop(form.steps[previous].field, None)
        await self._save(ctx, form, previous, answers, history)
        return [self._prompt(ctx, form, previous, answers, has_back=bool(history))]

    async def _complete(self, ctx: Context, form: Form, answers: dict[str, Any]) -> list[Reply]:
        await ctx.repos.dialogs.clear(ctx.user.id)
        ctx.dialog = None
        return await form.on_complete(ctx, answers)

    async def _save(
        self, ctx: Context, form: Form, step: int, answers: dict[str, Any], history: list[int]
    ) -> None:
        ctx.dialog = await ctx.repos.dialogs.save(
            ctx.user.id,
            form=form.name,
            step=step,
            answers=answers,
            history=history,
            now=ctx.now,
        )

    @staticmethod
    def _next_index(form: Form, after: int, answers: dict[str, Any]) -> int | None:
        for index in range(after + 1, len(form.steps)):
            when = form.steps[index].when
            if when is None or when(answers):
                return index
        return None

    def _prompt(
        self, ctx: Context, form: Form, index: int, answers: dict[str, Any], *, has_back: bool
    ) -> Reply:
        step = form.steps[index]
        offered = step.options(ctx, answers) if callable(step.options) else step.options
        prefix = f"{OPTION_PREFIX}:{form.name}:{index}:"
        options = [Option(o.label, prefix + o.value, o.label_data) for o in offered]
        current = step.keep(ctx) if step.keep is not None else None
        if current:
            options.append(Option("keep_current", prefix + CONTROL_KEEP, {"value": current}))
        if step.optional:
            options.append(Option("skip", prefix + CONTROL_SKIP))
        if has_back:
            options.append(Option("back", prefix + CONTROL_BACK))
        options.append(Option("cancel", prefix + CONTROL_CANCEL))
        data = {
            **form.data,
            "answers": answers,
            "current": current,
            "optional": step.optional,
            "step_no": index + 1,
            "step_count": len(form.steps),
        }
        return Reply(step.prompt, data, tuple(options))
