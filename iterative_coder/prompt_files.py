"""The agents' prompts live as text files in ``prompts/``; these read and fill them."""

from __future__ import annotations

import functools
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).parent / "prompts"


@functools.cache
def load_prompt(name: str) -> str:
    """The text of ``prompts/<name>.md``."""
    return (PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8")


def render_prompt(name: str, **values: object) -> str:
    """``prompts/<name>.md`` with ``${key}`` placeholders filled in."""
    return Template(load_prompt(name)).substitute({k: str(v) for k, v in values.items()})
