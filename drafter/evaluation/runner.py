"""Running the drafter over the cases: offline in-process, or through a model with bounded,
async concurrency (a ``DraftPool``); each case ``repeat`` times."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..draft_pool import DraftPool
from ..drafting import Drafter, DraftRequest
from ..errors import DrafterError
from .cases import EvalCase
from .judge import judge_draft
from .progress import Progress
from .scoring import CaseScore, failed_score, score_draft


@dataclass
class EvalRun:
    scores: list[tuple[int, CaseScore]] = field(default_factory=list)   # (sample, score)
    elapsed_s: float = 0.0
    backend: str = "offline"
    model: str | None = None
    repeat: int = 1
    cache: dict[str, int] | None = None
    usage: dict[str, int] = field(default_factory=dict)


def _request(case: EvalCase) -> DraftRequest:
    return DraftRequest(case.message, case.context, None, case.channel)


def _score(case: EvalCase, draft_or_error: Any) -> CaseScore:
    if isinstance(draft_or_error, BaseException):
        return failed_score(case, str(draft_or_error))
    return score_draft(case, draft_or_error)


def run_eval(cases: list[EvalCase], drafter: Drafter, *, repeat: int = 1, concurrency: int = 8,
             judge: bool = False, progress: bool | None = None) -> EvalRun:
    """Draft and score every case ``repeat`` times."""
    started = time.monotonic()
    bar = Progress(len(cases) * repeat, "eval", enabled=progress)
    run = EvalRun(backend="offline" if drafter.offline else "openai",
                  model=None if drafter.offline else drafter.settings.model, repeat=repeat)
    try:
        if drafter.offline:
            for sample in range(repeat):
                for case in cases:
                    try:
                        result: Any = drafter.draft(_request(case))
                    except DrafterError as error:
                        result = error
                    run.scores.append((sample, _score(case, result)))
                    bar.advance()
        else:
            run.scores = asyncio.run(_run_async(cases, drafter, repeat, concurrency, judge, bar))
    finally:
        bar.close()
    run.elapsed_s = round(time.monotonic() - started, 3)
    if drafter.cache is not None:
        run.cache = {"hits": drafter.cache.hits, "misses": drafter.cache.misses}
    usage: dict[str, int] = {}
    for _, score in run.scores:
        for k, v in ((score.draft.usage or {}) if score.draft else {}).items():
            usage[k] = usage.get(k, 0) + v
    run.usage = usage
    return run


async def _run_async(cases: list[EvalCase], drafter: Drafter, repeat: int, concurrency: int, judge: bool,
                     bar: Progress) -> list[tuple[int, CaseScore]]:
    jobs = [(sample, case) for sample in range(repeat) for case in cases]
    scores: list[tuple[int, CaseScore] | None] = [None] * len(jobs)

    async with DraftPool(drafter, concurrency) as pool:
        async def one(index: int) -> None:
            sample, case = jobs[index]
            try:
                result: Any = await pool.draft(_request(case), sample=sample)
            except DrafterError as error:
                result = error
            score = _score(case, result)
            if judge and score.draft is not None:
                score.judge = await judge_draft(drafter, case.message, score.draft.reply, score.draft.language,
                                                complete=pool.complete)
            scores[index] = (sample, score)
            bar.advance()

        await pool.map(range(len(jobs)), one)
    return [s for s in scores if s is not None]
