"""The ``drafter`` command line.

Exit codes: 0 success; 1 error or failed check; 2 usage or bad input; 130 interrupted (Ctrl-C).
Errors are one line on stderr (``error: …``); ``DRAFTER_DEBUG=1`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from .arguments import add_model_options, add_reply_options
from .constants import CHANNELS
from .errors import DrafterError, InputError

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG_DRAFT = """\
examples:
  echo "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213" | drafter draft
  drafter draft "You clowns lost my parcel 55123" --channel chat --agent Sam --json
  drafter draft --context case.toml < message.txt
  drafter draft --base-url http://127.0.0.1:8080/v1 --model gemma "..."   (llama.cpp, Ollama, vLLM)
  drafter draft --dry-run "..."         print the prompt that would be sent, call nothing

With no TEXT and a terminal on stdin: paste the message, then press Ctrl-D on a new line.
No OPENAI_API_KEY and no --base-url: the offline composer writes the draft (no network).
Exit codes: 0 draft written (see status for review), 1 error, 2 bad input, 130 interrupted.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _read_input(text: str | None, what: str) -> tuple[str, bool]:
    """TEXT, or stdin for '-' / no TEXT. Returns the text and whether it came from stdin."""
    if text is not None and text != "-":
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(f"the {what} given as an argument is not valid UTF-8") from None
        return text, False
    if sys.stdin is None:
        raise InputError(f"no {what}: pass it as TEXT or on stdin")
    if sys.stdin.isatty():
        sys.stderr.write(f"Paste the {what}, then press Ctrl-D on a new line (Ctrl-Z then Enter on Windows).\n")
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError as exc:
        raise InputError(f"the {what} on stdin is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); convert it with iconv -t UTF-8") from None


def _read_file(path: str, what: str) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a {what} file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: the {what} file is not valid UTF-8") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror})") from None


def _save_unsent(message: str) -> str | None:
    """Keep a pasted message when drafting fails, so that nothing the agent gave is lost."""
    from .settings import cache_dir

    base = cache_dir("unsent")
    try:
        base.mkdir(parents=True, exist_ok=True)
        path = base / f"message-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
        path.write_text(message, encoding="utf-8")
        return str(path)
    except OSError:
        return None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


# --- draft -----------------------------------------------------------------------------------------

class _TerminalStream:
    """Shows streamed text live, and erases it when the guard discards that draft."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, delta: str) -> None:
        self.text += delta
        sys.stdout.write(delta)
        sys.stdout.flush()

    def erase(self) -> None:
        if not self.text:
            return
        import shutil

        width = max(20, shutil.get_terminal_size().columns)
        rows = sum(max(1, -(-len(line) // width)) for line in self.text.split("\n"))
        sys.stdout.write(f"\r\x1b[{rows - 1}A\x1b[J" if rows > 1 else "\r\x1b[J")
        sys.stdout.flush()
        self.text = ""

    def discard(self, reason: str) -> None:
        self.erase()
        sys.stderr.write(f"revising: {reason}\n")


def _cmd_draft(args: argparse.Namespace) -> int:
    from .context import Context, load_context

    context = load_context(args.context) if args.context else Context()
    context = context.merged(company=args.company, agent=args.agent, customer_name=args.customer)
    if not args.offline and not args.dry_run and (args.base_url or os.environ.get("OPENAI_BASE_URL")
                                                  or os.environ.get("OPENAI_API_KEY")):
        _preload_model_client()
    message, from_stdin = _read_input(args.text, "customer's message")
    try:
        return _draft(args, context, message)
    except (DrafterError, KeyboardInterrupt):
        if from_stdin and message.strip():
            saved = _save_unsent(message)
            if saved:
                sys.stderr.write(f"drafter: your message was saved to {saved}\n")
        raise


def _preload_model_client() -> None:
    """Importing the openai SDK takes ~0.4 s; start it while the agent pastes the message."""
    import threading

    def load() -> None:
        from .model_client import preload

        preload()

    threading.Thread(target=load, daemon=True).start()


def _draft(args: argparse.Namespace, context: Any, message: str) -> int:
    from .drafting import Drafter, DraftRequest

    drafter = Drafter(model=args.model, base_url=args.base_url, prompts_dir=args.prompts, timeout=args.timeout,
                      temperature=args.temperature, seed=args.seed, offline=args.offline or None,
                      max_attempts=args.max_attempts)
    request = DraftRequest(message, context, None if args.lang == "auto" else args.lang, args.channel)
    if args.dry_run:
        messages = drafter.render_messages(request)
        if args.json:
            _print_json({"model": drafter.settings.model, "messages": messages})
        else:
            for m in messages:
                sys.stdout.write(f"----- {m['role']} -----\n{m['content']}\n")
        return EXIT_OK
    stream = _TerminalStream() if (sys.stdout.isatty() and not args.json and not drafter.offline) else None
    draft = drafter.draft(request, on_text=stream.write if stream else None,
                          on_retry=stream.discard if stream else None)
    if drafter.offline and not args.offline:
        sys.stderr.write("drafter: no model configured (OPENAI_API_KEY or --base-url): offline composer used\n")
    for notice in draft.notices:
        sys.stderr.write(f"notice: {notice}\n")
    if draft.escalate:
        sys.stderr.write("warning: " + draft.reasons[-1] + "\n")
    if args.json:
        _print_json(draft.to_dict())
    else:
        if stream and stream.text and stream.text.strip() == draft.reply:
            sys.stdout.write("\n")
        else:
            if stream:
                stream.erase()
            sys.stdout.write(draft.reply + "\n")
        if draft.status != "ok":
            for reason in draft.reasons:
                sys.stderr.write(f"review: {reason}\n")
    return EXIT_OK


# --- analyze and check -----------------------------------------------------------------------------

def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze_message

    text, _ = _read_input(args.text, "message")
    data = analyze_message(text).to_dict()
    if args.json:
        _print_json(data)
        return EXIT_OK
    insults = ", ".join(f"\"{i['text']}\" ({i['target']})" for i in data["insults"]) or "none"
    facts = "; ".join(f"{k.replace('_', ' ')}: {', '.join(v)}" for k, v in data["facts"].items() if v) or "none"
    lines = [
        f"language:  {data['language']} (confidence {data['language_confidence']})",
        f"insults:   {insults}",
        f"anger:     {data['anger']}/3{'  shouting' if data['shouting'] else ''}",
        f"threats:   {', '.join(data['threats']) or 'none'}{'  -> escalate' if data['escalate'] else ''}",
        f"injection: {'yes' if data['injection'] else 'no'}",
        f"facts:     {facts}",
        f"topic:     {data['topic']}",
    ]
    if data["personal_data"]:
        lines.append(f"personal:  {len(data['personal_data'])} item(s) that a reply must not repeat")
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from .checker import check_reply
    from .context import Context, load_context

    context = load_context(args.context) if args.context else Context()
    message = _read_file(args.message, "message") if args.message else None
    reply, _ = _read_input(args.text, "reply")
    result = check_reply(reply, message=message, context=context, lang=args.lang, channel=args.channel)
    if args.json:
        _print_json(result.to_dict())
    elif not result.violations:
        sys.stdout.write("passed: no violation\n")
    else:
        for v in result.violations:
            where = f" \"{v.text}\"" if v.text else ""
            sys.stdout.write(f"{v.rule} ({v.severity}){where}: {v.message}\n")
    return EXIT_OK if result.passed else EXIT_FAIL


# --- parser ----------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="drafter", description="Calm, specific, safe replies to angry or insulting customer "
                     "messages, in French and English.", formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Run 'drafter COMMAND --help' for each command's options and examples.")
    parser.add_argument("--version", action="version", version=f"drafter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("draft", help="draft a reply to a customer's message", epilog=EPILOG_DRAFT,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Draft a calm reply: recognise, set one calm limit if insulted, act.")
    p.add_argument("text", nargs="?", metavar="TEXT|-", help="the customer's message (default: stdin)")
    add_reply_options(p)
    p.add_argument("--context", metavar="FILE", help="TOML or JSON: company, agent, customer_name, facts, policy")
    p.add_argument("--company", help="company name for the reply")
    p.add_argument("--agent", help="agent name to sign with")
    p.add_argument("--customer", help="customer's name for the greeting")
    add_model_options(p)
    p.add_argument("--json", action="store_true", help="print the draft and its checks as JSON")
    p.add_argument("--dry-run", action="store_true", help="print the messages that would be sent; call nothing")
    p.set_defaults(func=_cmd_draft)

    p = sub.add_parser("analyze", help="show what was read in a message",
                       description="Language, insults and their targets, anger, threats, injection, facts, topic.")
    p.add_argument("text", nargs="?", metavar="TEXT|-", help="the message (default: stdin)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("check", help="lint a reply against the tone rules (exit 1 on a hard violation)",
                       description="Check any reply, also one written by hand. One line per violation: "
                       "rule (severity) \"words at fault\": why.")
    p.add_argument("text", nargs="?", metavar="REPLY|-", help="the reply (default: stdin)")
    p.add_argument("--message", metavar="FILE", help="the customer's message, to check echoes, limit, facts")
    p.add_argument("--context", metavar="FILE", help="TOML or JSON context (policy for overpromise)")
    p.add_argument("--lang", choices=("fr", "en"), help="language the reply must be in")
    p.add_argument("--channel", choices=CHANNELS, default=None, help="channel, for the length bounds")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_check)

    from .evaluation.cli import add_eval_parser

    add_eval_parser(sub)
    for module in ("batch_cli", "serve_cli"):   # each adds its own subcommand, when present
        try:
            mod = __import__(f"drafter.{module}", fromlist=["add_parser"])
        except ModuleNotFoundError as exc:
            if exc.name != f"drafter.{module}":
                raise
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    debug = os.environ.get("DRAFTER_DEBUG") == "1"
    try:
        return args.func(args)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except DrafterError as exc:
        if debug:
            raise
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the last line of defence: one line, never a traceback by default
        if debug:
            raise
        sys.stderr.write(f"error: internal error ({type(exc).__name__}: {exc}); rerun with DRAFTER_DEBUG=1 "
                         "and report it\n")
        return EXIT_FAIL


def run() -> None:
    """The console entry point: ``main``, then exit.

    Once the ``openai`` SDK is loaded, the interpreter's own teardown (thousands of pydantic
    classes) takes 0.2-0.3 s after the work is done; everything is written and flushed by then, so
    the process leaves at once instead."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass
    if "openai" in sys.modules:
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
