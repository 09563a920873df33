"""The business context of a draft: who writes, to whom, what is known, what policy allows.

A context comes from a TOML or JSON file (``--context``) or a mapping (library, HTTP)::

    company = "Colis Express"
    agent = "Camille"
    customer_name = "M. Martin"
    channel = "email"
    language = "fr"            # the customer's known language, used when the message does not tell
    facts = ["La commande 48213 est bloquée au dépôt de Lyon."]
    [policy]
    allowed = ["replacement", "callback"]
    response_time = "48 h"
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .constants import CHANNELS, LANGUAGES, POLICY_ITEMS
from .errors import ContextError

_KEYS = ("company", "agent", "customer_name", "channel", "language", "facts", "policy")


@dataclass(frozen=True)
class Policy:
    """What the agent may commit to. With nothing allowed, no refund, gift or deadline is promised."""

    allowed: frozenset[str] = frozenset()
    response_time: str | None = None

    def allows(self, item: str) -> bool:
        return item in self.allowed

    def to_dict(self) -> dict[str, Any]:
        return {"allowed": sorted(self.allowed), "response_time": self.response_time}


@dataclass(frozen=True)
class Context:
    company: str | None = None
    agent: str | None = None
    customer_name: str | None = None
    channel: str | None = None
    language: str | None = None
    facts: tuple[str, ...] = ()
    policy: Policy = field(default_factory=Policy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "company": self.company, "agent": self.agent, "customer_name": self.customer_name,
            "channel": self.channel, "language": self.language, "facts": list(self.facts),
            "policy": self.policy.to_dict(),
        }

    def merged(self, **overrides: str | None) -> Context:
        """A copy with the non-empty overrides applied (CLI --company, --agent, --customer)."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in overrides.items() if v})


def _text(data: Mapping[str, Any], key: str, origin: str | None) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ContextError(f"'{key}' must be a string, got {type(value).__name__}", path=origin)
    return value.strip() or None


def context_from_mapping(data: Mapping[str, Any] | None, *, origin: str | None = None) -> Context:
    """Validate a mapping into a Context; ``origin`` names the file in error messages."""
    if data is None:
        return Context()
    if isinstance(data, Context):
        return data
    if not isinstance(data, Mapping):
        raise ContextError(f"the context must be a table/object, got {type(data).__name__}", path=origin)
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ContextError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(_KEYS)}", path=origin)
    channel = _text(data, "channel", origin)
    if channel is not None and channel not in CHANNELS:
        raise ContextError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}", path=origin)
    language = _text(data, "language", origin)
    if language is not None and language not in LANGUAGES:
        raise ContextError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}", path=origin)
    facts = data.get("facts", [])
    if isinstance(facts, str):
        facts = [facts]
    if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
        raise ContextError("'facts' must be a list of strings", path=origin)
    raw_policy = data.get("policy", {}) or {}
    if not isinstance(raw_policy, Mapping):
        raise ContextError("'policy' must be a table/object", path=origin)
    allowed = raw_policy.get("allowed", [])
    if isinstance(allowed, str):
        allowed = [allowed]
    if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
        raise ContextError("'policy.allowed' must be a list of strings", path=origin)
    bad = sorted(set(allowed) - set(POLICY_ITEMS))
    if bad:
        raise ContextError(
            f"policy.allowed has unknown item(s) {', '.join(bad)}; valid: {', '.join(POLICY_ITEMS)}", path=origin
        )
    response_time = raw_policy.get("response_time")
    if response_time is not None and not isinstance(response_time, str):
        raise ContextError("'policy.response_time' must be a string such as \"48 h\"", path=origin)
    return Context(
        company=_text(data, "company", origin),
        agent=_text(data, "agent", origin),
        customer_name=_text(data, "customer_name", origin),
        channel=channel,
        language=language,
        facts=tuple(f.strip() for f in facts if f.strip()),
        policy=Policy(frozenset(allowed), response_time.strip() if response_time else None),
    )


def load_context(path: str | Path) -> Context:
    """Read a context file: TOML (``.toml``) or JSON (anything else)."""
    origin = str(path)
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ContextError("no such file", path=origin) from None
    except IsADirectoryError:
        raise ContextError("is a directory, expected a TOML or JSON file", path=origin) from None
    except OSError as exc:
        raise ContextError(f"cannot be read ({exc.strerror})", path=origin) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ContextError("is not valid UTF-8", path=origin) from None
    if file.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ContextError(f"invalid TOML: {exc}", path=origin) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContextError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                               path=origin) from None
    return context_from_mapping(data, origin=origin)
