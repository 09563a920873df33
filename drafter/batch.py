"""Batch drafting: many messages from a JSONL or CSV file, one JSON line each in an output file.

    IN ─▶ read_items ─▶ skip the ids OUT holds ─▶ draft N at a time ─▶ append + flush one line each
                                               └▶ --openai-batch: upload, create, poll, download ─▶ guard

``BatchJob.run`` drafts with bounded concurrency through a ``DraftPool`` (async model calls on one
shared client, each message through the same guard loop as ``Drafter.adraft``).
``BatchJob.run_openai_batch`` sends the first drafts through OpenAI's Batch API instead (half the price,
no rate-limit pressure) and feeds each answer to the guard loop as its first completion; replies that
break a hard rule are revised through live calls, then replaced by the offline draft (status
``review``), exactly as in ``drafter draft``.

OUT is the journal: a line is written and flushed as soon as its message is done, so an interrupted run
(Ctrl-C, a kill) loses only the drafts in flight. On start, the ids OUT holds are skipped; ids that
ended in error are retried (unless ``skip_errors``), and a truncated last line is dropped. The Batch API
path also keeps the batch id in ``OUT.batch.json`` so that a rerun polls the same batch.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .batch_input import BatchItem, read_items
from .batch_output import OutputJournal
from .context import Context
from .draft_pool import DraftPool
from .drafting import Draft, Drafter, DraftRequest
from .errors import DrafterError, InputError
from .evaluation.progress import Progress

# --- the job ---------------------------------------------------------------------------------------

@dataclass
class BatchSummary:
    total: int = 0          # input lines
    skipped: int = 0        # already in OUT
    written: int = 0        # lines written by this run
    ok: int = 0
    review: int = 0
    errors: int = 0
    left: int = 0           # still to draft (interrupted, or a batch not finished)
    started: float = field(default_factory=time.monotonic)
    batch_id: str | None = None

    def count(self, record: dict[str, Any]) -> None:
        self.written += 1
        self.left = max(0, self.left - 1)
        if "error" in record:
            self.errors += 1
        elif record.get("status") == "ok":
            self.ok += 1
        else:
            self.review += 1

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"{self.written} written ({self.ok} ok, {self.review} review, {self.errors} error(s))",
                 f"{self.skipped} skipped (already in the output)"]
        if self.left:
            parts.append(f"{self.left} left")
        return f"batch: {', '.join(parts)}, {elapsed:.1f} s"


class BatchJob:
    """Drafts every message of ``input_path`` into ``output_path``; see the module docstring."""

    def __init__(self, drafter: Drafter, input_path: str | Path, output_path: str | Path, *,
                 concurrency: int = 8, skip_errors: bool = False, lang: str | None = None,
                 channel: str | None = None, progress: bool | None = None) -> None:
        self.drafter = drafter
        self.input_path, self.output_path = Path(input_path), Path(output_path)
        self.concurrency = max(1, concurrency)
        self.lang, self.channel, self.progress = lang, channel, progress
        self.journal = OutputJournal(output_path, retry_errors=not skip_errors)
        self.summary = BatchSummary()
        self.todo: list[BatchItem] = []

    def load(self) -> None:
        """Read IN and OUT; every whole-file problem is raised here, before any drafting."""
        if self.input_path.resolve() == self.output_path.resolve():
            raise InputError("the output file must not be the input file")
        if not self.output_path.parent.is_dir():
            raise InputError(f"{self.output_path.parent}: no such directory for the output file")
        items = read_items(self.input_path)
        finished = self.journal.load()
        self.todo = [i for i in items if i.key not in finished]
        self.summary.total, self.summary.skipped = len(items), len(items) - len(self.todo)
        self.summary.left = len(self.todo)

    def _write(self, record: dict[str, Any]) -> None:
        self.journal.write(record)
        self.summary.count(record)

    def _request(self, item: BatchItem) -> DraftRequest:
        context = item.context if item.context is not None else Context()
        return DraftRequest(item.message or "", context, self.lang, self.channel)

    def _record(self, item: BatchItem, draft: Draft) -> dict[str, Any]:
        return {"id": item.id, **draft.to_dict()}

    # -- live drafting, N at a time ---------------------------------------------------------------

    def run(self) -> BatchSummary:
        """Draft every pending message with at most ``concurrency`` at once."""
        self.journal.open()
        bar = Progress(len(self.todo), "batch", enabled=self.progress)
        try:
            if not self.todo:
                pass
            elif self.drafter.offline:
                for item in self.todo:
                    self._write(self._offline(item))
                    bar.advance()
            else:
                asyncio.run(self._run_async(bar))
        finally:
            bar.close()
            self.journal.close()
        return self.summary

    def _offline(self, item: BatchItem) -> dict[str, Any]:
        if item.problem:
            return item.error_record(*item.problem)
        try:
            return self._record(item, self.drafter.draft(self._request(item)))
        except DrafterError as error:
            return item.error_record(type(error).__name__, error.message)

    async def _run_async(self, bar: Progress) -> None:
        async with DraftPool(self.drafter, self.concurrency) as pool:
            async def work(item: BatchItem) -> None:
                self._write(await self._draft_live(pool, item))
                bar.advance()

            await pool.map(self.todo, work)

    async def _draft_live(self, pool: DraftPool, item: BatchItem) -> dict[str, Any]:
        if item.problem:
            return item.error_record(*item.problem)
        try:
            return self._record(item, await pool.draft(self._request(item)))
        except DrafterError as error:
            return item.error_record(type(error).__name__, error.message)

    # -- OpenAI's Batch API ---------------------------------------------------------------------

    @property
    def state_path(self) -> Path:
        return self.output_path.with_name(self.output_path.name + ".batch.json")

    def run_openai_batch(self, *, batch_id: str | None = None, poll_interval: float = 30.0,
                         wait: bool = True) -> BatchSummary:
        """First drafts through the Batch API, then the guard (live revisions, offline fallback)."""
        self.journal.open()
        try:
            from .openai_batch import OpenAIBatchRun  # the Batch API path loads only when asked for

            OpenAIBatchRun(self, batch_id, poll_interval, wait).run()
        finally:
            self.journal.close()
        return self.summary


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


