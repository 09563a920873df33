"""The model client: the official ``openai`` SDK against any OpenAI-compatible endpoint.

This is the only module that imports ``openai`` (lazily: the offline path never pays for it) and
the only retry layer: the SDK's own retries are off, and ``tenacity`` retries connection errors,
timeouts, 408, 409, 429 and 5xx with capped, jittered exponential backoff, honouring
``Retry-After``, inside one overall deadline. Every SDK error leaves this module as a
``ModelError`` whose message never holds the API key.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from .constants import RETRY_AFTER_CAP, RETRY_INITIAL_WAIT, RETRY_MAX_TRANSPORT, RETRY_MAX_WAIT
from .errors import ModelError, ModelResponseError, ModelTimeoutError, ModelUnavailableError
from .settings import Settings

RETRYABLE_STATUS = frozenset({408, 409, 429})
MIN_ATTEMPT_SECONDS = 0.3   # no new attempt with less time than this left
Messages = list[dict[str, str]]


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, raw: Any) -> None:
        self.calls += 1
        if raw is None:
            return
        self.prompt_tokens += int(getattr(raw, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(raw, "completion_tokens", 0) or 0)

    def to_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens, "calls": self.calls}


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str | None
    model: str | None


@dataclass
class Deadline:
    """One budget of seconds for all the model calls of a draft. The clock starts at the first call:
    a draft waiting for a free slot (``DraftPool``) does not spend its budget waiting."""

    seconds: float
    started: float | None = None

    def remaining(self) -> float:
        if self.started is None:
            self.started = time.monotonic()
        return self.seconds - (time.monotonic() - self.started)

    def expired(self) -> bool:
        return self.remaining() <= 0


def preload() -> None:
    """Import the SDK ahead of time (the CLI does it in a thread while the agent pastes)."""
    import openai  # noqa: F401


def redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def should_retry(exc: BaseException) -> bool:
    """The one retry predicate: transient transport failures and overloaded servers."""
    import openai

    if isinstance(exc, openai.APIConnectionError):      # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return False


def retry_after_seconds(exc: BaseException | None) -> float | None:
    """The server's ``Retry-After`` (seconds or an HTTP date), if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return max(0.0, float(raw) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


class _Wait(tenacity.wait.wait_base):
    """Retry-After when the server gives one (capped), else jittered exponential backoff."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.backoff = tenacity.wait_random_exponential(multiplier=RETRY_INITIAL_WAIT, max=RETRY_MAX_WAIT)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        hinted = retry_after_seconds(outcome.exception() if outcome else None)
        wanted = min(hinted, RETRY_AFTER_CAP) if hinted is not None else self.backoff(retry_state)
        return max(0.0, min(wanted, self.deadline.remaining() - MIN_ATTEMPT_SECONDS))


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the deadline has passed, or when the server asks us to wait beyond it."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        remaining = self.deadline.remaining()
        outcome = retry_state.outcome
        hinted = retry_after_seconds(outcome.exception() if outcome else None)
        return remaining <= MIN_ATTEMPT_SECONDS or (hinted is not None and min(hinted, RETRY_AFTER_CAP) >= remaining)


def _retry_policy(deadline: Deadline) -> dict[str, Any]:
    return {
        "retry": tenacity.retry_if_exception(should_retry),
        "wait": _Wait(deadline),
        "stop": tenacity.stop_after_attempt(RETRY_MAX_TRANSPORT + 1) | _StopAtDeadline(deadline),
        "reraise": True,
    }


def _translate(exc: BaseException, settings: Settings, deadline: Deadline) -> ModelError:
    import openai

    where = settings.base_url or "the OpenAI API"
    key = settings.api_key
    if isinstance(exc, openai.APITimeoutError) or (deadline.expired() and isinstance(exc, openai.APIConnectionError)):
        return ModelTimeoutError(f"the model at {where} did not answer within {settings.timeout:g} s",
                                 reason="timeout", hint="raise --timeout or check the server")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return ModelUnavailableError(redact(f"cannot reach the model at {where}: {type(cause).__name__}", key),
                                     reason="unreachable", hint="check --base-url / OPENAI_BASE_URL and the server")
    if isinstance(exc, openai.AuthenticationError):
        return ModelResponseError(f"the model server at {where} refused the API key (401)", reason="auth",
                                  status=401, hint="check OPENAI_API_KEY")
    if isinstance(exc, openai.NotFoundError):
        return ModelResponseError(f"model {settings.model!r} or endpoint not found at {where} (404)",
                                  reason="not_found", status=404, hint="check --model and --base-url")
    if isinstance(exc, openai.APIStatusError):
        message = redact(str(getattr(exc, "message", "") or exc), key)[:200]
        return ModelResponseError(f"the model server answered {exc.status_code}: {message}", reason="status",
                                  status=exc.status_code)
    if isinstance(exc, (json.JSONDecodeError, ValueError, openai.APIResponseValidationError)):
        return ModelResponseError(f"the model server at {where} sent a body that is not valid JSON",
                                  reason="malformed")
    if isinstance(exc, openai.OpenAIError):
        return ModelError(redact(f"model call failed: {exc}", key)[:300], reason="error")
    raise exc


def _completion_from(result: Any) -> Completion:
    choices = getattr(result, "choices", None)
    if not choices:
        raise ModelResponseError("the model server sent an answer with no choices", reason="malformed")
    choice = choices[0]
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise ModelResponseError(f"the model refused: {str(refusal)[:120]}", reason="refusal")
    return Completion(getattr(message, "content", None) or "", getattr(choice, "finish_reason", None),
                      getattr(result, "model", None))


def _check_completion(completion: Completion) -> Completion:
    if completion.finish_reason == "length":
        raise ModelResponseError("the model's reply was cut off (finish_reason: length)", reason="truncated")
    if completion.finish_reason == "content_filter":
        raise ModelResponseError("the model's reply was filtered (finish_reason: content_filter)", reason="filtered")
    if not completion.text.strip():
        raise ModelResponseError("the model sent an empty reply", reason="empty")
    return completion


class ModelClient:
    """Chat completions with one retry layer and a deadline. Thread-safe; one per ``Drafter``."""

    def __init__(self, settings: Settings) -> None:
        import openai

        self.settings = settings
        self._openai = openai
        self._sync_client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _client_options(self) -> dict[str, Any]:
        """The SDK clients' settings: drafter's own retry layer (tenacity) and deadline, so no SDK retries."""
        return {"api_key": self.settings.effective_api_key, "base_url": self.settings.base_url, "max_retries": 0,
                "timeout": self.settings.timeout}

    @property
    def _client(self) -> Any:
        """The blocking ``OpenAI`` client, made on first use (~40 ms: its TLS context); async paths never
        need it."""
        with self._lock:
            if self._sync_client is None:
                self._sync_client = self._openai.OpenAI(**self._client_options())
            return self._sync_client

    def _params(self, messages: Messages, stream: bool, deadline: Deadline) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": self.settings.temperature,
            "max_tokens": self.settings.max_tokens,
            "timeout": max(0.05, deadline.remaining()),
        }
        if self.settings.seed is not None:
            params["seed"] = self.settings.seed
        if stream:
            params["stream"] = True
            params["stream_options"] = {"include_usage": True}
        return params

    def complete(self, messages: Messages, *, deadline: Deadline, usage: Usage,
                 on_text: Callable[[str], None] | None = None) -> Completion:
        """One completion; streamed through ``on_text`` when given."""
        try:
            for attempt in tenacity.Retrying(**_retry_policy(deadline)):
                with attempt:
                    if deadline.expired():
                        raise self._openai.APITimeoutError(request=None)  # type: ignore[arg-type]
                    if on_text is None:
                        result = self._client.chat.completions.create(**self._params(messages, False, deadline))
                        if isinstance(result, str):
                            raise ValueError("not a chat completion")
                        usage.add(getattr(result, "usage", None))
                        completion = _completion_from(result)
                    else:
                        completion = self._stream(messages, deadline, usage, on_text)
        except ModelError:
            raise
        except Exception as exc:  # translated at the boundary
            raise _translate(exc, self.settings, deadline) from None
        return _check_completion(completion)

    def _stream(self, messages: Messages, deadline: Deadline, usage: Usage,
                on_text: Callable[[str], None]) -> Completion:
        parts: list[str] = []
        finish = None
        model = None
        refusal: list[str] = []
        stream = self._client.chat.completions.create(**self._params(messages, True, deadline))
        counted = False
        with stream:
            for chunk in stream:
                model = getattr(chunk, "model", None) or model
                if getattr(chunk, "usage", None):
                    usage.add(chunk.usage)
                    counted = True
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if getattr(delta, "refusal", None):
                        refusal.append(delta.refusal)
                    if delta.content:
                        parts.append(delta.content)
                        on_text(delta.content)
                    finish = choice.finish_reason or finish
        if not counted:
            usage.add(None)
        if refusal:
            raise ModelResponseError(f"the model refused: {''.join(refusal)[:120]}", reason="refusal")
        return Completion("".join(parts), finish, model)

    async def acomplete(self, messages: Messages, *, deadline: Deadline, usage: Usage) -> Completion:
        """The async twin of ``complete`` (not streamed), on this event loop's shared client."""
        client = self._loop_client()
        try:
            async for attempt in tenacity.AsyncRetrying(**_retry_policy(deadline)):
                with attempt:
                    if deadline.expired():
                        raise self._openai.APITimeoutError(request=None)  # type: ignore[arg-type]
                    result = await client.chat.completions.create(**self._params(messages, False, deadline))
                    if isinstance(result, str):
                        raise ValueError("not a chat completion")
                    usage.add(getattr(result, "usage", None))
                    completion = _completion_from(result)
        except ModelError:
            raise
        except Exception as exc:
            raise _translate(exc, self.settings, deadline) from None
        return _check_completion(completion)

    def _loop_client(self) -> Any:
        """One ``AsyncOpenAI`` per running event loop: connections and TLS set-up are reused across
        calls (a client per call cost ~20-30 ms of CPU each), and a loop never sees another's client."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = self._async_clients[loop] = self._openai.AsyncOpenAI(**self._client_options())
            return client

    async def aclose(self) -> None:
        """Close the running event loop's shared client and its connections (if it has one)."""
        import asyncio

        with self._lock:
            client = self._async_clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    # -- the Batch API: upload the requests, create the batch, poll it, download the answers ------

    def batch_request(self, custom_id: str, messages: Messages) -> dict[str, Any]:
        """One line of a Batch API input file: the chat-completions call ``complete`` would make."""
        body = self._params(messages, False, Deadline(self.settings.timeout))
        body.pop("timeout")
        return {"custom_id": custom_id, "method": "POST", "url": BATCH_ENDPOINT, "body": body}

    def _batch_call(self, what: str, call: Callable[[], Any], *, batch_id: str | None = None) -> Any:
        """One Batch API call through the retry policy, its errors translated like a completion's."""
        deadline = Deadline(self.settings.timeout)
        try:
            for attempt in tenacity.Retrying(**_retry_policy(deadline)):
                with attempt:
                    if deadline.expired():
                        raise self._openai.APITimeoutError(request=None)  # type: ignore[arg-type]
                    return call()
        except ModelError:
            raise
        except self._openai.NotFoundError:
            where = self.settings.base_url or "the OpenAI API"
            thing = f"batch {batch_id}" if batch_id else "the Batch API endpoint"
            raise ModelResponseError(f"{what}: {thing} not found at {where} (404)", reason="not_found",
                                     status=404, hint="check --batch-id and --base-url") from None
        except Exception as exc:
            error = _translate(exc, self.settings, deadline)
            error.message = f"{what}: {error.message}"
            raise error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def upload_batch_file(self, data: bytes, filename: str = "drafter-batch.jsonl") -> str:
        """Upload a JSONL file of requests (purpose ``batch``); returns the file id."""
        created = self._batch_call("uploading the batch file", lambda: self._client.files.create(
            file=(filename, data, "application/jsonl"), purpose="batch", timeout=self.settings.timeout))
        return str(created.id)

    def create_batch(self, input_file_id: str, *, metadata: dict[str, str] | None = None) -> BatchInfo:
        """Start a batch over an uploaded file, within the 24 h completion window."""
        extra: dict[str, Any] = {"metadata": metadata} if metadata else {}
        batch = self._batch_call("creating the batch", lambda: self._client.batches.create(
            input_file_id=input_file_id, endpoint=BATCH_ENDPOINT, completion_window="24h",
            timeout=self.settings.timeout, **extra))
        return BatchInfo.from_sdk(batch)

    def retrieve_batch(self, batch_id: str) -> BatchInfo:
        batch = self._batch_call("checking the batch", lambda: self._client.batches.retrieve(
            batch_id, timeout=self.settings.timeout), batch_id=batch_id)
        return BatchInfo.from_sdk(batch)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file (a batch's output or error file)."""
        response = self._batch_call(f"downloading file {file_id}", lambda: self._client.files.content(
            file_id, timeout=self.settings.timeout))
        return bytes(response.content)


BATCH_ENDPOINT = "/v1/chat/completions"
BATCH_DONE = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class BatchInfo:
    """What drafter needs of a Batch API batch, free of SDK types."""

    id: str
    status: str
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    errors: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        return self.status in BATCH_DONE

    @classmethod
    def from_sdk(cls, batch: Any) -> BatchInfo:
        counts = getattr(batch, "request_counts", None)
        raw_errors = getattr(getattr(batch, "errors", None), "data", None) or ()
        errors = tuple(str(getattr(e, "message", None) or getattr(e, "code", None) or e) for e in raw_errors)
        return cls(id=str(batch.id), status=str(batch.status),
                   input_file_id=getattr(batch, "input_file_id", None),
                   output_file_id=getattr(batch, "output_file_id", None),
                   error_file_id=getattr(batch, "error_file_id", None),
                   total=int(getattr(counts, "total", 0) or 0),
                   completed=int(getattr(counts, "completed", 0) or 0),
                   failed=int(getattr(counts, "failed", 0) or 0), errors=errors)


def batch_answer(line: dict[str, Any], usage: Usage) -> Completion:
    """The completion in one line of a batch output or error file, checked like a live one.

    Raises ``ModelResponseError`` (reason ``status``, ``malformed``, ``empty``…) when the line holds
    no usable reply, so that the guard loop treats it as it would a failed live call."""
    import openai

    response = line.get("response") if isinstance(line.get("response"), dict) else None
    if response is None or response.get("status_code") != 200:
        status = response.get("status_code") if response else None
        body = response.get("body") if response else None
        detail = (body.get("error") if isinstance(body, dict) else None) or line.get("error") or {}
        if isinstance(detail, dict):
            message = str(detail.get("message") or detail.get("code") or "no reply")
        else:
            message = str(detail)
        raise ModelResponseError(f"the batch answered {status or 'an error'}: {message[:200]}",
                                 reason="status", status=status if isinstance(status, int) else None)
    try:
        result = openai.types.chat.ChatCompletion.model_validate(response.get("body"))
    except Exception:  # pydantic's ValidationError, translated here like every SDK error
        raise ModelResponseError("the batch sent a reply that is not a chat completion",
                                 reason="malformed") from None
    usage.add(getattr(result, "usage", None))
    return _check_completion(_completion_from(result))
