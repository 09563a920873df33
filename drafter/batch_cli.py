"""``drafter batch``: draft replies to every message of a JSONL or CSV file (see ``drafter.batch``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .arguments import add_model_options, add_reply_options, positive_int, seconds
from .errors import InputError

EXIT_OK, EXIT_FAIL, EXIT_INTERRUPTED = 0, 1, 130

EPILOG = """\
input (IN): JSONL, one object per line:  {"id": "t-1", "message": "...", "context": {...}}
            or CSV with the columns id, message and optionally context (a JSON object).
output (-o OUT): JSONL, one line per message, written as each finishes:
            {"id": ..., "reply": ..., "status": "ok"|"review", ...}  (the `draft --json` fields)
            {"id": ..., "error": {"type": ..., "message": ...}}       (a line that could not be drafted)

examples:
  drafter batch tickets.jsonl -o drafts.jsonl --base-url http://127.0.0.1:8080/v1 --concurrency 16
  drafter batch tickets.csv -o drafts.jsonl                 rerun after Ctrl-C: finished ids are skipped
  drafter batch tickets.jsonl -o drafts.jsonl --openai-batch --no-wait     submit, come back later
  drafter batch tickets.jsonl -o drafts.jsonl --openai-batch               collect (the batch id is in
                                                                           drafts.jsonl.batch.json)

Ids that ended in error are retried on the next run, unless --skip-errors.
Exit codes: 0 every message drafted, 1 some lines ended in error (see OUT), 2 bad input, 130 interrupted.
"""






def add_parser(sub: Any) -> None:
    p = sub.add_parser("batch", help="draft replies to every message of a JSONL or CSV file",
                       description="Draft a reply to every message of IN, several at once, into the JSONL "
                       "file OUT; an interrupted run resumes where it stopped.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", metavar="IN", help="JSONL or CSV file of messages (id, message, context)")
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="JSONL file of results (appended)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="drafts at once (default 8)")
    p.add_argument("--skip-errors", action="store_true", help="do not retry ids that ended in error in OUT")
    add_reply_options(p)
    add_model_options(p)
    g = p.add_argument_group("OpenAI Batch API (half price, no rate-limit pressure, answers within 24 h)")
    g.add_argument("--openai-batch", action="store_true", help="send the first drafts as one batch")
    g.add_argument("--batch-id", metavar="ID", help="collect this existing batch (implies --openai-batch)")
    g.add_argument("--poll-interval", type=seconds, default=30.0, metavar="SECONDS",
                   help="seconds between status checks (default 30)")
    g.add_argument("--no-wait", action="store_true", help="submit or check the batch, exit; rerun to collect")
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import BatchJob, say
    from .drafting import Drafter

    openai_batch = args.openai_batch or bool(args.batch_id)
    drafter = Drafter(model=args.model, base_url=args.base_url, prompts_dir=args.prompts,
                      timeout=args.timeout, temperature=args.temperature, seed=args.seed,
                      offline=args.offline or None, max_attempts=args.max_attempts)
    if openai_batch and drafter.offline:
        raise InputError("--openai-batch needs a model", hint="set OPENAI_API_KEY or --base-url")
    job = BatchJob(drafter, args.input, args.output, concurrency=args.concurrency,
                   skip_errors=args.skip_errors, lang=None if args.lang == "auto" else args.lang,
                   channel=args.channel)
    job.load()
    if drafter.offline and not args.offline:
        say("drafter: no model configured (OPENAI_API_KEY or --base-url): offline composer used")
    try:
        if openai_batch:
            summary = job.run_openai_batch(batch_id=args.batch_id, poll_interval=args.poll_interval,
                                           wait=not args.no_wait)
        else:
            summary = job.run()
    except KeyboardInterrupt:
        say(job.summary.line())
        where = "; the batch keeps running on the server" if job.summary.batch_id else ""
        say(f"interrupted{where}: rerun the same command to resume ({args.output} keeps what was done)")
        return EXIT_INTERRUPTED
    say(summary.line() + f" -> {args.output}")
    if summary.errors:
        say(f"{summary.errors} line(s) ended in error (see \"error\" in {args.output}); a rerun retries them")
    sys.stderr.flush()
    return EXIT_FAIL if summary.errors else EXIT_OK
