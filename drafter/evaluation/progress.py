"""A one-line progress bar on stderr, drawn only on a terminal."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str, *, enabled: bool | None = None) -> None:
        self.total = max(1, total)
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self.enabled = sys.stderr.isatty() if enabled is None else enabled

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate else 0.0
        width = 24
        filled = int(width * self.done / self.total)
        sys.stderr.write(f"\r{self.label} {self.done}/{self.total} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{rate:.1f}/s, {left:.0f}s left ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
