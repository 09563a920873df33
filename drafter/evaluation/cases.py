"""Eval cases: customer messages with what a good reply must and must not do (``evals/cases``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..constants import CHANNELS, LANGUAGES, POLICY_ITEMS
from ..context import Context, context_from_mapping
from ..errors import InputError


@dataclass(frozen=True)
class Expectations:
    insult: bool | None = None
    escalate: bool | None = None
    injection: bool | None = None
    threats: tuple[str, ...] | None = None
    topic: str | None = None
    mention: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalCase:
    id: str
    category: str
    lang: str
    message: str
    channel: str = "email"
    domain: str | None = None
    context: Context = field(default_factory=Context)
    expect: Expectations = field(default_factory=Expectations)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "lang": self.lang, "channel": self.channel,
                "domain": self.domain, "message": self.message, "source": self.source}


def shipped_cases_dir() -> Path | None:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_data" / "evals" / "cases", here.parent / "evals" / "cases"):
        if candidate.is_dir():
            return candidate
    return None


def _case(raw: dict[str, Any], origin: str) -> EvalCase:
    where = f"{origin}: case {raw.get('id', '?')}"
    for key in ("id", "category", "lang", "message"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise InputError(f"{where}: '{key}' is missing or not a string")
    if raw["lang"] not in LANGUAGES:
        raise InputError(f"{where}: lang must be one of {', '.join(LANGUAGES)}")
    channel = raw.get("channel", "email")
    if channel not in CHANNELS:
        raise InputError(f"{where}: channel must be one of {', '.join(CHANNELS)}")
    e = raw.get("expect", {}) or {}
    forbid = tuple(e.get("forbid", ()))
    if set(forbid) - set(POLICY_ITEMS):
        raise InputError(f"{where}: expect.forbid has unknown items {sorted(set(forbid) - set(POLICY_ITEMS))}")
    try:
        context = context_from_mapping(raw.get("context"), origin=where)
    except InputError:
        raise
    return EvalCase(
        id=raw["id"], category=raw["category"], lang=raw["lang"], message=raw["message"], channel=channel,
        domain=raw.get("domain"), context=context, source=origin,
        expect=Expectations(
            insult=e.get("insult"), escalate=e.get("escalate"), injection=e.get("injection"),
            threats=tuple(e["threats"]) if "threats" in e else None, topic=e.get("topic"),
            mention=tuple(e.get("mention", ())), forbid=forbid),
    )


def load_cases(folder: str | Path | None = None) -> list[EvalCase]:
    """Every ``*.toml`` under ``folder`` (default: the shipped cases), sorted by id."""
    root = Path(folder) if folder else shipped_cases_dir()
    if root is None or not root.is_dir():
        raise InputError(f"cases directory {root} does not exist", hint="pass --cases DIR")
    cases: list[EvalCase] = []
    for path in sorted(root.rglob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid TOML ({exc})") from None
        for raw in data.get("cases", []):
            cases.append(_case(raw, path.name))
    if not cases:
        raise InputError(f"no cases found in {root} (expected *.toml files with [[cases]] tables)")
    ids = [c.id for c in cases]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"duplicate case ids: {', '.join(duplicates[:5])}")
    return sorted(cases, key=lambda c: c.id)
