"""Prompt templates: every word sent to a model, and every sentence of the offline composer, lives
in a Jinja template under ``prompts/``; code passes variables, never prose.

Templates render in a sandboxed environment with ``StrictUndefined`` (a missing variable is an error,
not an empty string). A team overrides any template by putting a file of the same name in its own
directory (``--prompts DIR`` or ``DRAFTER_PROMPTS_DIR``); the others still come from the shipped set.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .errors import TemplateError

_FENCE_TAG = re.compile(r"</?\s*customer_message\b[^>]*>", re.IGNORECASE)


def shipped_prompts_dir() -> Path:
    """The templates shipped with the package (wheel) or, in a source checkout, ``prompts/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_data" / "prompts", here.parent / "prompts"):
        if (candidate / "system.j2").is_file():
            return candidate
    raise TemplateError("the shipped prompt templates are missing; reinstall drafter")


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (a CLI start saves ~15 ms); keyed by source checksum."""
    from .settings import cache_dir

    folder = cache_dir("jinja")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(folder))


def untrusted(text: str) -> str:
    """Neutralise anything in customer text that could close or forge the fence around it."""
    return _FENCE_TAG.sub(lambda m: m.group().replace("<", "‹").replace(">", "›"), text)


class PromptLibrary:
    """Renders templates by name, overrides first."""

    def __init__(self, override_dir: str | Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if override_dir is not None:
            folder = Path(override_dir)
            if not folder.is_dir():
                raise TemplateError(f"prompts directory {folder} does not exist or is not a directory")
            loaders.append(jinja2.FileSystemLoader(str(folder)))
        loaders.append(jinja2.FileSystemLoader(str(shipped_prompts_dir())))
        self.override_dir = Path(override_dir) if override_dir else None
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            bytecode_cache=_bytecode_cache(),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.env.filters["untrusted"] = untrusted

    def names(self) -> list[str]:
        return sorted(self.env.list_templates(extensions=["j2"]))

    def render(self, name: str, **variables: Any) -> str:
        try:
            template = self.env.get_template(name)
            text = template.render(**variables)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"not found (looked in {self._where()})", template=str(exc)) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"syntax error line {exc.lineno}: {exc.message}", template=exc.name or name) from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"undefined variable: {exc.message}", template=name) from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"refused by the sandbox: {exc}", template=name) from None
        return tidy(text)

    def _where(self) -> str:
        shipped = str(shipped_prompts_dir())
        return f"{self.override_dir}, {shipped}" if self.override_dir else shipped


_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")


def tidy(text: str) -> str:
    """One blank line at most between paragraphs, no doubled spaces, no trailing whitespace."""
    lines = [_SPACES.sub(" ", line).rstrip() for line in text.strip().splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


@cache
def prompt_library(override_dir: str | None = None) -> PromptLibrary:
    """A shared library per override directory (environments are thread-safe once built)."""
    return PromptLibrary(override_dir)
