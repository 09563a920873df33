"""How good the tone checker is: precision and recall of each rule on hand-labelled replies
(``evals/replies``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checker import check_reply
from ..errors import InputError
from ..tone_rules import RULE_IDS


@dataclass
class RuleMetrics:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def default_replies_dir() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "evals" / "replies"


def load_labelled(folder: str | Path | None = None) -> list[dict[str, Any]]:
    root = Path(folder) if folder else default_replies_dir()
    if not root.is_dir():
        raise InputError(f"labelled replies directory {root} does not exist")
    items: list[dict[str, Any]] = []
    for path in sorted(root.glob("*.toml")):
        items += tomllib.loads(path.read_text(encoding="utf-8")).get("replies", [])
    unknown = {r for item in items for r in item["breaks"]} - set(RULE_IDS)
    if unknown:
        raise InputError(f"labelled replies use unknown rule ids: {', '.join(sorted(unknown))}")
    return items


def checker_metrics(items: list[dict[str, Any]]) -> dict[str, RuleMetrics]:
    metrics = {rule: RuleMetrics() for rule in RULE_IDS}
    for item in items:
        result = check_reply(item["reply"], message=item.get("message"), context=item.get("context"),
                             lang=item.get("lang"), channel=item.get("channel", "email"))
        got, want = result.broken(), set(item["breaks"])
        for rule in RULE_IDS:
            m = metrics[rule]
            if rule in got and rule in want:
                m.tp += 1
            elif rule in got:
                m.fp += 1
                m.false_positives.append(item["id"])
            elif rule in want:
                m.fn += 1
                m.false_negatives.append(item["id"])
    return metrics
