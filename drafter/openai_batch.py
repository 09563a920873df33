"""``drafter batch --openai-batch``: the first drafts go through OpenAI's Batch API (upload the
requests, create the batch, poll, download), then every answer goes through the guard loop like a
live draft. The batch id is kept in ``OUT.batch.json`` so that a rerun polls the same batch."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from typing import Any

from .batch import BatchJob, say
from .batch_input import BatchItem
from .draft_pool import DraftPool
from .drafting import DraftRun
from .errors import DrafterError, InputError, ModelError
from .evaluation.progress import Progress

MAX_BATCH_REQUESTS = 50_000          # the Batch API's limit per batch

class OpenAIBatchRun:
    """One pass of ``--openai-batch``: submit (or find) the batch, poll it, guard its answers."""

    def __init__(self, job: BatchJob, batch_id: str | None, poll_interval: float, wait: bool) -> None:
        self.job, self.batch_id, self.poll_interval, self.wait = job, batch_id, poll_interval, wait
        self.client = job.drafter._model_client()

    def run(self) -> None:
        job = self.job
        prepared: dict[str, tuple[BatchItem, DraftRun]] = {}
        for item in job.todo:
            if item.problem:
                job._write(item.error_record(*item.problem))
                continue
            try:
                prepared[str(item.id)] = (item, job.drafter.begin(job._request(item)))
            except DrafterError as error:
                job._write(item.error_record(type(error).__name__, error.message))
        state = self._load_state()
        if self.batch_id and (state is None or state.get("batch_id") != self.batch_id):
            state = {"batch_id": self.batch_id, "ids": None}
            self._save_state(state)
        if state is None:
            if not prepared:
                return
            state = self._submit(prepared)
        batch_id = job.summary.batch_id = str(state["batch_id"])
        info = self._poll(batch_id, len(prepared))
        if not info.done:
            say(f"batch {batch_id} is {info.status} ({info.completed + info.failed}/{info.total}); "
                "rerun the same command to collect it")
            return
        if info.status == "failed":
            self.job.state_path.unlink(missing_ok=True)
            raise ModelError(f"batch {batch_id} failed: {'; '.join(info.errors) or 'no reason given'}",
                             reason="batch", hint="fix the cause and rerun: a new batch is created")
        answers = self._download(info)
        ids = state.get("ids")
        covered = [k for k in prepared if (k in ids if isinstance(ids, list) else k in answers)]
        self._guard_answers([prepared[k] for k in covered], answers, info)
        self.job.state_path.unlink(missing_ok=True)
        if len(covered) < len(prepared):
            say(f"{len(prepared) - len(covered)} message(s) were not in batch {batch_id}: rerun the same "
                "command to send them in a new batch")

    # -- the state file: which batch holds which ids -------------------------------------------

    def _load_state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.job.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise InputError(f"{self.job.state_path}: unreadable batch state",
                             hint="pass --batch-id ID, or remove the file to create a new batch") from None
        if not isinstance(state, dict) or not isinstance(state.get("batch_id"), str):
            raise InputError(f"{self.job.state_path}: no batch id in the batch state",
                             hint="pass --batch-id ID, or remove the file to create a new batch")
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.job.state_path
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         delete=False) as tmp:
            json.dump(state, tmp, ensure_ascii=False)
        os.replace(tmp.name, path)

    # -- submit, poll, download ----------------------------------------------------------------

    def _submit(self, prepared: dict[str, tuple[BatchItem, DraftRun]]) -> dict[str, Any]:
        if len(prepared) > MAX_BATCH_REQUESTS:
            raise InputError(f"{len(prepared)} messages to send; the Batch API takes at most "
                             f"{MAX_BATCH_REQUESTS} per batch", hint="split the input file")
        lines = (json.dumps(self.client.batch_request(k, run.messages), ensure_ascii=False) + "\n"
                 for k, (_, run) in prepared.items())
        file_id = self.client.upload_batch_file("".join(lines).encode("utf-8"),
                                                f"{self.job.output_path.stem}-requests.jsonl")
        info = self.client.create_batch(file_id, metadata={"drafter_output": self.job.output_path.name[:500]})
        state = {"batch_id": info.id, "input_file_id": file_id, "ids": list(prepared),
                 "model": self.job.drafter.settings.model, "created_at": int(time.time())}
        self._save_state(state)
        say(f"batch {info.id} created for {len(prepared)} message(s); its id is in {self.job.state_path}")
        return state

    def _poll(self, batch_id: str, expected: int) -> Any:
        bar: Progress | None = None
        last = None
        try:
            while True:
                info = self.client.retrieve_batch(batch_id)
                if bar is None:
                    bar = Progress(info.total or expected, "batch", enabled=self.job.progress)
                if info.status != last:
                    if bar.enabled and last is not None:
                        sys.stderr.write("\n")
                    say(f"batch {batch_id}: {info.status} ({info.completed + info.failed}/{info.total})")
                    last = info.status
                bar.advance(max(0, info.completed + info.failed - bar.done))
                if info.done or not self.wait:
                    return info
                time.sleep(self.poll_interval)
        finally:
            if bar is not None:
                bar.close()

    def _download(self, info: Any) -> dict[str, dict[str, Any]]:
        """custom_id → output line; an answer in the output file wins over one in the error file."""
        answers: dict[str, dict[str, Any]] = {}
        for file_id in (info.output_file_id, info.error_file_id):
            if not file_id:
                continue
            for raw in self.client.file_content(file_id).decode("utf-8", "replace").splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
                    answers.setdefault(line["custom_id"], line)
        return answers

    # -- the guard over the answers ------------------------------------------------------------

    def _guard_answers(self, batch: list[tuple[BatchItem, DraftRun]], answers: dict[str, dict[str, Any]],
                       info: Any) -> None:
        """Each answer is the guard loop's first completion; the loops that want more are revised live."""
        from .model_client import batch_answer

        job = self.job
        to_revise: list[tuple[BatchItem, DraftRun]] = []
        for item, run in batch:
            line = answers.get(str(item.id))
            if line is None:
                job._write(item.error_record("BatchError", f"batch {info.id} ({info.status}) holds no "
                                             "answer for this id; a rerun sends it again"))
                continue
            run.started = time.monotonic()
            try:
                try:
                    run.received(batch_answer(line, run.usage))
                except ModelError as error:
                    run.failed(error)
                if run.wants_model():
                    to_revise.append((item, run))
                else:
                    job._write(job._record(item, run.finish()))
            except DrafterError as error:
                job._write(item.error_record(type(error).__name__, error.message))
        if to_revise:
            say(f"{len(to_revise)} answer(s) broke a hard rule or failed: revising through live calls")
            asyncio.run(self._revise(to_revise))

    async def _revise(self, to_revise: list[tuple[BatchItem, DraftRun]]) -> None:
        job = self.job
        bar = Progress(len(to_revise), "revising", enabled=job.progress)

        async def revise(pair: tuple[BatchItem, DraftRun]) -> None:
            item, run = pair
            try:
                record = job._record(item, await pool.resume(run))
            except DrafterError as error:
                record = item.error_record(type(error).__name__, error.message)
            job._write(record)
            bar.advance()

        try:
            async with DraftPool(job.drafter, job.concurrency) as pool:
                await pool.map(to_revise, revise)
        finally:
            bar.close()
