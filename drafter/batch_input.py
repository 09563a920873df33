"""Reading a batch input file: JSONL (``{"id", "message", "context"?}``) or CSV with those columns.

Whole-file problems raise ``InputError`` before anything is drafted; a bad line becomes a
``BatchItem`` with a ``problem`` that the job writes as an error line.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

Key = str | tuple[str, int]          # an id (as text), or ("line", n) for a line that has none

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


