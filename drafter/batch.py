"""Batch drafting: many messages from a JSONL or CSV file, one JSON line each in an output file.

    IN ─▶ read_items ─▶ skip the ids OUT holds ─▶ draft N at a time ─▶ append + flush one line each
                                               └▶ --openai-batch: upload, create, poll, download ─▶ guard

``BatchJob.run`` drafts with bounded concurrency: async model calls on one shared client, each message
through the same guard loop as ``Drafter.adraft``. ``BatchJob.run_openai_batch`` sends the first drafts
through OpenAI's Batch API instead (half the price, no rate-limit pressure) and feeds each answer to the
guard loop as its first completion; replies that break a hard rule are revised through live calls, then
replaced by the offline draft (status ``review``), exactly as in ``drafter draft``.

OUT is the journal: a line is written and flushed as soon as its message is done, so an interrupted run
(Ctrl-C, a kill) loses only the drafts in flight. On start, the ids OUT holds are skipped; ids that
ended in error are retried (unless ``skip_errors``), and a truncated last line is dropped. The Batch API
path also keeps the batch id in ``OUT.batch.json`` so that a rerun polls the same batch.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .context import Context
from .drafting import Draft, Drafter, DraftRequest
from .errors import DrafterError, InputError, ModelError
from .evaluation.progress import Progress
from .guard import GuardLoop

Key = str | tuple[str, int]          # an id (as text), or ("line", n) for a line that has none
MAX_BATCH_REQUESTS = 50_000          # the Batch API's limit per batch


# --- reading the input -----------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchItem:
    """One input line. ``problem`` (type, message) marks a line that cannot be drafted."""

    id: str | int | None
    line: int
    message: str | None = None
    context: Any = None
    problem: tuple[str, str] | None = None

    @property
    def key(self) -> Key:
        return str(self.id) if self.id is not None else ("line", self.line)

    def error_record(self, kind: str, message: str) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id}
        if self.id is None:
            record["line"] = self.line
        record["error"] = {"type": kind, "message": message}
        return record


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and bool(value.strip())) or (isinstance(value, int)
                                                                and not isinstance(value, bool))


def _jsonl_items(text: str, origin: str) -> list[BatchItem]:
    items: list[BatchItem] = []
    usable = False
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError as exc:
            items.append(BatchItem(None, n, problem=("InputError", f"line {n} is not valid JSON ({exc})")))
            continue
        if not isinstance(data, dict):
            items.append(BatchItem(None, n, problem=("InputError", f"line {n} is not a JSON object")))
            continue
        usable = usable or ("id" in data and "message" in data)
        if not _is_id(data.get("id")):
            items.append(BatchItem(None, n, problem=("InputError", f"line {n} has no usable 'id' "
                                                     "(a non-empty string or an integer)")))
        elif not isinstance(data.get("message"), str):
            items.append(BatchItem(data["id"], n, problem=("InputError", "'message' is missing or not text")))
        else:
            items.append(BatchItem(data["id"], n, data["message"], data.get("context")))
    if items and not usable:
        raise InputError(f"{origin}: not a batch file: no line is a JSON object with 'id' and 'message'",
                         hint='expected lines like {"id": "1", "message": "..."}, or a CSV of those')
    return items


def _csv_items(text: str, origin: str) -> list[BatchItem]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in ("id", "message") if c not in header]
        if missing:
            found = ", ".join(h for h in header if h) or "none"
            raise InputError(f"{origin}: not a JSONL file, and as CSV it lacks the column(s) "
                             f"{', '.join(missing)} (found: {found[:120]})",
                             hint="the first CSV line must name id, message[, context]")
        col = {name: header.index(name) for name in ("id", "message", "context") if name in header}
        items: list[BatchItem] = []
        start = reader.line_num + 1
        for row in reader:
            n, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            cells = {name: row[i] if i < len(row) else None for name, i in col.items()}
            ident = (cells["id"] or "").strip()
            if not ident:
                items.append(BatchItem(None, n, problem=("InputError", f"line {n} has an empty id")))
            elif cells["message"] is None:
                items.append(BatchItem(ident, n, problem=("InputError", "the row has no message column")))
            else:
                items.append(_csv_context(ident, n, cells["message"], (cells.get("context") or "").strip()))
    except csv.Error as exc:
        raise InputError(f"{origin}: not valid CSV ({exc})") from None
    return items


def _csv_context(ident: str, n: int, message: str, raw: str) -> BatchItem:
    if not raw:
        return BatchItem(ident, n, message)
    try:
        context = json.loads(raw)
    except ValueError:
        return BatchItem(ident, n, problem=("ContextError", "the context column is not valid JSON"))
    return BatchItem(ident, n, message, context)


def read_items(path: str | Path) -> list[BatchItem]:
    """Every line of a JSONL or CSV batch file. Raises ``InputError`` when the file as a whole is
    unusable (unreadable, neither format, no id/message columns, duplicate ids); a bad line becomes
    an item with a ``problem`` instead."""
    origin = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{origin}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{origin}: is a directory, expected a JSONL or CSV file") from None
    except UnicodeDecodeError:
        raise InputError(f"{origin}: not valid UTF-8", hint="convert it with iconv -t UTF-8") from None
    except OSError as exc:
        raise InputError(f"{origin}: cannot be read ({exc.strerror})") from None
    suffix = Path(path).suffix.lower()
    if "\x00" in text:
        raise InputError(f"{origin}: a binary file, expected JSONL or CSV")
    if suffix in (".jsonl", ".ndjson", ".json") or (suffix != ".csv" and text.lstrip().startswith("{")):
        items = _jsonl_items(text, origin)
    else:
        items = _csv_items(text, origin)
    if not items:
        raise InputError(f"{origin}: holds no messages")
    seen: set[Key] = set()
    duplicates: set[str] = set()
    for item in items:
        if item.id is not None and item.key in seen:
            duplicates.add(str(item.id))
        seen.add(item.key)
    if duplicates:
        raise InputError(f"{origin}: duplicate id(s) {', '.join(sorted(duplicates)[:5])}"
                         f"{' …' if len(duplicates) > 5 else ''}", hint="every id must be unique")
    return items


# --- the output journal ----------------------------------------------------------------------------

def _record_key(record: dict[str, Any]) -> Key | None:
    ident = record.get("id")
    if _is_id(ident):
        return str(ident)
    line = record.get("line")
    return ("line", line) if ident is None and isinstance(line, int) else None


class OutputJournal:
    """OUT: one JSON line per input, appended and flushed as each finishes, read back to resume."""

    def __init__(self, path: str | Path, *, retry_errors: bool = True) -> None:
        self.path = Path(path)
        self.retry_errors = retry_errors
        self._file: io.TextIOWrapper | None = None

    def load(self) -> set[Key]:
        """The keys already finished. Drops (by an atomic rewrite) a truncated last line, duplicates
        and, when retrying, the error lines; refuses a file that is not a batch output."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return set()
        except IsADirectoryError:
            raise InputError(f"{self.path}: is a directory, expected the output JSONL file") from None
        except OSError as exc:
            raise InputError(f"{self.path}: cannot be read ({exc.strerror})") from None
        lines = data.split(b"\n")
        kept: dict[Key, bytes] = {}
        changed = not data.endswith(b"\n") and bool(data)
        for n, raw in enumerate(lines, 1):
            if not raw.strip():
                changed = changed or bool(raw)
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = None
            is_result = isinstance(record, dict) and ("error" in record or "reply" in record)
            key = _record_key(record) if is_result else None
            if key is None:
                if n == len(lines):          # cut off mid-write: that message is drafted again
                    changed = True
                    continue
                raise InputError(f"{self.path}: line {n} is not a batch result; refusing to append to it",
                                 hint="choose another -o, or remove the file")
            failed = "error" in record
            if (failed and self.retry_errors) or (key in kept and failed):
                changed = True
                continue
            changed = changed or key in kept
            kept[key] = raw
        if changed:
            self._rewrite(kept.values())
        return set(kept)

    def _rewrite(self, lines: Iterable[bytes]) -> None:
        folder = self.path.parent
        with tempfile.NamedTemporaryFile("wb", dir=folder, prefix=f".{self.path.name}.", delete=False) as tmp:
            for raw in lines:
                tmp.write(raw.rstrip(b"\r") + b"\n")
        os.replace(tmp.name, self.path)

    def open(self) -> None:
        try:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise InputError(f"{self.path}: cannot be written ({exc.strerror})") from None

    def write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


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


@dataclass
class _Prepared:
    item: BatchItem
    loop: GuardLoop
    notices: list[str]
    started: float


class _LiveCalls:
    """Model calls for a whole job on one shared async client, at most ``limit`` in flight.

    ``Drafter.adraft`` builds a client per call, whose TLS context alone costs ~20 ms of CPU on the
    event loop; here it is built once. Only the calls hold the gate: a draft's own work (analysis,
    prompts, checks) runs outside it, while other drafts wait on the network."""

    def __init__(self, drafter: Drafter, limit: int) -> None:
        self.drafter, self.limit = drafter, limit
        self.client = drafter._model_client()

    async def __aenter__(self) -> _LiveCalls:
        self.session = self.client.open_async()
        self.gate = asyncio.Semaphore(self.limit)
        self.warm = _warm_up_checks()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close_async(self.session)

    async def guard(self, p: _Prepared, usage: Any) -> None:
        """Drive ``p``'s guard loop to its end: draft, check, revise (the model's part of ``adraft``)."""
        from .model_client import Deadline

        deadline = None
        while p.loop.wants_model():
            try:
                async with self.gate:
                    deadline = deadline or Deadline(self.drafter.settings.timeout)
                    completion = await self.client.acomplete_on(self.session, p.loop.messages,
                                                                deadline=deadline, usage=usage)
            except ModelError as error:
                p.loop.failed(error)
            else:
                await asyncio.sleep(0)          # the next call goes out before this reply is checked
                if not self.warm.is_set():
                    await asyncio.to_thread(self.warm.wait)
                p.loop.received(completion)

    async def each(self, items: Iterable[Any], work: Any) -> None:
        """``await work(item)`` for every item; at most 2 × limit started and unfinished (bounded memory,
        and the next drafts are prepared while the current ones wait on the network)."""
        ahead = asyncio.Semaphore(2 * self.limit)
        tasks: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []   # a bug (not a DrafterError): stop starting new drafts

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            if not task.cancelled() and task.exception() is not None:
                failures.append(task.exception())  # type: ignore[arg-type]

        async def run(item: Any) -> None:
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


def _warm_up_checks() -> threading.Event:
    """Compile the tone rules (~0.4 s of CPU, once per process) in a thread while the first requests are
    in flight, rather than on the event loop when the first replies come back."""
    from .checker import check_reply

    done = threading.Event()

    def work() -> None:
        try:
            check_reply("Bonjour, merci. Hello, thank you.")
        finally:
            done.set()

    threading.Thread(target=work, name="drafter-warm-up", daemon=True).start()
    return done


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

    def _prepare(self, item: BatchItem) -> _Prepared:
        started = time.monotonic()
        request, message, notices = self.drafter._prepare(self._request(item))
        return _Prepared(item, self.drafter._loop(request, message), notices, started)

    def _finish(self, p: _Prepared, usage: Any) -> dict[str, Any]:
        draft: Draft = self.drafter._finish(p.loop, p.loop.result(), p.started, p.notices,
                                            usage.to_dict() if usage is not None else None)
        return {"id": p.item.id, **draft.to_dict()}

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
            p = self._prepare(item)
            return {"id": item.id, **self.drafter._finish(p.loop, p.loop.offline(fallback=False), p.started,
                                                          p.notices, None).to_dict()}
        except DrafterError as error:
            return item.error_record(type(error).__name__, error.message)

    async def _run_async(self, bar: Progress) -> None:
        async with _LiveCalls(self.drafter, self.concurrency) as calls:
            async def work(item: BatchItem) -> None:
                self._write(await self._draft_live(calls, item))
                bar.advance()

            await calls.each(self.todo, work)

    async def _draft_live(self, calls: _LiveCalls, item: BatchItem) -> dict[str, Any]:
        """``Drafter.adraft``, on the job's shared client."""
        from .model_client import Usage

        if item.problem:
            return item.error_record(*item.problem)
        try:
            p = self._prepare(item)
            usage = Usage()
            await calls.guard(p, usage)
            return self._finish(p, usage)
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
            _OpenAIBatch(self, batch_id, poll_interval, wait).run()
        finally:
            self.journal.close()
        return self.summary


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class _OpenAIBatch:
    """One pass of ``--openai-batch``: submit (or find) the batch, poll it, guard its answers."""

    def __init__(self, job: BatchJob, batch_id: str | None, poll_interval: float, wait: bool) -> None:
        self.job, self.batch_id, self.poll_interval, self.wait = job, batch_id, poll_interval, wait
        self.client = job.drafter._model_client()

    def run(self) -> None:
        job = self.job
        prepared: dict[str, _Prepared] = {}
        for item in job.todo:
            if item.problem:
                job._write(item.error_record(*item.problem))
                continue
            try:
                prepared[str(item.id)] = job._prepare(item)
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

    def _submit(self, prepared: dict[str, _Prepared]) -> dict[str, Any]:
        if len(prepared) > MAX_BATCH_REQUESTS:
            raise InputError(f"{len(prepared)} messages to send; the Batch API takes at most "
                             f"{MAX_BATCH_REQUESTS} per batch", hint="split the input file")
        lines = (json.dumps(self.client.batch_request(k, p.loop.messages), ensure_ascii=False) + "\n"
                 for k, p in prepared.items())
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

    def _guard_answers(self, batch: list[_Prepared], answers: dict[str, dict[str, Any]], info: Any) -> None:
        """Each answer is the guard loop's first completion; the loops that want more are revised live."""
        from .model_client import Usage, batch_answer

        job = self.job
        to_revise: list[tuple[_Prepared, Any]] = []
        for p in batch:
            line = answers.get(str(p.item.id))
            if line is None:
                job._write(p.item.error_record("BatchError", f"batch {info.id} ({info.status}) holds no "
                                               "answer for this id; a rerun sends it again"))
                continue
            p.started, usage = time.monotonic(), Usage()
            try:
                try:
                    p.loop.received(batch_answer(line, usage))
                except ModelError as error:
                    p.loop.failed(error)
                if p.loop.wants_model():
                    to_revise.append((p, usage))
                else:
                    job._write(job._finish(p, usage))
            except DrafterError as error:
                job._write(p.item.error_record(type(error).__name__, error.message))
        if to_revise:
            say(f"{len(to_revise)} answer(s) broke a hard rule or failed: revising through live calls")
            asyncio.run(self._revise(to_revise))

    async def _revise(self, to_revise: list[tuple[_Prepared, Any]]) -> None:
        job = self.job
        bar = Progress(len(to_revise), "revising", enabled=job.progress)

        async def revise(pair: tuple[_Prepared, Any]) -> None:
            p, usage = pair
            try:
                await calls.guard(p, usage)
                record = job._finish(p, usage)
            except DrafterError as error:
                record = p.item.error_record(type(error).__name__, error.message)
            job._write(record)
            bar.advance()

        try:
            async with _LiveCalls(job.drafter, job.concurrency) as calls:
                await calls.each(to_revise, revise)
        finally:
            bar.close()
