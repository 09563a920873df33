"""Many drafts at once on one event loop: what ``drafter batch`` and ``drafter eval`` run on.

    async with DraftPool(drafter, limit=8) as pool:
        drafts = [await pool.draft(r) for r in requests]          # or: await pool.map(items, work)

At most ``limit`` model calls are in flight, on the event loop's one shared client (``Drafter.acomplete``,
so the response cache applies). Only the calls hold a slot: a draft's own work (analysis, prompts, the
tone rules) runs outside it, while other drafts wait on the network. Two things keep the slots busy:

- ``map`` prepares the next drafts (up to ``limit`` more) while the current ones wait on the model;
- a reply is checked only after the call waiting for its slot has gone out, and after the other
  replies that came back together have been read: replies come back in waves (the calls went out
  together), and checking one (~1 ms; tens of ms for the first ones of a process, whose words' patterns
  compile then) would otherwise hold up the calls behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from .drafting import Draft, Drafter, DraftRequest, DraftRun

T = TypeVar("T")

# Turns of the event loop a reply waits before it is checked: the call waiting for its slot needs ~3
# to reach the socket (openai and httpx await a few times on the way); the rest read the replies that
# came back at the same moment. Measured with benchmarks/bench_batch.py at concurrency 8 (a wave of
# calls every 200 ms + overhead): 1 turn, 210 ms per wave; 3 to 8 turns, 206 ms; a bare openai client,
# 204 ms. A turn with nothing to do costs microseconds.
TURNS_BEFORE_CHECK = 8


class DraftPool:
    """Drafts with at most ``limit`` model calls in flight; see the module docstring."""

    def __init__(self, drafter: Drafter, limit: int = 8) -> None:
        self.drafter = drafter
        self.limit = max(1, limit)
        self._gate: asyncio.Semaphore | None = None

    async def __aenter__(self) -> DraftPool:
        self._gate = asyncio.Semaphore(self.limit)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drafter.aclose()

    async def draft(self, request: DraftRequest | str, *, sample: int = 0) -> Draft:
        """``Drafter.adraft`` within the pool's limit. Raises ``InputError`` for an unusable message."""
        run = self.drafter.begin(request)
        if self.drafter.offline:
            return run.offline()
        return await self.resume(run, sample=sample)

    async def resume(self, run: DraftRun, *, sample: int = 0) -> Draft:
        """Drive a ``DraftRun`` (fresh, or fed its first completion already) to its ``Draft``."""
        return await run.drive(self.complete, sample=sample)

    async def complete(self, messages: list[dict[str, str]], *, sample: int = 0, deadline: Any = None,
                       usage: Any = None) -> Any:
        """One model call (``Drafter.acomplete``) in a free slot. Raises ``ModelError``."""
        if self._gate is None:
            raise RuntimeError("use DraftPool as `async with DraftPool(...) as pool`")
        async with self._gate:
            completion = await self.drafter.acomplete(messages, sample=sample, deadline=deadline, usage=usage)
        for _ in range(TURNS_BEFORE_CHECK):     # the caller checks the reply when this returns
            await asyncio.sleep(0)
        return completion

    async def map(self, items: Iterable[T], work: Callable[[T], Awaitable[None]]) -> None:
        """``await work(item)`` for every item, as tasks; at most ``2 × limit`` started and unfinished
        (bounded memory, and the next drafts are prepared while the current ones wait on the model).
        An exception other than a ``DrafterError`` inside ``work`` is a bug: no new item starts, and
        it is raised once the started ones are done."""
        ahead = asyncio.Semaphore(2 * self.limit)
        tasks: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]

        async def run(item: T) -> None:
            try:
                await work(item)
            finally:
                ahead.release()

        for item in items:
            await ahead.acquire()
            if failures:
                break
            task = asyncio.create_task(run(item))
            tasks.add(task)
            task.add_done_callback(finished)
        await asyncio.gather(*list(tasks), return_exceptions=True)
        if failures:
            raise failures[0]
