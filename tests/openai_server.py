"""A scripted, loopback-only HTTP server that speaks the OpenAI chat-completions protocol.

Standard library only.  Meant for tests: the real ``openai`` client is pointed at
``server.base_url`` and every ``POST /v1/chat/completions`` consumes one scripted step.

    with running_server() as server:
        server.script(reply("hi"), status(429, headers={"Retry-After": "1"}), hang())
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        ...
        assert server.requests[0].body["messages"] == [...]

Steps (module-level factories): ``reply``, ``status``, ``delay``, ``hang``, ``malformed``,
``cut_stream``, ``refusal``, ``empty`` and ``dynamic`` (compute a step from the request).
When the queue is empty ``server.default`` is used (initially a plain reply).

What the openai 3.57 client (max_retries=0) raises for each fault:
  status(429) -> RateLimitError, status(5xx) -> InternalServerError (other 4xx: their APIStatusError subclass)
  hang() past the client timeout -> APITimeoutError
  malformed() (application/json, 200) -> json.JSONDecodeError (a ValueError, NOT an openai.APIError)
  malformed(content_type="text/plain") -> create() returns the raw str; APIResponseValidationError
      only with _strict_response_validation=True
  cut_stream() -> APIConnectionError (cause httpx2.RemoteProtocolError), streaming or not
  nothing listening -> APIConnectionError (cause httpx2.ConnectError)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "ScriptedOpenAIServer",
    "RecordedRequest",
    "Step",
    "reply",
    "status",
    "delay",
    "hang",
    "malformed",
    "cut_stream",
    "refusal",
    "empty",
    "dynamic",
    "running_server",
    "DEFAULT_MODEL",
    "DEFAULT_REPLY_TEXT",
]

DEFAULT_MODEL = "scripted-model"
DEFAULT_REPLY_TEXT = "Hello, this is a scripted reply."
CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

_WORD_RE = re.compile(r"\s*\S+\s*|\s+")


# --------------------------------------------------------------------------- recorded requests


class _Headers(dict):
    """A plain dict of request headers whose lookups are case-insensitive (keys stored lowercase)."""

    def __init__(self, items: Any = ()) -> None:
        super().__init__()
        for key, value in items.items() if hasattr(items, "items") else items:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass
class RecordedRequest:
    """One request as the server saw it.  Also subscriptable: ``req["body"]``."""

    method: str
    path: str  # path without the query string
    headers: dict  # case-insensitive lookups, keys stored lowercase
    body: Any  # parsed JSON body, or None when absent / not JSON
    raw_body: bytes = b""
    query: str = ""
    client_address: tuple = ()  # (host, port) of the client socket; same port => same keep-alive connection

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    @property
    def json(self) -> Any:
        return self.body

    @property
    def is_stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True


# --------------------------------------------------------------------------- steps


class Step:
    """Base class of scripted steps.  ``run`` writes (or deliberately doesn't write) a response."""

    def run(self, h: _Handler, req: RecordedRequest) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class _Reply(Step):
    def __init__(
        self,
        text: str | None,
        *,
        refusal_text: str | None = None,
        finish_reason: str = "stop",
        prompt_tokens: int = 50,
        completion_tokens: int | None = None,
        model: str | None = None,
    ) -> None:
        self.text = text
        self.refusal_text = refusal_text
        self.finish_reason = finish_reason
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.model = model

    # -- helpers
    def _usage(self) -> dict:
        if self.completion_tokens is not None:
            completion = self.completion_tokens
        else:
            completion = len((self.text if self.text is not None else self.refusal_text or "").split())
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": self.prompt_tokens + completion,
        }

    def _model(self, req: RecordedRequest) -> str:
        if self.model is not None:
            return self.model
        if isinstance(req.body, dict) and isinstance(req.body.get("model"), str):
            return req.body["model"]
        return DEFAULT_MODEL

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        if req.is_stream:
            self._run_stream(h, req, cut=False)
        else:
            self._run_plain(h, req)

    def _completion(self, h: _Handler, req: RecordedRequest) -> dict:
        message: dict = {"role": "assistant", "content": self.text}
        if self.refusal_text is not None:
            message["refusal"] = self.refusal_text
        else:
            message["refusal"] = None
        return {
            "id": h.completion_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self._model(req),
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self._usage(),
        }

    def _run_plain(self, h: _Handler, req: RecordedRequest) -> None:
        h.send_json(200, self._completion(h, req))

    def _run_stream(self, h: _Handler, req: RecordedRequest, *, cut: bool) -> None:
        include_usage = False
        if isinstance(req.body, dict) and isinstance(req.body.get("stream_options"), dict):
            include_usage = bool(req.body["stream_options"].get("include_usage"))
        cid = h.completion_id()
        created = int(time.time())
        model = self._model(req)

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            data = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if include_usage:
                data["usage"] = None
            return data

        is_refusal = self.refusal_text is not None
        pieces = split_text(self.refusal_text if is_refusal else (self.text or ""))
        if cut:
            pieces = pieces[: len(pieces) // 2]
        key = "refusal" if is_refusal else "content"

        h.start_stream()
        first = {
            "role": "assistant",
            "content": None if is_refusal else "",
            "refusal": "" if is_refusal else None,
        }
        if not h.send_event(chunk(first)):
            return
        for piece in pieces:
            if not h.send_event(chunk({key: piece})):
                return
        if cut:
            h.abort_connection()
            return
        if not h.send_event(chunk({}, self.finish_reason)):
            return
        if include_usage:
            usage_chunk = chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = self._usage()
            if not h.send_event(usage_chunk):
                return
        if h.send_event("[DONE]"):
            h.end_stream()


class _Status(Step):
    def __init__(self, code: int, *, message: str, headers: dict | None, err_type: str | None) -> None:
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.err_type = err_type

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        err_type = self.err_type or _default_error_type(self.code)
        h.send_json(self.code, _error_body(self.message, err_type), headers=self.headers)


class _Delay(Step):
    def __init__(self, seconds: float, then: Step) -> None:
        self.seconds = seconds
        self.then = _as_step(then)

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        if h.wait(self.seconds):
            self.then.run(h, req)
        else:
            h.close_connection = True  # stopped or client went away: answer nothing


class _Hang(Step):
    def run(self, h: _Handler, req: RecordedRequest) -> None:
        h.wait(None)  # until the server stops (or the client disconnects)
        h.close_connection = True


class _Malformed(Step):
    def __init__(self, body: Any, *, status: int, content_type: str) -> None:
        self.body = body
        self.status = status
        self.content_type = content_type

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        data = self.body if isinstance(self.body, bytes) else str(self.body).encode("utf-8")
        h.send_bytes(self.status, data, content_type=self.content_type)


class _CutStream(Step):
    def __init__(self, text: str) -> None:
        self.text = text

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        inner = _Reply(self.text)
        if req.is_stream:
            inner._run_stream(h, req, cut=True)
            return
        body = json.dumps(inner._completion(h, req)).encode("utf-8")
        partial = body[: len(body) // 2]
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))  # promise more than we send
        h.send_header("x-request-id", h.request_id)
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(partial)
            h.wfile.flush()
        h.abort_connection()


class _Dynamic(Step):
    def __init__(self, fn: Callable[[RecordedRequest], Step]) -> None:
        self.fn = fn

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        _as_step(self.fn(req)).run(h, req)


def reply(
    text: str,
    *,
    finish_reason: str = "stop",
    prompt_tokens: int = 50,
    completion_tokens: int | None = None,
    model: str | None = None,
) -> Step:
    """A normal assistant message (streamed as SSE chunks when the request has ``stream: true``)."""
    return _Reply(
        text,
        finish_reason=finish_reason,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        model=model,
    )


def status(
    code: int,
    *,
    message: str = "scripted error",
    headers: dict | None = None,
    err_type: str | None = None,
) -> Step:
    """An HTTP error with an OpenAI-style error body and optional extra headers."""
    return _Status(code, message=message, headers=headers, err_type=err_type)


def delay(seconds: float, then: Step) -> Step:
    """Sleep ``seconds`` (interrupted by ``stop()`` or client disconnect), then perform ``then``."""
    return _Delay(seconds, then)


def hang() -> Step:
    """Accept the request and never answer until the server stops (or the client hangs up)."""
    return _Hang()


def malformed(
    body: Any = "this is not json", *, status: int = 200, content_type: str = "application/json"
) -> Step:
    """A response (200 by default) whose body is not valid JSON."""
    return _Malformed(body, status=status, content_type=content_type)


def cut_stream(text: str) -> Step:
    """Streaming: role chunk + first half of the text, then drop the connection (no finish, no [DONE]).
    Non-streaming: Content-Length larger than the partial body sent, then drop the connection."""
    return _CutStream(text)


def refusal(text: str = "I can't help with that.") -> Step:
    """An assistant message with ``content: null`` and ``refusal: text``."""
    return _Reply(None, refusal_text=text)


def empty() -> Step:
    """``reply("")``."""
    return reply("")


def dynamic(fn: Callable[[RecordedRequest], Step]) -> Step:
    """Compute the step from the recorded request at the time it arrives."""
    return _Dynamic(fn)


class Counted(Step):
    """Performs ``then`` and records how many requests were inside it at once: ``peak``."""

    def __init__(self, then: Step) -> None:
        self.then, self.now, self.peak = then, 0, 0
        self.lock = threading.Lock()

    def run(self, h: _Handler, req: RecordedRequest) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            self.then.run(h, req)
        finally:
            with self.lock:
                self.now -= 1


def _as_step(step: Any) -> Step:
    if isinstance(step, Step):
        return step
    if isinstance(step, str):
        return reply(step)
    raise TypeError(f"not a scripted step: {step!r}")


def split_text(text: str) -> list:
    """Split text into word pieces that keep their whitespace: ''.join(split_text(t)) == t."""
    return _WORD_RE.findall(text) if text else []


def _default_error_type(code: int) -> str:
    return {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        409: "conflict_error",
        422: "invalid_request_error",
        429: "rate_limit_error",
    }.get(code, "server_error" if code >= 500 else "invalid_request_error")


def _error_body(message: str, err_type: str, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    request_queue_size = 128   # bursts of concurrent clients must not be refused
    daemon_threads = True
    block_on_close = False  # server_close() must not join handler threads
    allow_reuse_address = False

    def __init__(self, owner: ScriptedOpenAIServer) -> None:
        self.owner = owner
        self.stop_event = threading.Event()
        self.conn_lock = threading.Lock()
        self.connections: set = set()
        self.handler_threads: set = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address):  # track connections and threads
        with self.conn_lock:
            if self.stop_event.is_set():
                self.shutdown_request(request)
                return
            self.connections.add(request)
        t = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="scripted-openai-handler",
            daemon=True,
        )
        with self.conn_lock:
            self.handler_threads.add(t)
        t.start()

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.connections.discard(request)
                self.handler_threads.discard(threading.current_thread())

    def handle_error(self, request, client_address):  # never print tracebacks to stderr
        import sys

        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            self.owner._record_error(exc)

    def drop_all_connections(self) -> None:
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True   # headers and body go out at once (no 40 ms delayed-ACK stall)
    protocol_version = "HTTP/1.1"
    server_version = "ScriptedOpenAI/1.0"
    sys_version = ""
    server: _HTTPServer

    # ---- quiet
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    # ---- dispatch
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        owner = self.server.owner
        self.request_id = owner._next_request_id()
        self._chunked = False
        self._headers_sent = False
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.send_json(400, _error_body("Could not read request body", "invalid_request_error"))
            return
        path, _, query = self.path.partition("?")
        body: Any = None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                body = None
        req = RecordedRequest(
            method=self.command,
            path=path,
            headers=_Headers(self.headers.items()),
            body=body,
            raw_body=raw,
            query=query,
            client_address=tuple(self.client_address),
        )
        norm = path.rstrip("/") or "/"
        is_chat = norm == CHAT_COMPLETIONS_PATH
        step = owner._record(req, consume=is_chat and self.command == "POST")
        if self.server.stop_event.is_set():
            self.close_connection = True
        try:
            if is_chat:
                if self.command != "POST":
                    self._method_not_allowed()
                else:
                    step.run(self, req)
            elif norm == MODELS_PATH:
                if self.command != "GET":
                    self._method_not_allowed()
                else:
                    self.send_json(200, {"object": "list", "data": [_model_obj(DEFAULT_MODEL)]})
            elif norm.startswith(MODELS_PATH + "/") and self.command == "GET":
                model_id = norm[len(MODELS_PATH) + 1 :]
                if model_id == DEFAULT_MODEL:
                    self.send_json(200, _model_obj(DEFAULT_MODEL))
                else:
                    self.send_json(
                        404,
                        _error_body(
                            f"The model '{model_id}' does not exist",
                            "invalid_request_error",
                            "model_not_found",
                        ),
                    )
            else:
                self.send_json(
                    404,
                    _error_body(
                        f"Unknown request URL: {self.command} {path}. Please check the URL for typos.",
                        "invalid_request_error",
                        "unknown_url",
                    ),
                )
        except (ConnectionError, TimeoutError, OSError):
            self.close_connection = True
        except Exception as exc:  # a bug in a step: record it, answer 500 if still possible
            owner._record_error(exc)
            self.close_connection = True
            if not self._headers_sent:
                with contextlib.suppress(OSError):
                    self.send_json(500, _error_body(f"scripted server error: {exc!r}", "server_error"))

    def _method_not_allowed(self) -> None:
        self.send_json(
            405,
            _error_body(f"Method {self.command} not allowed for {self.path}", "invalid_request_error"),
            headers={"Allow": "POST" if self.path.startswith(CHAT_COMPLETIONS_PATH) else "GET"},
        )

    # ---- request body
    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts = []
            while True:
                size_line = self.rfile.readline(65537)
                if not size_line:
                    raise ValueError("truncated chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            return b""
        data = self.rfile.read(length)
        if len(data) != length:
            raise ValueError("truncated body")
        return data

    # ---- response helpers
    def completion_id(self) -> str:
        return "chatcmpl-" + self.request_id.split("_", 1)[-1]

    def _connection_header(self) -> None:
        if self.server.stop_event.is_set():
            self.close_connection = True
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            self.send_header("Connection", "keep-alive")

    def end_headers(self) -> None:
        self._headers_sent = True
        super().end_headers()

    def send_bytes(self, code: int, data: bytes, *, content_type: str, headers: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", self.request_id)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self._connection_header()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def send_json(self, code: int, obj: Any, *, headers: dict | None = None) -> None:
        self.send_bytes(
            code, json.dumps(obj).encode("utf-8"), content_type="application/json", headers=headers
        )

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("x-request-id", self.request_id)
        if self.request_version == "HTTP/1.0":
            self.close_connection = True  # no chunked encoding in 1.0: delimit by closing
        else:
            self._chunked = True
            self.send_header("Transfer-Encoding", "chunked")
        self._connection_header()
        self.end_headers()
        self.wfile.flush()

    def _write(self, data: bytes) -> bool:
        try:
            if self._chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    def send_event(self, data: Any) -> bool:
        """Write one SSE event ``data: ...\\n\\n``.

        Returns False if the client is gone or the server stopped."""
        if self.server.stop_event.is_set():
            self.abort_connection()
            return False
        payload = data if isinstance(data, str) else json.dumps(data)
        return self._write(b"data: " + payload.encode("utf-8") + b"\n\n")

    def end_stream(self) -> None:
        if self._chunked:
            with contextlib.suppress(OSError):
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        else:
            self.close_connection = True

    def abort_connection(self) -> None:
        """Close the connection now, mid-response (no terminating chunk, short body...)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def wait(self, seconds: float | None) -> bool:
        """Sleep up to ``seconds`` (None: forever).  Returns True if the full time elapsed, False if the
        server stopped or the client closed its end of the connection first."""
        stop = self.server.stop_event
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            remaining = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
            if remaining <= 0:
                return not stop.is_set()
            if stop.wait(remaining):
                return False
            if self._client_gone():
                return False

    def _client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


def _model_obj(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "scripted"}


# --------------------------------------------------------------------------- public server


class ScriptedOpenAIServer:
    """Loopback HTTP server speaking OpenAI chat-completions with scripted answers.

    - ``start()`` / ``stop()`` / context manager; ``base_url`` -> ``http://127.0.0.1:<port>/v1``
    - ``script(*steps)`` appends to a FIFO; each ``POST /v1/chat/completions`` consumes one step,
      or ``default`` when the queue is empty
    - ``requests``: snapshot list of ``RecordedRequest`` (every request, arrival order)
    - ``clear()``: empty the queue and the recorded requests
    """

    def __init__(self, *steps: Step, default: Step | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque = deque(_as_step(s) for s in steps)
        self._requests: list = []
        self._errors: list = []
        self._cond = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self.default: Step = default if default is not None else reply(DEFAULT_REPLY_TEXT)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    def start(self) -> ScriptedOpenAIServer:
        if self._httpd is not None:
            return self
        httpd = _HTTPServer(self)
        thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="scripted-openai-server",
            daemon=True,
        )
        self._httpd, self._thread = httpd, thread
        thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop promptly: release waiting handlers, stop serving, close the listening socket and all
        open connections.  Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._httpd = self._thread = None
        httpd.stop_event.set()  # releases hang()/delay() handlers
        httpd.shutdown()  # serve_forever loop exits within poll_interval
        httpd.server_close()  # listening socket; does not join handler threads
        httpd.drop_all_connections()  # unblocks keep-alive readers and hanging writers
        if thread is not None:
            thread.join(timeout)
        deadline = time.monotonic() + timeout
        with httpd.conn_lock:
            threads = list(httpd.handler_threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> ScriptedOpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedOpenAIServer is not running; call start() first")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ---- scripting
    def script(self, *steps: Step) -> ScriptedOpenAIServer:
        with self._lock:
            self._queue.extend(_as_step(s) for s in steps)
        return self

    @property
    def pending(self) -> int:
        """Number of scripted steps not yet consumed."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._errors.clear()

    # ---- observation
    @property
    def requests(self) -> list:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list:
        """Recorded ``POST /v1/chat/completions`` requests only."""
        return [
            r for r in self.requests if r.method == "POST" and r.path.rstrip("/") == CHAT_COMPLETIONS_PATH
        ]

    @property
    def errors(self) -> list:
        """Exceptions raised inside the server by steps (bugs in the fixture, not client faults)."""
        with self._lock:
            return list(self._errors)

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> bool:
        """Block until at least ``n`` requests have been recorded; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._requests) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # ---- internals used by the handler
    def _next_request_id(self) -> str:
        return f"req_scripted{next(self._ids):06d}"

    def _record(self, req: RecordedRequest, *, consume: bool) -> Step:
        with self._cond:
            self._requests.append(req)
            step = (self._queue.popleft() if self._queue else self.default) if consume else self.default
            self._cond.notify_all()
            return step

    def _record_error(self, exc: BaseException) -> None:
        with self._lock:
            self._errors.append(exc)


@contextlib.contextmanager
def running_server(*steps: Step, default: Step | None = None) -> Iterator[ScriptedOpenAIServer]:
    """Start a ScriptedOpenAIServer (optionally pre-scripted), yield it, always stop it."""
    server = ScriptedOpenAIServer(*steps, default=default)
    server.start()
    try:
        yield server
    finally:
        server.stop()
