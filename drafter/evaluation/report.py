"""Eval reports: the summary, the terminal text, JSON/Markdown/HTML files, and baseline comparison."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..tone_rules import HARD, RULE_IDS, TONE_RULES
from .judge import CRITERIA
from .runner import EvalRun
from .scoring import EXPECTATIONS, SEVERITY

_DESCRIPTION = {rule.id: rule.description for rule in TONE_RULES}


def _rate(passed: int, checked: int) -> float:
    return round(passed / checked, 4) if checked else 1.0


def summarize(run: EvalRun) -> dict[str, Any]:
    """The report as a dict: ``{"summary": {...}, "cases": [...]}``."""
    rules = {rule: [0, 0] for rule in RULE_IDS}
    expectations = {name: [0, 0] for name in EXPECTATIONS}
    groups: dict[str, dict[str, list[int]]] = {"categories": defaultdict(lambda: [0, 0]),
                                               "languages": defaultdict(lambda: [0, 0])}
    outcomes: dict[str, list[bool]] = defaultdict(list)
    judge_sum: dict[str, list[float]] = defaultdict(list)
    cases_out = []
    for sample, score in run.scores:
        for rule, ok in score.rules.items():
            rules[rule][0] += 1
            rules[rule][1] += ok
        for name, ok in score.expectations.items():
            expectations[name][0] += 1
            expectations[name][1] += ok
        for key, value in (("categories", score.case.category), ("languages", score.case.lang)):
            groups[key][value][0] += 1
            groups[key][value][1] += score.passed
        outcomes[score.case.id].append(score.passed)
        if score.judge and "error" not in score.judge:
            for criterion in CRITERIA:
                judge_sum[criterion].append(score.judge[criterion])
        cases_out.append({**score.to_dict(), "sample": sample})
    soft_checked = sum(c for r, (c, _) in rules.items() if SEVERITY[r] != HARD)
    soft_passed = sum(p for r, (_, p) in rules.items() if SEVERITY[r] != HARD)
    hard_failures = sum(c - p for r, (c, p) in rules.items() if SEVERITY[r] == HARD)
    passed_cases = sum(all(v) for v in outcomes.values())
    runs = len(run.scores)
    runs_passed = sum(s.passed for _, s in run.scores)
    summary: dict[str, Any] = {
        "cases": len(outcomes),
        "passed": passed_cases,
        "pass_rate": _rate(passed_cases, len(outcomes)),
        "rules": {r: {"severity": SEVERITY[r], "checked": c, "passed": p, "rate": _rate(p, c)}
                  for r, (c, p) in rules.items()},
        "expectations": {n: {"checked": c, "passed": p, "rate": _rate(p, c)} for n, (c, p) in expectations.items()
                         if c},
        "categories": {k: {"runs": c, "passed": p, "rate": _rate(p, c)}
                       for k, (c, p) in sorted(groups["categories"].items())},
        "languages": {k: {"runs": c, "passed": p, "rate": _rate(p, c)}
                      for k, (c, p) in sorted(groups["languages"].items())},
        "hard_failures": hard_failures,
        "soft_pass_rate": _rate(soft_passed, soft_checked),
        "runs": runs,
        "runs_passed": runs_passed,
        "run_pass_rate": _rate(runs_passed, runs),
        "repeat": run.repeat,
        "flaky": sorted(cid for cid, v in outcomes.items() if any(v) and not all(v)),
        "backend": run.backend,
        "model": run.model,
        "elapsed_s": run.elapsed_s,
        "cache": run.cache,
        "usage": run.usage,
        "errors": sum(1 for _, s in run.scores if s.error),
    }
    if judge_sum:
        summary["judge"] = {c: round(sum(v) / len(v), 2) for c, v in judge_sum.items()}
    return {"summary": summary, "cases": cases_out}


def compare(current: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """Regressions and improvements of ``current`` against an earlier report."""
    def by_case(report: dict[str, Any]) -> dict[str, bool]:
        result: dict[str, bool] = {}
        for case in report.get("cases", []):
            result[case["id"]] = result.get(case["id"], True) and bool(case["passed"])
        return result

    now, before = by_case(current), by_case(baseline)
    rules = {}
    for rule, data in current["summary"]["rules"].items():
        old = baseline.get("summary", {}).get("rules", {}).get(rule)
        if old:
            rules[rule] = round(data["rate"] - old["rate"], 4)
    return {
        "regressions": sorted(c for c in now if before.get(c) is True and not now[c]),
        "improvements": sorted(c for c in now if before.get(c) is False and now[c]),
        "new_cases": sorted(c for c in now if c not in before),
        "pass_rate_delta": round(current["summary"]["pass_rate"] - baseline.get("summary", {}).get("pass_rate", 0), 4),
        "rules": rules,
    }


def load_report(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such baseline report") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON report ({exc})") from None
    if not isinstance(data, dict) or "summary" not in data or "cases" not in data:
        raise InputError(f"{path}: not a drafter eval report (no summary/cases)")
    return data


# --- rendering -------------------------------------------------------------------------------------

def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_text(report: dict[str, Any], *, max_failures: int = 40) -> str:
    s = report["summary"]
    lines = [f"{s['cases']} cases, {s['passed']} passed ({_pct(s['pass_rate'])}); hard-rule failures: "
             f"{s['hard_failures']}; soft-rule pass rate: {_pct(s['soft_pass_rate'])}; backend {s['backend']}"
             + (f" ({s['model']})" if s["model"] else "") + f"; {s['elapsed_s']:.1f}s"]
    if s["repeat"] > 1:
        lines.append(f"repeat {s['repeat']}: {s['runs_passed']}/{s['runs']} runs passed "
                     f"({_pct(s['run_pass_rate'])}); flaky: {', '.join(s['flaky']) or 'none'}")
    lines.append("\nrules")
    for rule, d in s["rules"].items():
        lines.append(f"  {rule:<12} {d['severity']:<4} {d['passed']:>4}/{d['checked']:<4} {_pct(d['rate']):>7}")
    if s["expectations"]:
        lines.append("\nexpectations")
        for name, d in s["expectations"].items():
            lines.append(f"  {name:<12}      {d['passed']:>4}/{d['checked']:<4} {_pct(d['rate']):>7}")
    for key in ("categories", "languages"):
        lines.append(f"\n{key}")
        for name, d in s[key].items():
            lines.append(f"  {name:<18} {d['passed']:>4}/{d['runs']:<4} {_pct(d['rate']):>7}")
    if s.get("judge"):
        lines.append("\njudge (1-5): " + ", ".join(f"{k} {v}" for k, v in s["judge"].items()))
    failing = [c for c in report["cases"] if not c["passed"]]
    if failing:
        lines.append(f"\nfailing ({len(failing)})")
        for case in failing[:max_failures]:
            why = "; ".join(f"{f['check']}" + (f" \"{f['text']}\"" if f["text"] else f": {f['message']}")
                            for f in case["failures"] if f["severity"] in ("hard", "expect", "error"))
            lines.append(f"  {case['id']}: {why}")
        if len(failing) > max_failures:
            lines.append(f"  … {len(failing) - max_failures} more in the report")
    if "baseline" in report:
        b = report["baseline"]
        lines.append(f"\nagainst the baseline: pass rate {b['pass_rate_delta']:+.1%}; "
                     f"{len(b['regressions'])} regression(s), {len(b['improvements'])} improvement(s)")
        for cid in b["regressions"]:
            lines.append(f"  regressed: {cid}")
        for cid in b["improvements"]:
            lines.append(f"  improved:  {cid}")
        moved = {r: d for r, d in b["rules"].items() if d}
        if moved:
            lines.append("  rules: " + ", ".join(f"{r} {d:+.1%}" for r, d in moved.items()))
    return "\n".join(lines) + "\n"


def render_markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    out = ["# drafter eval", "", f"**{s['passed']}/{s['cases']} cases passed ({_pct(s['pass_rate'])})**, "
           f"hard-rule failures: {s['hard_failures']}, soft-rule pass rate: {_pct(s['soft_pass_rate'])}, "
           f"backend `{s['backend']}`" + (f" (`{s['model']}`)" if s["model"] else "") + ".", "",
           "| rule | severity | passed | checked | rate |", "|---|---|---|---|---|"]
    out += [f"| `{r}` | {d['severity']} | {d['passed']} | {d['checked']} | {_pct(d['rate'])} |"
            for r, d in s["rules"].items()]
    for key in ("categories", "languages"):
        label = "category" if key == "categories" else key[:-1]
        out += ["", f"| {label} | passed | runs | rate |", "|---|---|---|---|"]
        out += [f"| {n} | {d['passed']} | {d['runs']} | {_pct(d['rate'])} |" for n, d in s[key].items()]
    failing = [c for c in report["cases"] if not c["passed"]]
    out += ["", f"## Failing cases ({len(failing)})", ""]
    for case in failing:
        out.append(f"- **{case['id']}** ({case['category']}): " + "; ".join(
            f"`{f['check']}` {f['text'] or f['message']}" for f in case["failures"]))
    return "\n".join(out) + "\n"


def render_html(report: dict[str, Any]) -> str:
    s = report["summary"]
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>drafter eval</title><style>"
             "body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}"
             "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .6rem;"
             "text-align:left;vertical-align:top}th{background:#f3f3f3}.fail{color:#a00}.ok{color:#070}"
             "pre{white-space:pre-wrap;margin:0;font:13px/1.4 ui-monospace,monospace}"
             "details{margin:.4rem 0;border:1px solid #ddd;padding:.4rem .6rem;border-radius:4px}"
             "summary{cursor:pointer}</style></head><body>",
             f"<h1>drafter eval</h1><p><b>{s['passed']}/{s['cases']} cases passed ({_pct(s['pass_rate'])})</b>; "
             f"hard-rule failures: {s['hard_failures']}; soft-rule pass rate: {_pct(s['soft_pass_rate'])}; "
             f"backend {e(s['backend'])} {e(s['model'] or '')}; {s['elapsed_s']:.1f}s.</p>"]
    parts.append("<h2>Rules</h2><table><tr><th>rule</th><th>severity</th><th>what it checks</th><th>passed</th>"
                 "<th>rate</th><th>failing cases</th></tr>")
    for rule, d in s["rules"].items():
        failing = [c["id"] for c in report["cases"] if c["rules"].get(rule) is False]
        cls = "ok" if d["rate"] == 1 else "fail"
        parts.append(f"<tr><td><code>{rule}</code></td><td>{d['severity']}</td><td>{e(_DESCRIPTION[rule])}</td>"
                     f"<td>{d['passed']}/{d['checked']}</td><td class='{cls}'>{_pct(d['rate'])}</td>"
                     f"<td>{e(', '.join(failing[:12]))}{' …' if len(failing) > 12 else ''}</td></tr>")
    parts.append("</table>")
    for key in ("expectations", "categories", "languages"):
        parts.append(f"<h2>{key.capitalize()}</h2><table><tr><th>{key}</th><th>passed</th><th>rate</th></tr>")
        for name, d in s[key].items():
            total = d.get("checked", d.get("runs"))
            parts.append(f"<tr><td>{e(name)}</td><td>{d['passed']}/{total}</td><td>{_pct(d['rate'])}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Cases</h2>")
    for case in report["cases"]:
        mark = "<span class='ok'>pass</span>" if case["passed"] else "<span class='fail'>fail</span>"
        why = "".join(f"<li><code>{e(f['check'])}</code> {e(f['text'] or '')} — {e(f['message'])}</li>"
                      for f in case["failures"])
        parts.append(f"<details{' open' if not case['passed'] else ''}><summary>{mark} <b>{e(case['id'])}</b> "
                     f"({e(case['category'])}, {e(case['lang'])}, {e(case['channel'])})</summary>"
                     f"<table><tr><th>message</th><th>draft ({e(str(case['status']))})</th></tr><tr>"
                     f"<td><pre>{e(case['message'])}</pre></td>"
                     f"<td><pre>{e(case['reply'] or '')}</pre></td></tr></table>"
                     + (f"<ul>{why}</ul>" if why else "") + "</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: dict[str, Any], path: str | Path) -> list[Path]:
    """JSON always; plus Markdown (.md) or HTML (.html/.htm) when the extension asks for it."""
    target = Path(path)
    written = []
    json_path = target if target.suffix.lower() == ".json" else target.with_suffix(".json")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        written.append(json_path)
        if target.suffix.lower() == ".md":
            target.write_text(render_markdown(report), encoding="utf-8")
            written.append(target)
        elif target.suffix.lower() in (".html", ".htm"):
            target.write_text(render_html(report), encoding="utf-8")
            written.append(target)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the report ({exc.strerror})") from None
    return written
