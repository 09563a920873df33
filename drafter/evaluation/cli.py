"""``drafter eval``: run the cases, print the summary, write reports, gate on thresholds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..arguments import add_model_options, positive_int, rate
from ..errors import InputError

EPILOG = """\
examples:
  drafter eval                                  offline composer on the shipped cases
  drafter eval --base-url http://127.0.0.1:8080/v1 --concurrency 8 --report out/llama.html
  drafter eval --report new.json --baseline old.json     regressions and improvements
  drafter eval --min-pass 0.9 --min-soft 0.9             the CI gate
  drafter eval --checker                        precision/recall of each tone rule on evals/replies

Exit codes: 0 pass, 1 a hard-rule failure or a rate under --min-pass/--min-soft, 2 bad input.
"""






def add_eval_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="run the eval suite (cases → drafts → tone rules and expectations)",
                       description="Draft every case, check each draft with the tone rules and the case's "
                       "expectations, and report pass rates per rule, category and language.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", metavar="DIR", help="directory of case files (default: the shipped evals/cases)")
    add_model_options(p, sampling=False)
    p.add_argument("--sample", type=positive_int, metavar="N",
                   help="run N cases spread evenly over the set (quick runs)")
    p.add_argument("--concurrency", type=positive_int, default=8, help="model calls at once (default 8)")
    p.add_argument("--repeat", type=positive_int, default=1, help="draft each case K times; reports flaky cases")
    p.add_argument("--report", metavar="FILE", help="write the report: JSON, plus Markdown (.md) or HTML (.html)")
    p.add_argument("--baseline", metavar="FILE", help="an earlier JSON report to compare against")
    p.add_argument("--min-pass", type=rate, metavar="RATE", help="fail under this case pass rate (0-1)")
    p.add_argument("--min-soft", type=rate, metavar="RATE", help="fail under this soft-rule pass rate (0-1)")
    p.add_argument("--no-cache", action="store_true", help="always call the model (no response cache)")
    p.add_argument("--judge", action="store_true", help="also grade drafts with the model (1-5, five criteria)")
    p.add_argument("--checker", action="store_true", help="measure the tone rules on labelled replies instead")
    p.add_argument("--replies", metavar="DIR", help="labelled replies for --checker (default: evals/replies)")
    p.add_argument("--quiet", action="store_true", help="print only the first summary line")
    p.set_defaults(func=cmd_eval)


def _checker(args: argparse.Namespace) -> int:
    from ..tone_rules import HARD_RULE_IDS
    from .checker_metrics import checker_metrics, load_labelled

    items = load_labelled(args.replies)
    metrics = checker_metrics(items)
    ok = True
    sys.stdout.write(f"{len(items)} labelled replies\nrule          precision  recall   tp  fp  fn\n")
    for rule, m in metrics.items():
        need = 0.9 if rule in HARD_RULE_IDS else 0.75
        good = m.precision >= need and m.recall >= need
        ok &= good
        sys.stdout.write(f"{rule:<13} {m.precision:>9.2f} {m.recall:>7.2f} {m.tp:>4} {m.fp:>3} {m.fn:>3}"
                         f"{'' if good else '  below ' + str(need)}\n")
    return 0 if ok else 1


def cmd_eval(args: argparse.Namespace) -> int:
    if args.checker:
        return _checker(args)
    from ..drafting import Drafter
    from ..response_cache import ResponseCache
    from .cases import load_cases
    from .report import compare, load_report, render_text, summarize, write_report
    from .runner import run_eval

    cases = load_cases(args.cases)
    if args.sample and args.sample < len(cases):
        step = len(cases) / args.sample
        cases = [cases[int(i * step)] for i in range(args.sample)]
    baseline = load_report(args.baseline) if args.baseline else None
    drafter = Drafter(model=args.model, base_url=args.base_url, prompts_dir=args.prompts, timeout=args.timeout,
                      offline=args.offline or None, cache=None if args.no_cache else ResponseCache())
    if drafter.offline:
        drafter.cache = None
        if args.judge:
            raise InputError("--judge needs a model: set --base-url or OPENAI_API_KEY")
        if not args.offline:
            sys.stderr.write("drafter: no model configured (OPENAI_API_KEY or --base-url): offline composer used\n")
    run = run_eval(cases, drafter, repeat=args.repeat, concurrency=args.concurrency, judge=args.judge)
    report = summarize(run)
    if baseline is not None:
        report["baseline"] = compare(report, baseline)
    text = render_text(report)
    sys.stdout.write(text.splitlines()[0] + "\n" if args.quiet else text)
    if args.report:
        for path in write_report(report, args.report):
            sys.stderr.write(f"report written: {path}\n")
    s = report["summary"]
    failed = []
    if s["hard_failures"]:
        failed.append(f"{s['hard_failures']} hard-rule failure(s)")
    if args.min_pass is not None and s["pass_rate"] < args.min_pass:
        failed.append(f"pass rate {s['pass_rate']:.1%} under --min-pass {args.min_pass:.1%}")
    if args.min_soft is not None and s["soft_pass_rate"] < args.min_soft:
        failed.append(f"soft-rule pass rate {s['soft_pass_rate']:.1%} under --min-soft {args.min_soft:.1%}")
    if failed:
        sys.stderr.write("eval failed: " + "; ".join(failed) + "\n")
        return 1
    return 0
