"""Drafting a reply: ``DraftRequest`` in, ``Draft`` out, through ``Drafter`` (reusable, thread-safe)
or the one-call ``draft_reply``."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .analysis import Analysis, analyze_message
from .composer import OfflineComposer
from .constants import CHANNELS, DEFAULT_LANGUAGE, LANGUAGES
from .context import Context, context_from_mapping
from .errors import EmptyMessageError, InputError, MessageTooLongError, ModelError
from .guard import GuardLoop, GuardOutcome
from .prompts import prompt_library
from .settings import Settings, resolve_settings
from .tone_rules import Violation


@dataclass(frozen=True)
class DraftRequest:
    """One message to answer. ``context`` may be a ``Context`` or a mapping (validated here)."""

    message: str
    context: Context = field(default_factory=Context)
    lang: str | None = None          # None or "auto": the message's language
    channel: str | None = None       # None: the context's channel, else "email"

    def __post_init__(self) -> None:
        if not isinstance(self.message, str):
            raise InputError(f"the message must be a string, got {type(self.message).__name__}")
        if not isinstance(self.context, Context):
            object.__setattr__(self, "context", context_from_mapping(self.context))
        if self.lang == "auto":
            object.__setattr__(self, "lang", None)
        if self.lang is not None and self.lang not in LANGUAGES:
            raise InputError(f"unknown language {self.lang!r}; valid: auto, {', '.join(LANGUAGES)}")
        if self.channel is not None and self.channel not in CHANNELS:
            raise InputError(f"unknown channel {self.channel!r}; valid: {', '.join(CHANNELS)}")

    @property
    def resolved_channel(self) -> str:
        return self.channel or self.context.channel or "email"


@dataclass(frozen=True)
class Draft:
    """A reply and how it was made. ``to_dict`` gives the ``draft --json`` shape."""

    reply: str
    language: str
    status: str
    backend: str
    model: str | None
    analysis: Analysis
    violations: tuple[Violation, ...]
    attempts: int
    fallback: bool
    escalate: bool
    reasons: tuple[str, ...]
    usage: dict[str, int] | None
    elapsed_ms: int
    notices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "reply": self.reply, "language": self.language, "status": self.status, "backend": self.backend,
            "model": self.model, "analysis": self.analysis.to_dict(),
            "violations": [v.to_dict() for v in self.violations], "attempts": self.attempts,
            "fallback": self.fallback, "escalate": self.escalate, "reasons": list(self.reasons),
            "usage": self.usage, "elapsed_ms": self.elapsed_ms, "notices": list(self.notices),
        }


class DraftRun:
    """One draft driven step by step, made by ``Drafter.begin``: the message is read and analysed,
    the prompts are ready; the model calls are the caller's.

    ``drive`` runs the guard loop over any async call with ``Drafter.acomplete``'s signature
    (``Drafter.adraft`` and ``DraftPool`` use it). The Batch API path feeds the first completion
    itself with ``received``, then drives the revisions. ``finish`` gives the ``Draft``."""

    def __init__(self, drafter: Drafter, loop: GuardLoop, notices: list[str], started: float) -> None:
        self.drafter, self.loop, self.notices, self.started = drafter, loop, notices, started
        self._usage: Any = None
        self._deadline: Any = None

    @property
    def messages(self) -> list[dict[str, str]]:
        """What the next model call sends."""
        return self.loop.messages

    @property
    def usage(self) -> Any:
        """The tokens and calls spent on this draft (a ``model_client.Usage``)."""
        if self._usage is None:
            from .model_client import Usage

            self._usage = Usage()
        return self._usage

    @property
    def deadline(self) -> Any:
        """One ``settings.timeout`` for all the draft's calls; its clock starts at the first call."""
        if self._deadline is None:
            from .model_client import Deadline

            self._deadline = Deadline(self.drafter.settings.timeout)
        return self._deadline

    def wants_model(self) -> bool:
        return self.loop.wants_model()

    def received(self, completion: Any) -> None:
        """A model's answer: checked; accepted, or the revision prompt is set up."""
        self.loop.received(completion)

    def failed(self, error: ModelError) -> None:
        self.loop.failed(error)

    async def drive(self, complete: Callable[..., Awaitable[Any]], *, sample: int = 0) -> Draft:
        """Call ``complete(messages, sample=, deadline=, usage=)`` until the guard loop is done."""
        while self.loop.wants_model():
            try:
                completion = await complete(self.loop.messages, sample=sample, deadline=self.deadline,
                                            usage=self.usage)
            except ModelError as error:
                self.loop.failed(error)
            else:
                self.loop.received(completion)
        return self.finish()

    def finish(self) -> Draft:
        """The draft: the accepted reply, or the offline one marked ``review``."""
        usage = self._usage.to_dict() if self._usage is not None else None
        return self.drafter._finish(self.loop, self.loop.result(), self.started, self.notices, usage)

    def offline(self) -> Draft:
        """The offline composer's draft, without a model."""
        return self.drafter._finish(self.loop, self.loop.offline(fallback=False), self.started, self.notices, None)


class Drafter:
    """Drafts replies with one configuration. Reusable and safe to share across threads."""

    def __init__(self, settings: Settings | None = None, *, cache: Any = None, **overrides: Any) -> None:
        """``cache``: a ``ResponseCache`` consulted before every model call (evals use it)."""
        self.settings = settings.with_overrides(**overrides) if settings else resolve_settings(**overrides)
        self.cache = cache
        folder = str(self.settings.prompts_dir) if self.settings.prompts_dir else None
        self.prompts = prompt_library(folder)
        self.composer = OfflineComposer(self.prompts)
        self._client = None
        self._lock = threading.Lock()

    @property
    def offline(self) -> bool:
        return self.settings.offline

    def _model_client(self):  # noqa: ANN202 - imported lazily so the offline path never loads openai
        with self._lock:
            if self._client is None:
                from .model_client import ModelClient

                self._client = ModelClient(self.settings)
            return self._client

    # -- preparation shared by every path ---------------------------------------------------------

    def _prepare(self, request: DraftRequest | str) -> tuple[DraftRequest, str, list[str]]:
        if isinstance(request, str):
            request = DraftRequest(request)
        message = request.message
        if not message.strip():
            raise EmptyMessageError("the message is empty", hint="paste the customer's message, or pass it as TEXT")
        notices: list[str] = []
        limit = self.settings.max_chars
        if len(message) > limit:
            if self.settings.on_too_long == "refuse":
                raise MessageTooLongError(len(message), limit)
            notices.append(f"the message is {len(message)} characters long; only the first {limit} were read")
            message = message[:limit]
        return request, message, notices

    def _loop(self, request: DraftRequest, message: str) -> GuardLoop:
        context = request.context
        analysis = analyze_message(message, default_language=context.language)
        if request.lang:
            language = request.lang
        elif analysis.language_confidence > 0:
            language = analysis.language
        else:
            language = context.language or DEFAULT_LANGUAGE
        channel = request.resolved_channel
        policy = context.policy
        variables: dict[str, object] = {
            # the objects themselves: templates read their attributes, and the offline path renders none
            "message": message, "language": language, "channel": channel, "context": context,
            "analysis": analysis, "facts": list(analysis.facts.all()), "insulted": analysis.insulted,
            "anger": analysis.anger, "policy_allowed": sorted(policy.allowed), "response_time": policy.response_time,
        }
        return GuardLoop(message, analysis, context, language, channel, self.prompts, self.composer,
                         self.settings.max_attempts, variables)

    def begin(self, request: DraftRequest | str) -> DraftRun:
        """Read and analyse the message and set up its prompts: a ``DraftRun`` to drive.

        Raises ``InputError`` for an empty or (with ``on_too_long=refuse``) too long message."""
        started = time.monotonic()
        request, message, notices = self._prepare(request)
        return DraftRun(self, self._loop(request, message), notices, started)

    def render_messages(self, request: DraftRequest | str) -> list[dict[str, str]]:
        """The exact messages a first model call would send (``--dry-run``)."""
        return self.begin(request).loop.first_messages()

    def _finish(self, loop: GuardLoop, outcome: GuardOutcome, started: float, notices: list[str],
                usage: dict[str, int] | None) -> Draft:
        reasons = list(outcome.reasons)
        if loop.analysis.escalate:
            kinds = " and ".join(k.replace("_", "-") for k in loop.analysis.threats if k in ("violence", "self_harm"))
            reasons.append(f"the customer mentions {kinds}: a colleague must follow up personally")
        return Draft(
            reply=outcome.reply, language=loop.language, status=outcome.status, backend=outcome.backend,
            model=None if self.offline else (outcome.model or self.settings.model), analysis=loop.analysis,
            violations=outcome.check.violations, attempts=outcome.attempts, fallback=outcome.fallback,
            escalate=loop.analysis.escalate, reasons=tuple(reasons), usage=usage,
            elapsed_ms=int((time.monotonic() - started) * 1000), notices=tuple(notices),
        )

    # -- the two drivers --------------------------------------------------------------------------

    def _cache_key(self, messages: list[dict[str, str]], sample: int) -> str:
        s = self.settings
        return self.cache.key(model=s.model, base_url=s.base_url, messages=messages, temperature=s.temperature,
                              seed=s.seed, max_tokens=s.max_tokens, sample=sample)

    def draft(self, request: DraftRequest | str, *, on_text: Callable[[str], None] | None = None,
              on_retry: Callable[[str], None] | None = None) -> Draft:
        """Draft one reply. ``on_text`` receives streamed text of the first attempt; ``on_retry`` is told
        when a streamed draft is discarded (so a terminal can erase it)."""
        run = self.begin(request)
        if self.offline:
            return run.offline()
        client, loop = self._model_client(), run.loop
        while loop.wants_model():
            streaming = on_text if loop.attempts == 0 else None
            try:
                completion = client.complete(loop.messages, deadline=run.deadline, usage=run.usage, on_text=streaming)
            except ModelError as error:
                loop.failed(error)
            else:
                loop.received(completion)
            if streaming and loop.outcome is None and on_retry:
                on_retry(loop.reasons[-1] if loop.reasons else "revising")
        return run.finish()

    async def acomplete(self, messages: list[dict[str, str]], *, sample: int = 0, deadline: Any = None,
                        usage: Any = None) -> Any:
        """One model call through the response cache, when there is one (a hit costs no call).

        ``deadline`` and ``usage`` default to a fresh ``Deadline`` of ``settings.timeout`` and a
        throwaway ``Usage``. Raises ``ModelError``."""
        from .model_client import Deadline, Usage

        key = self._cache_key(messages, sample) if self.cache is not None else None
        cached = self.cache.get(key) if key else None
        if cached is not None:
            return cached
        completion = await self._model_client().acomplete(
            messages, deadline=deadline or Deadline(self.settings.timeout), usage=usage or Usage())
        if key:
            self.cache.put(key, completion)
        return completion

    async def adraft(self, request: DraftRequest | str, *, sample: int = 0) -> Draft:
        """The async twin of ``draft`` (no streaming); many can run at once on one event loop
        (``DraftPool`` bounds how many call the model at once).

        ``sample`` distinguishes repeated drafts of one request in the response cache."""
        run = self.begin(request)
        if self.offline:
            return run.offline()
        return await run.drive(self.acomplete, sample=sample)

    async def aclose(self) -> None:
        """Close the running event loop's connections to the model (a service calls it at shutdown)."""
        if self._client is not None:
            await self._client.aclose()


def draft_reply(message: str, *, context: Context | Mapping[str, Any] | None = None, lang: str | None = None,
                channel: str = "email", offline: bool | None = None) -> Draft:
    """Draft a reply to one message with the configuration from the environment."""
    request = DraftRequest(message, context_from_mapping(context) if context is not None else Context(), lang,
                           channel)
    return Drafter(offline=offline).draft(request)
