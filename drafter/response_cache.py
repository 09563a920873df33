"""A disk cache of model completions, so that re-running an eval after a rule change costs no call.

The key is a hash of everything that shapes the answer: model, endpoint, the rendered messages,
temperature, seed, token limit and a sample number (``--repeat`` asks for distinct samples).
One JSON file per entry, written atomically; safe to share between processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .model_client import Completion
from .settings import cache_dir


def default_cache_dir() -> Path:
    return cache_dir("responses")


class ResponseCache:
    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else default_cache_dir()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(**parts: Any) -> str:
        blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
            completion = Completion(data["text"], data.get("finish_reason"), data.get("model"))
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return completion

    def put(self, key: str, completion: Completion) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
                json.dump({"text": completion.text, "finish_reason": completion.finish_reason,
                           "model": completion.model}, tmp, ensure_ascii=False)
            os.replace(tmp.name, path)
        except OSError:
            pass  # a cache that cannot be written only costs a model call next time
