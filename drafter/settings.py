"""Configuration, resolved once: argument > environment > default.

Environment variables read (and nothing else is):

- ``OPENAI_API_KEY``      key for the model server; with none and no base URL, drafter stays offline
- ``OPENAI_BASE_URL``     any OpenAI-compatible endpoint (Ollama, llama.cpp's server, vLLM, Azure)
- ``DRAFTER_MODEL``       model name sent to the server (default ``gpt-4o-mini``)
- ``DRAFTER_PROMPTS_DIR`` a directory whose templates override the shipped ones, by name
- ``DRAFTER_TIMEOUT``     overall deadline in seconds for one draft, retries included (default 60)
- ``DRAFTER_MAX_ATTEMPTS``model drafts per request, revisions included, before the offline fallback (3)
- ``DRAFTER_MAX_TOKENS``  longest reply the model may write, in tokens (default 600)
- ``DRAFTER_MAX_CHARS``   longest message accepted, in characters (default 20000)
- ``DRAFTER_ON_TOO_LONG`` ``truncate`` (default: keep the head, say so on stderr) or ``refuse`` (exit 2)
- ``DRAFTER_DEBUG``       ``1`` prints tracebacks in the CLI
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from .constants import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIMEOUT,
    LOCAL_API_KEY,
)
from .errors import InputError

TOO_LONG_POLICIES = ("truncate", "refuse")


def cache_dir(*parts: str) -> Path:
    """Where drafter keeps what it can rebuild (``$XDG_CACHE_HOME/drafter/…``, else ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "drafter", *parts)


@dataclass(frozen=True)
class Settings:
    """Everything that shapes how drafts are produced, resolved once and then read only."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    prompts_dir: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_chars: int = DEFAULT_MAX_CHARS
    on_too_long: str = "truncate"
    temperature: float = DEFAULT_TEMPERATURE
    seed: int | None = None
    max_tokens: int = DEFAULT_MAX_TOKENS
    force_offline: bool = False

    @property
    def offline(self) -> bool:
        """True when no model is configured (or offline was asked for)."""
        return self.force_offline or (not self.api_key and not self.base_url)

    @property
    def effective_api_key(self) -> str:
        """Local servers need no key, but the client insists on one."""
        return self.api_key or LOCAL_API_KEY

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _number(name: str, raw: str, kind: type, minimum: float) -> float | int:
    try:
        value = kind(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {raw}")
    return value


def resolve_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    max_attempts: int | None = None,
    max_chars: int | None = None,
    on_too_long: str | None = None,
    temperature: float | None = None,
    seed: int | None = None,
    max_tokens: int | None = None,
    offline: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge arguments over the environment over the defaults; validate once."""
    env = os.environ if environ is None else environ

    def pick(arg: object, var: str) -> str | None:
        if arg is not None:
            return str(arg)
        value = env.get(var, "").strip()
        return value or None

    raw_timeout = pick(timeout, "DRAFTER_TIMEOUT")
    raw_attempts = pick(max_attempts, "DRAFTER_MAX_ATTEMPTS")
    raw_chars = pick(max_chars, "DRAFTER_MAX_CHARS")
    raw_tokens = pick(max_tokens, "DRAFTER_MAX_TOKENS")
    policy = pick(on_too_long, "DRAFTER_ON_TOO_LONG") or "truncate"
    if policy not in TOO_LONG_POLICIES:
        raise InputError(f"DRAFTER_ON_TOO_LONG must be one of {', '.join(TOO_LONG_POLICIES)}, got {policy!r}")
    if temperature is not None and not 0 <= temperature <= 2:
        raise InputError(f"--temperature must be between 0 and 2, got {temperature}")
    folder = pick(prompts_dir, "DRAFTER_PROMPTS_DIR")
    return Settings(
        api_key=pick(api_key, "OPENAI_API_KEY"),
        base_url=pick(base_url, "OPENAI_BASE_URL"),
        model=pick(model, "DRAFTER_MODEL") or DEFAULT_MODEL,
        prompts_dir=Path(folder) if folder else None,
        timeout=float(_number("DRAFTER_TIMEOUT", raw_timeout, float, 0.1)) if raw_timeout else DEFAULT_TIMEOUT,
        max_attempts=int(_number("DRAFTER_MAX_ATTEMPTS", raw_attempts, int, 1)) if raw_attempts
        else DEFAULT_MAX_ATTEMPTS,
        max_chars=int(_number("DRAFTER_MAX_CHARS", raw_chars, int, 1)) if raw_chars else DEFAULT_MAX_CHARS,
        on_too_long=policy,
        temperature=DEFAULT_TEMPERATURE if temperature is None else float(temperature),
        seed=seed,
        max_tokens=int(_number("DRAFTER_MAX_TOKENS", raw_tokens, int, 16)) if raw_tokens else DEFAULT_MAX_TOKENS,
        force_offline=bool(offline),
    )
