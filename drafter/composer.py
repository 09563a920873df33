"""The offline composer: a deterministic reply written from the analysis and the context.

It needs no model and no network. It is the embedded default when no model is configured, and the
fallback when a model's drafts keep breaking the tone rules. Its sentences live in
``prompts/reply/<language>.j2``; this module only chooses the variables.
"""

from __future__ import annotations

import re
import zlib

from .analysis import Analysis
from .context import Context
from .prompts import PromptLibrary, prompt_library

_REFUND_ASKED = re.compile(r"(?i)\b(rembours\w*|refund\w*|money back|mon argent)")


def _join_continuations(text: str) -> str:
    """Template lines that start with a space continue the previous line's paragraph."""
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(" ") and out and out[-1].strip():
            out[-1] = out[-1].rstrip() + " " + line.strip()
        else:
            out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


_SHOUTED = re.compile(r"\b[A-ZÀ-ÖØ-Þ]{3,}\b")


def _calm(fact: str | None) -> str | None:
    """A fact quoted from a message in capitals ("THREE WEEKS", "1ER AVRIL") is written in lower case."""
    if fact and _SHOUTED.search(fact):  # only durations, amounts and dates: no codes to keep in capitals
        return fact.lower()
    return fact


class OfflineComposer:
    """Writes the three steps of the method without a model."""

    name = "offline"

    def __init__(self, prompts: PromptLibrary | None = None) -> None:
        self.prompts = prompts or prompt_library()

    def variables(self, message: str, analysis: Analysis, context: Context, language: str,
                  channel: str) -> dict[str, object]:
        facts = analysis.facts
        order_id = facts.order_ids[0] if facts.order_ids else None
        duration = _calm(facts.durations[0]) if facts.durations else None
        amount = _calm(facts.amounts[0]) if facts.amounts else None
        used = {order_id, duration}
        if analysis.topic == "billing":
            used.add(amount)
        extra: list[str] = []
        limit = 4 if channel == "chat" else 6    # restate the customer's own facts, within the length bounds
        for f in (facts.order_ids[1:4] + tuple(_calm(f) for f in facts.amounts[:3] + facts.durations[1:3]
                                               + facts.dates[:3] + facts.references[:4])):
            said = {u.lower() for u in used if u} | {e.lower() for e in extra}
            if len(extra) < limit and not any(f.lower() in u for u in said):
                extra.append(f)
        return {
            "channel": channel,
            "variant": zlib.crc32(message.strip().encode("utf-8", "replace")) % 3,
            "anger": analysis.anger,
            "insulted": analysis.insulted,
            "escalate": analysis.escalate,
            "self_harm": "self_harm" in analysis.threats,
            "topic": analysis.topic,
            "customer_name": context.customer_name,
            "agent": context.agent,
            "company": context.company,
            "order_id": order_id,
            "duration": duration,
            "amount": amount,
            "extra_facts": extra,
            "allowed": sorted(context.policy.allowed),
            "response_time": context.policy.response_time,
            "refund_requested": bool(_REFUND_ASKED.search(message)),
        }

    def compose(self, message: str, analysis: Analysis, context: Context, *, language: str,
                channel: str) -> str:
        text = self.prompts.render(f"reply/{language}.j2",
                                   **self.variables(message, analysis, context, language, channel))
        return _join_continuations(text)
