"""Scoring one draft: the tone rules plus the case's own expectations. Small and pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..checker import check_reply
from ..drafting import Draft
from ..tone_rules import HARD, RULE_IDS, TONE_RULES
from .cases import EvalCase

SEVERITY = {rule.id: rule.severity for rule in TONE_RULES}
EXPECTATIONS = ("language", "insult", "escalate", "injection", "threats", "topic", "mention", "forbid")


@dataclass
class CaseScore:
    case: EvalCase
    draft: Draft | None
    rules: dict[str, bool] = field(default_factory=dict)          # rule id -> passed (only rules that apply)
    expectations: dict[str, bool] = field(default_factory=dict)   # expectation -> met
    failures: list[dict[str, Any]] = field(default_factory=list)  # what went wrong, with the words at fault
    error: str | None = None
    judge: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        """No hard rule broken, every expectation met, and no fallback (soft rules are rated separately)."""
        if self.error or (self.draft is not None and self.draft.fallback):
            return False
        hard_ok = all(ok for rule, ok in self.rules.items() if SEVERITY[rule] == HARD)
        return hard_ok and all(self.expectations.values())

    def to_dict(self) -> dict[str, Any]:
        d = self.draft
        return {
            **self.case.to_dict(), "passed": self.passed, "error": self.error,
            "reply": d.reply if d else None, "status": d.status if d else None,
            "backend": d.backend if d else None, "attempts": d.attempts if d else None,
            "fallback": d.fallback if d else None, "reasons": list(d.reasons) if d else [],
            "rules": self.rules, "expectations": self.expectations, "failures": self.failures,
            "judge": self.judge,
        }


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("\u202f", " ").replace("\xa0", " "))


def score_draft(case: EvalCase, draft: Draft) -> CaseScore:
    score = CaseScore(case, draft)
    check = check_reply(draft.reply, message=case.message, context=case.context, lang=case.lang,
                        channel=case.channel)
    broken: dict[str, list[Any]] = {}
    for v in check.violations:
        broken.setdefault(v.rule, []).append(v)
    for rule in RULE_IDS:
        if rule == "register" and case.lang != "fr":
            continue
        score.rules[rule] = rule not in broken
        for v in broken.get(rule, []):
            score.failures.append({"check": rule, "severity": v.severity, "text": v.text, "message": v.message})

    if draft.fallback:  # the model never produced a compliant draft: the agent got the offline one
        score.failures.append({"check": "fallback", "severity": "error", "text": "",
                               "message": "; ".join(draft.reasons)})
    a, e = draft.analysis, case.expect

    def expect(name: str, ok: bool, message: str) -> None:
        score.expectations[name] = ok
        if not ok:
            score.failures.append({"check": f"expect.{name}", "severity": "expect", "text": "", "message": message})

    expect("language", draft.language == case.lang, f"reply in {draft.language}, expected {case.lang}")
    if e.insult is not None:
        expect("insult", a.insulted == e.insult,
               f"insult {'missed' if e.insult else 'seen where there is none'} in the message")
    if e.escalate is not None:
        expect("escalate", draft.escalate == e.escalate, f"escalate is {draft.escalate}, expected {e.escalate}")
    if e.injection is not None:
        expect("injection", a.injection == e.injection, f"injection is {a.injection}, expected {e.injection}")
    if e.threats is not None:
        missing = sorted(set(e.threats) - set(a.threats))
        expect("threats", not missing, f"threats not seen: {', '.join(missing)}")
    if e.topic is not None:
        expect("topic", a.topic == e.topic, f"topic {a.topic}, expected {e.topic}")
    if e.mention:
        reply = _norm(draft.reply)
        absent = [m for m in e.mention if _norm(m) not in reply]
        expect("mention", not absent, f"the reply does not mention {', '.join(absent)}")
    if e.forbid:
        policy = replace(case.context.policy, allowed=case.context.policy.allowed - set(e.forbid))
        ctx = replace(case.context, policy=policy)
        made = [v for v in check_reply(draft.reply, context=ctx, lang=case.lang, rules=["overpromise"]).violations]
        expect("forbid", not made, "commits to " + "; ".join(v.text for v in made))
    return score


def failed_score(case: EvalCase, error: str) -> CaseScore:
    score = CaseScore(case, None, error=error)
    score.failures.append({"check": "error", "severity": "error", "text": "", "message": error})
    return score
