"""The batch output file as a journal: one JSON line per finished message, flushed at once, read
back on start so that a rerun skips what is done (a truncated last line is dropped)."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .batch_input import Key, _is_id
from .errors import InputError

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


