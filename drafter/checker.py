"""Checking a reply against every tone rule: ``check_reply`` and its ``CheckResult``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .analysis import Analysis, analyze_message
from .constants import CHANNELS, LANGUAGES
from .context import Context, context_from_mapping
from .errors import InputError
from .tone_rules import HARD, TONE_RULES, Reply, Violation


@dataclass(frozen=True)
class CheckResult:
    """The violations of one reply. ``passed`` is False as soon as one hard rule is broken."""

    violations: tuple[Violation, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.hard

    @property
    def hard(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity == HARD)

    @property
    def soft(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.severity != HARD)

    def broken(self) -> set[str]:
        return {v.rule for v in self.violations}

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "violations": [v.to_dict() for v in self.violations]}


def check_reply(
    reply: str,
    *,
    message: str | None = None,
    context: Context | Mapping[str, Any] | None = None,
    lang: str | None = None,
    channel: str | None = None,
    analysis: Analysis | None = None,
    rules: Iterable[str] | None = None,
) -> CheckResult:
    """Check ``reply`` against the tone rules.

    With ``message`` (or its ``analysis``), the rules that depend on the customer (echoed insults,
    the calm limit, restated facts, language) are checked too. ``lang`` is the language the reply
    must be in; by default the message's language, else the context's.
    """
    if not isinstance(reply, str):
        raise InputError(f"the reply must be a string, got {type(reply).__name__}")
    ctx = context_from_mapping(context) if not isinstance(context, Context) else context
    if lang is not None and lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}; valid: {', '.join(LANGUAGES)}")
    channel = channel or ctx.channel or "email"
    if channel not in CHANNELS:
        raise InputError(f"unknown channel {channel!r}; valid: {', '.join(CHANNELS)}")
    if analysis is None and message is not None:
        analysis = analyze_message(message, default_language=ctx.language)
    language = lang or (analysis.language if analysis and analysis.language_confidence > 0 else None) or ctx.language
    if language is None and analysis is not None:
        language = analysis.language
    view = Reply(reply, language, channel, ctx, message, analysis)
    wanted = set(rules) if rules is not None else None
    found: list[Violation] = []
    for rule in TONE_RULES:
        if wanted is None or rule.id in wanted:
            found.extend(rule.check(view))
    return CheckResult(tuple(found))
