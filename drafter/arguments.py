"""Option value types shared by the commands: each rejects a bad value with a one-line usage error."""

from __future__ import annotations

import argparse

from .constants import CHANNELS, LANGUAGES


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def rate(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number between 0 and 1") from None
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not between 0 and 1")
    return number


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def add_model_options(parser: argparse.ArgumentParser, *, sampling: bool = True) -> None:
    """The options that choose and shape the model, shared by draft, batch, eval and serve."""
    parser.add_argument("-m", "--model", help="model name (env DRAFTER_MODEL, default gpt-4o-mini)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL)")
    parser.add_argument("--offline", action="store_true", help="use the offline composer even if a model is set")
    parser.add_argument("--prompts", metavar="DIR", help="directory of templates overriding the shipped ones")
    parser.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="deadline per draft, retries included (env DRAFTER_TIMEOUT, default 60)")
    if sampling:
        parser.add_argument("--temperature", type=float, help="sampling temperature (default 0.3)")
        parser.add_argument("--seed", type=int, help="sampling seed, for servers that honour it")
        parser.add_argument("--max-attempts", type=int, help="model drafts before the offline fallback (default 3)")


def add_reply_options(parser: argparse.ArgumentParser) -> None:
    """The reply's language and channel, shared by draft and batch."""
    parser.add_argument("--lang", choices=("auto", *LANGUAGES), default="auto", help="reply language (default: auto)")
    parser.add_argument("--channel", choices=CHANNELS, default=None, help="email (default), chat or phone")
