"""The HTTP API: ``POST /v1/draft``, ``/v1/check``, ``/v1/analyze``, ``GET /healthz``, ``/openapi.json``.

    from drafter.server import create_app
    app = create_app(token="s3cret")          # any ASGI server; ``drafter serve`` runs it with uvicorn

Framework: FastAPI on Starlette. Its pydantic request models give validation and the OpenAPI document
(``/openapi.json``, ``/docs``) from one definition, so the schema cannot drift from what is enforced;
a hand-written OpenAPI next to bare Starlette would. The bodies and answers are the JSON of DESIGN.md:
each endpoint returns exactly ``Draft.to_dict()``, ``CheckResult.to_dict()`` or ``Analysis.to_dict()``.

Before any byte is parsed, ``_RequestGate`` (pure ASGI) checks the bearer token, the content type and
the body size, counted on the bytes received (chunked bodies included), not on ``Content-Length`` alone.
Errors are always ``{"error": {"type", "message"}}``:

    400 invalid_json, empty_body, bad_request   401 unauthorized (``WWW-Authenticate: Bearer``)
    404 not_found   405 method_not_allowed      413 body_too_large   415 unsupported_media_type
    422 invalid_request (schema) and the drafter ``InputError`` family: empty_message,
        message_too_long, invalid_context, invalid_input
    500 internal_error, template_error (no traceback: it goes to the log)   502 model_error
    504 model_timeout

The app holds no state between requests: run several workers or instances behind any load balancer.
Drafts on the model path ``await Drafter.adraft`` so concurrent requests overlap while the model
thinks; offline drafting, checks and analyses are a few milliseconds of CPU and run inline, except
for long texts, which go to a worker thread so that one large request does not stall the others.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, Literal, TypeVar

from .errors import (
    ContextError,
    DrafterError,
    EmptyMessageError,
    InputError,
    MessageTooLongError,
    ModelError,
    ModelTimeoutError,
    TemplateError,
)

try:
    import anyio.to_thread
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictStr
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised through serve_cli's own check
    raise DrafterError(f"the HTTP server needs {exc.name or 'fastapi'}: "
                       "pip install 'drafter[serve]'") from None

from . import __version__
from .analysis import analyze_message
from .checker import check_reply
from .context import Context
from .drafting import Drafter, DraftRequest

log = logging.getLogger("drafter.server")

DEFAULT_MAX_BODY = 1_000_000
INLINE_CHARS = 4_000            # texts longer than this are handled in a worker thread
PUBLIC_PATHS = frozenset({"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect"})
ENV_TOKEN, ENV_MAX_BODY, ENV_OFFLINE = "DRAFTER_API_TOKEN", "DRAFTER_SERVE_MAX_BODY", "DRAFTER_SERVE_OFFLINE"

# -- request and response bodies (the OpenAPI document is generated from these) -------------------

Lang = Literal["fr", "en"]
Channel = Literal["email", "chat", "phone"]
CONTEXT_DOC = ("company, agent, customer_name, channel, language, facts (list of strings), "
               "policy {allowed: [refund, replacement, voucher, discount, free_shipping, compensation, "
               "callback, deadline], response_time: \"48 h\"}")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")     # a misspelt field is an error, not silently ignored


class DraftBody(_Body):
    message: StrictStr = Field(description="the customer's message",
                               examples=["You clowns lost my parcel 55123"])
    context: dict[str, Any] | None = Field(None, description=CONTEXT_DOC)
    lang: Literal["auto", "fr", "en"] = Field("auto", description="reply language; auto: the message's")
    channel: Channel | None = Field(None, description="default: the context's channel, else email")


class CheckBody(_Body):
    reply: StrictStr = Field(description="the reply to check, drafted or written by hand")
    message: StrictStr | None = Field(None, description="the customer's message (echoes, limit, facts)")
    context: dict[str, Any] | None = Field(None, description=CONTEXT_DOC)
    lang: Lang | None = Field(None, description="the language the reply must be in")
    channel: Channel | None = None


class AnalyzeBody(_Body):
    text: StrictStr = Field(description="the customer's message")


class ViolationOut(BaseModel):
    rule: str
    severity: Literal["hard", "soft"]
    message: str
    start: int
    end: int
    text: str


class InsultOut(BaseModel):
    text: str
    start: int
    end: int
    target: Literal["agent", "company", "product", "other"]


class FactsOut(BaseModel):
    order_ids: list[str]
    amounts: list[str]
    durations: list[str]
    dates: list[str]


class AnalysisOut(BaseModel):
    language: str
    language_confidence: float
    insults: list[InsultOut]
    anger: int = Field(ge=0, le=3)
    shouting: bool
    threats: list[str]
    injection: bool
    facts: FactsOut
    topic: str
    personal_data: list[str]
    length: int
    escalate: bool


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    calls: int


class DraftOut(BaseModel):
    reply: str
    language: str
    status: Literal["ok", "review"]
    backend: Literal["openai", "offline"]
    model: str | None
    analysis: AnalysisOut
    violations: list[ViolationOut]
    attempts: int
    fallback: bool
    escalate: bool
    reasons: list[str]
    usage: UsageOut | None
    elapsed_ms: int
    notices: list[str]


class CheckOut(BaseModel):
    passed: bool
    violations: list[ViolationOut]


class HealthOut(BaseModel):
    status: Literal["ok"]
    backend: Literal["openai", "offline"]
    model: str | None


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorDetail(BaseModel):
    type: str
    message: str
    details: list[FieldProblem] | None = Field(None, description="only for 422 invalid_request: each field")


class ErrorOut(BaseModel):
    error: ErrorDetail


# -- errors ------------------------------------------------------------------------------------------

_DRAFTER_ERRORS: tuple[tuple[type[DrafterError], int, str], ...] = (
    (EmptyMessageError, 422, "empty_message"),
    (MessageTooLongError, 422, "message_too_long"),
    (ContextError, 422, "invalid_context"),
    (InputError, 422, "invalid_input"),
    (TemplateError, 500, "template_error"),
    (ModelTimeoutError, 504, "model_timeout"),
    (ModelError, 502, "model_error"),
)
_HTTP_TYPES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "body_too_large", 415: "unsupported_media_type"}


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status,
                        headers=headers)


def _drafter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DrafterError)
    status, kind = next(((s, k) for cls, s, k in _DRAFTER_ERRORS if isinstance(exc, cls)),
                        (500, "internal_error"))
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, kind, str(exc))


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    for e in errors:
        if e.get("type") == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "invalid JSON")
            where = e["loc"][-1] if len(e.get("loc", ())) > 1 else "?"
            return error_response(400, "invalid_json",
                                  f"the body is not valid JSON: {reason} (at character {where})")
        if e.get("type") == "missing" and tuple(e.get("loc", ())) == ("body",):
            return error_response(400, "empty_body", "the body is empty: send a JSON object")
    problems = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
                 "message": e.get("msg", "invalid")} for e in errors]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
    return error_response(422, "invalid_request", summary, details=problems)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _HTTP_TYPES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    return error_response(exc.status_code, kind, str(exc.detail), headers=getattr(exc, "headers", None))


def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises after this response is sent, so the server logs the traceback once.
    return error_response(500, "internal_error", "internal error; the server log has the details")


# -- the gate: token, content type and body size, before anything is parsed -------------------------

class _RequestGate:
    """Pure ASGI middleware: 401 without the bearer token (when one is set), 415 for a body that is
    not JSON, 413 past ``max_body`` bytes. The body is buffered (at most ``max_body`` bytes) and
    replayed to the app, so its size is what was received, whatever ``Content-Length`` claimed."""

    def __init__(self, app: ASGIApp, *, token: str | None, max_body: int) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # lowercase names; a repeated header keeps its last value
        if self.expected is not None and scope["path"] not in PUBLIC_PATHS:
            given = headers.get(b"authorization")
            if not given or not self._token_matches(given):
                challenge = 'Bearer realm="drafter"' + (', error="invalid_token"' if given else "")
                message = ("the bearer token is wrong" if given
                           else "this server needs a bearer token: send 'Authorization: Bearer <token>'")
                await error_response(401, "unauthorized", message, {"WWW-Authenticate": challenge})(
                    scope, receive, send)
                return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media != b"application/json" and not media.endswith(b"+json"):
            await error_response(415, "unsupported_media_type", "send the body as JSON, with the header "
                                 "'Content-Type: application/json'")(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":   # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                message, body = body, None
                return message
            return await receive()

        await self.app(scope, replay, send)

    def _token_matches(self, given: bytes) -> bool:
        assert self.expected is not None
        scheme, _, value = given.partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(b"Bearer " + value.strip(), self.expected)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _drain(receive)
        await error_response(413, "body_too_large", f"the body is over the limit of {self.max_body} bytes",
                             {"Connection": "close"})(scope, receive, send)


DRAIN_BYTES, DRAIN_SECONDS = 16 * 1024 * 1024, 2.0


async def _drain(receive: Receive) -> None:
    """Read and drop the rest of a refused body (up to ``DRAIN_BYTES`` or ``DRAIN_SECONDS``) before the
    413 goes out. Closing a connection with unread data makes the kernel reset it, and a client still
    sending then loses the response: it sees "connection reset" instead of the 413."""
    async def rest() -> None:
        left = DRAIN_BYTES
        while left > 0:
            message = await receive()
            if message["type"] != "http.request":
                return
            left -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    try:
        await asyncio.wait_for(rest(), DRAIN_SECONDS)
    except TimeoutError:
        pass


# -- the app -------------------------------------------------------------------------------------------

T = TypeVar("T")


async def _compute(size: int, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` inline when the text is short (a few ms), else in a worker thread."""
    if size <= INLINE_CHARS:
        return fn(*args, **kwargs)
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


def _within_limit(text: str | None, what: str, limit: int) -> None:
    """Checks and analyses cost more than linear time on huge texts: refuse past ``max_chars``."""
    if text is not None and len(text) > limit:
        error = MessageTooLongError(len(text), limit)
        error.message = f"the {what} is {len(text)} characters long, over the limit of {limit}"
        error.hint = "shorten it, or raise DRAFTER_MAX_CHARS on the server"
        raise error


def create_app(drafter: Drafter | None = None, *, token: str | None = None,
               max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """The ASGI app. ``drafter``: default ``Drafter()`` from the environment (offline with no model);
    ``token``: the bearer token every ``/v1`` request must carry (None: no authentication);
    ``max_body``: the largest request body accepted, in bytes."""
    if max_body < 1:
        raise InputError(f"max_body must be at least 1 byte, got {max_body}")
    drafter = drafter if drafter is not None else Drafter()
    limit = drafter.settings.max_chars
    backend = "offline" if drafter.offline else "openai"

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        if not drafter.offline:   # pay the SDK import (~0.4 s) at start, not in the first request
            from .model_client import preload

            await anyio.to_thread.run_sync(preload)
        yield
        await drafter.aclose()    # the model connections of this worker's event loop

    app = FastAPI(title="drafter", version=__version__, lifespan=lifespan, redoc_url=None,
                  description="Calm, specific, safe replies to angry or insulting customer messages "
                  "(French and English). Every error is `{\"error\": {\"type\", \"message\"}}`.")
    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": text} for code, text in (
            (400, "malformed JSON"), (401, "missing or wrong bearer token"), (413, "body too large"),
            (415, "not JSON"), (422, "invalid input"), (500, "internal error"))}

    model_errors = {**errors, 502: {"model": ErrorOut, "description": "the model failed (rare: drafts fall "
                                    "back to the offline composer)"},
                    504: {"model": ErrorOut, "description": "the model did not answer in time"}}

    @app.post("/v1/draft", response_model=DraftOut, responses=model_errors, summary="Draft a reply")
    async def draft(body: DraftBody) -> JSONResponse:
        request = DraftRequest(body.message, body.context if body.context is not None else Context(),
                               body.lang, body.channel)
        if drafter.offline:
            result = await _compute(min(len(body.message), limit), drafter.draft, request)
        else:
            result = await drafter.adraft(request)
        return JSONResponse(result.to_dict())

    @app.post("/v1/check", response_model=CheckOut, responses=errors,
              summary="Check a reply against the tone rules (a failed check is a 200 with passed: false)")
    async def check(body: CheckBody) -> JSONResponse:
        _within_limit(body.reply, "reply", limit)
        _within_limit(body.message, "message", limit)
        result = await _compute(len(body.reply) + len(body.message or ""), check_reply, body.reply,
                                message=body.message, context=body.context, lang=body.lang,
                                channel=body.channel)
        return JSONResponse(result.to_dict())

    @app.post("/v1/analyze", response_model=AnalysisOut, responses=errors, summary="Read a message")
    async def analyze(body: AnalyzeBody) -> JSONResponse:
        _within_limit(body.text, "text", limit)
        return JSONResponse((await _compute(len(body.text), analyze_message, body.text)).to_dict())

    @app.get("/healthz", response_model=HealthOut, summary="Liveness, backend, model (never needs a token)")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "backend": backend,
                             "model": None if drafter.offline else drafter.settings.model})

    app.state.drafter = drafter      # read only: what serve announces; requests never change it
    app.add_exception_handler(DrafterError, _drafter_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(_RequestGate, token=token or None, max_body=max_body)  # type: ignore[arg-type]

    if token:   # document the bearer scheme on every protected operation
        generate = app.openapi

        def openapi() -> dict[str, Any]:
            first = app.openapi_schema is None
            schema = generate()
            if first:
                schema.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"}}
                for path, operations in schema["paths"].items():
                    if path not in PUBLIC_PATHS:
                        for operation in operations.values():
                            operation["security"] = [{"bearer": []}]
            return schema

        app.openapi = openapi  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """The factory ``drafter serve --workers N`` gives uvicorn (``drafter.server:app_from_env``): each
    worker process builds its app from the environment, which ``serve`` sets before starting:

    - ``DRAFTER_API_TOKEN``       bearer token (unset or empty: no authentication)
    - ``DRAFTER_SERVE_MAX_BODY``  body limit in bytes (default 1000000)
    - ``DRAFTER_SERVE_OFFLINE``   ``1``: the offline composer even if a model is configured
    - and the model settings every command reads: ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
      ``DRAFTER_MODEL``, ``DRAFTER_PROMPTS_DIR``, ``DRAFTER_TIMEOUT``, ``DRAFTER_MAX_CHARS``…
    """
    raw = os.environ.get(ENV_MAX_BODY, "").strip()
    if raw and not raw.isdigit():
        raise InputError(f"{ENV_MAX_BODY}={raw!r} is not a number of bytes")
    offline = os.environ.get(ENV_OFFLINE, "").strip() == "1"
    return create_app(Drafter(offline=offline or None), token=os.environ.get(ENV_TOKEN, "").strip() or None,
                      max_body=int(raw) if raw else DEFAULT_MAX_BODY)
