"""``drafter serve``: the HTTP API of ``drafter.server`` under uvicorn.

The options become environment variables before uvicorn starts, so that every worker process
(``--workers N`` makes uvicorn import ``drafter.server:app_from_env`` in each) builds the same app:
``DRAFTER_API_TOKEN``, ``DRAFTER_SERVE_MAX_BODY``, ``DRAFTER_SERVE_OFFLINE``, ``OPENAI_BASE_URL``,
``DRAFTER_MODEL``, ``DRAFTER_PROMPTS_DIR``, ``DRAFTER_TIMEOUT``. The API key is read from
``OPENAI_API_KEY`` only, never from the command line, and is never printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

from .arguments import add_model_options
from .errors import DrafterError, InputError

EPILOG = """\
examples:
  drafter serve                              offline composer on http://127.0.0.1:8000, docs at /docs
  drafter serve --base-url http://127.0.0.1:8080/v1 --model gemma      (llama.cpp, Ollama, vLLM)
  DRAFTER_API_TOKEN=s3cret drafter serve --host 0.0.0.0 --port 8080
  curl -s http://127.0.0.1:8000/v1/draft -H 'Content-Type: application/json' \\
       -d '{"message": "You clowns lost my parcel 55123", "context": {"agent": "Sam"}}'

endpoints: POST /v1/draft, POST /v1/check, POST /v1/analyze (JSON of 'drafter draft|check|analyze
--json'), GET /healthz (never needs the token), GET /openapi.json, GET /docs.

scaling out: the server keeps no state between requests, so
  drafter serve --workers 4                  4 processes share the port (about one per core)
or run several instances (containers, hosts) behind any load balancer, health check GET /healthz.

Each worker reads its settings from the environment, which serve sets from these options:
DRAFTER_API_TOKEN, DRAFTER_SERVE_MAX_BODY, DRAFTER_SERVE_OFFLINE, OPENAI_BASE_URL, DRAFTER_MODEL,
DRAFTER_PROMPTS_DIR, DRAFTER_TIMEOUT; the key comes from OPENAI_API_KEY only.
Prefer DRAFTER_API_TOKEN to --token: other users of the machine can read command lines.
"""

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOOPBACK = ("127.", "localhost", "::1")


def add_parser(sub: Any) -> None:
    """Add ``serve`` to the ``drafter`` subcommands (called by ``drafter.cli.build_parser``)."""
    p = sub.add_parser("serve", help="serve the HTTP API (draft, check, analyze)", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Serve POST /v1/draft, /v1/check, /v1/analyze and GET /healthz over HTTP, "
                       "with an OpenAPI document at /openapi.json.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1; about one per core)")
    p.add_argument("--token", default=os.environ.get("DRAFTER_API_TOKEN"),
                   help="bearer token required on /v1/* (env DRAFTER_API_TOKEN; default: none)")
    p.add_argument("--max-body", type=int, default=1_000_000, metavar="BYTES",
                   help="largest request body accepted, 413 beyond (default 1000000)")
    add_model_options(p, sampling=False)
    p.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="server log level (default info)")
    p.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    p.set_defaults(func=_cmd_serve)


def _require_server() -> tuple[Any, Any]:
    """uvicorn and drafter.server, or one line saying how to install them."""
    try:
        import uvicorn

        from . import server
    except ImportError as exc:
        raise DrafterError(f"drafter serve needs {exc.name or 'fastapi and uvicorn'}, which is not installed",
                           hint="pip install 'drafter[serve]'") from None
    return uvicorn, server


def _validate(args: argparse.Namespace) -> None:
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    if args.max_body < 1:
        raise InputError(f"--max-body must be at least 1 byte, got {args.max_body}")


def _export(args: argparse.Namespace, server: Any) -> None:
    """Options → environment, for this process and the workers it starts."""
    values = {
        server.ENV_TOKEN: args.token or "", server.ENV_MAX_BODY: str(args.max_body),
        server.ENV_OFFLINE: "1" if args.offline else "", "OPENAI_BASE_URL": args.base_url,
        "DRAFTER_MODEL": args.model, "DRAFTER_PROMPTS_DIR": args.prompts,
        "DRAFTER_TIMEOUT": None if args.timeout is None else repr(args.timeout),
    }
    for name, value in values.items():
        if value is not None:
            os.environ[name] = value


def _cmd_serve(args: argparse.Namespace) -> int:
    _validate(args)
    uvicorn, server = _require_server()
    _export(args, server)
    app = server.app_from_env()          # validates the settings here, once, before any worker starts
    drafter = app.state.drafter
    host = f"[{args.host}]" if ":" in args.host else args.host
    if drafter.offline:
        backend = "offline composer" + ("" if args.offline else " (no model configured: OPENAI_API_KEY or "
                                        "--base-url)")
    else:
        backend = f"model {drafter.settings.model}"
    workers = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    auth = "bearer token required" if args.token else "no token"
    sys.stderr.write(f"drafter: serving http://{host}:{args.port} with the {backend}, {workers}, {auth}; "
                     f"API docs at /docs\n")
    if not args.token and not args.host.startswith(LOOPBACK):
        sys.stderr.write(f"warning: listening on {args.host} without a token: anyone who reaches this port "
                         "can use it (set DRAFTER_API_TOKEN)\n")
    options: dict[str, Any] = {"host": args.host, "port": args.port, "log_level": args.log_level,
                               "access_log": not args.no_access_log, "server_header": False}
    if args.workers == 1:
        uvicorn.run(app, **options)
    else:   # each worker process imports the factory and builds its app from the environment
        with _tcp_listener(uvicorn):
            uvicorn.run("drafter.server:app_from_env", factory=True, workers=args.workers, **options)
    return 0


@contextlib.contextmanager
def _tcp_listener(uvicorn: Any) -> Iterator[None]:
    """With several workers, uvicorn binds the listening socket itself with ``proto`` 0, so asyncio
    never sets TCP_NODELAY on the accepted connections and every keep-alive answer waits ~40 ms for
    the client's delayed ACK (Kludex/uvicorn#3149; measured here: 48 ms per request, whatever the
    load). Re-wrap that socket as TCP, as ``--workers 1`` gets it, while ``uvicorn.run`` binds it."""
    config_class = uvicorn.Config
    original = config_class.bind_socket

    def bind_socket(self: Any) -> socket.socket:
        sock = original(self)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto != socket.IPPROTO_TCP:
            sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.set_inheritable(True)
        return sock

    config_class.bind_socket = bind_socket
    try:
        yield
    finally:
        config_class.bind_socket = original
