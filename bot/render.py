"""The one place replies become words: the jinja2 environment and the option signing.

Handlers return ``Reply(template, data, options)``; the ``Renderer`` turns them
into ``Rendered`` text with button labels and per-person signed option tokens.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.messages import Rendered, RenderedOption, Reply
from bot.tokens import OptionSigner
from content import filters
from content.paths import TEMPLATES_DIR


def build_environment(timezone: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters.update(filters.build(timezone))
    return env


class Renderer:
    def __init__(self, env: Environment, signer: OptionSigner) -> None:
        self.env = env
        self.signer = signer
        self._labels = env.get_template("labels.j2").make_module()

    def text(self, template: str, data: dict[str, Any] | None = None) -> str:
        return self.env.get_template(f"{template}.j2").render(data or {}).strip()

    def label(self, name: str, data: dict[str, Any] | None = None) -> str:
        macro = getattr(self._labels, name, None)
        if macro is None:
            raise KeyError(f"labels.j2 has no macro {name!r}")
        return str(macro(**(data or {}))).strip()

    def numbered(self, text: str, labels: list[str] | tuple[str, ...]) -> str:
        """``text`` with its options as numbered lines, for channels without buttons
        (WeChat): a reply of the number chooses the option."""
        if not labels:
            return text
        return self.text("system/numbered_options", {"text": text, "labels": list(labels)})

    def present(self, reply: Reply, *, user_id: int | None) -> Rendered:
        """Render ``reply`` for one person; options are signed for ``user_id``."""
        options: tuple[RenderedOption, ...] = ()
        if reply.options:
            if user_id is None:
                raise ValueError("options need a known recipient to be signed for")
            options = tuple(
                RenderedOption(
                    label=self.label(o.label, o.label_data),
                    token=self.signer.sign(user_id, o.value),
                )
                for o in reply.options
            )
        return Rendered(
            text=self.text(reply.template, reply.data),
            options=options,
            attachment=reply.attachment,
        )
