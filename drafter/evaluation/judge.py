"""An optional LLM-as-judge: a model grades each draft from 1 to 5 on five criteria.

Reported beside the tone rules, never the only gate: judges drift, rules do not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..drafting import Drafter
from ..errors import ModelError

CRITERIA = ("recognition", "calm", "limit", "specificity", "next_step")
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_verdict(text: str) -> dict[str, Any] | None:
    """The scores from the judge's answer, or None when it is not a usable JSON object."""
    match = _OBJECT.search(text or "")
    if not match:
        return None
    try:
        data = json.loads(match.group())
    except ValueError:
        return None
    scores: dict[str, Any] = {}
    for criterion in CRITERIA:
        value = data.get(criterion)
        if not isinstance(value, (int, float)) or not 1 <= value <= 5:
            return None
        scores[criterion] = float(value)
    scores["comment"] = str(data.get("comment", ""))[:300]
    return scores


async def judge_draft(drafter: Drafter, message: str, reply: str, language: str, *,
                      complete: Callable[..., Awaitable[Any]] | None = None) -> dict[str, Any]:
    """The judge's scores for one reply, or ``{"error": ...}``. ``complete``: the call to use
    (default ``drafter.acomplete``; an eval passes its ``DraftPool.complete``)."""
    content = drafter.prompts.render(f"judge/{language}.j2", message=message, reply=reply, language=language)
    try:
        completion = await (complete or drafter.acomplete)([{"role": "user", "content": content}])
    except ModelError as error:
        return {"error": error.message}
    verdict = parse_verdict(completion.text)
    return verdict if verdict else {"error": "the judge's answer was not the expected JSON"}
