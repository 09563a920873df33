"""The eval suite: cases, scoring, reports, baselines, concurrency, repeat, cache, judge."""

import json
import time
from collections import Counter

import pytest
from openai_server import delay, dynamic, reply

from drafter import Drafter
from drafter.cli import main
from drafter.evaluation.cases import EvalCase, load_cases
from drafter.evaluation.report import compare, render_html, summarize
from drafter.evaluation.runner import run_eval
from drafter.response_cache import ResponseCache

CASES = load_cases()
GOOD_EN = ("Hello,\n\nI can see how frustrating this is, and I'm sorry. Thank you for telling us.\n\n"
           "I am checking your case with the team in charge today and will get back to you as soon as I have "
           "their answer. Could you confirm your account number?\n\nKind regards,\nSam")


def test_dataset_covers_the_issue():
    assert len(CASES) >= 150
    langs = Counter(c.lang for c in CASES)
    assert min(langs.values()) >= 0.4 * len(CASES)
    categories = {c.category for c in CASES}
    for needed in ("insult_agent", "insult_company", "insult_product", "profanity", "shouting", "sarcasm",
                   "threat_legal", "threat_review", "threat_churn", "threat_violence", "threat_self_harm",
                   "injection", "polite", "mixed_language", "long_rant", "emoji_only", "no_accents",
                   "quoted_reply"):
        assert needed in categories, needed
    assert {"telecom", "delivery", "bank", "airline", "insurance", "software", "energy"} <= {c.domain for c in CASES}
    assert any(len(c.message) > 2500 for c in CASES)
    for case in CASES:
        for fact in case.expect.mention:
            assert fact in case.message, (case.id, fact)
        if case.category in ("threat_violence", "threat_self_harm"):
            assert case.expect.escalate, case.id


def _subset(n=12):
    return [c for c in CASES if c.lang == "fr"][: n // 2] + [c for c in CASES if c.lang == "en"][: n // 2]


def test_offline_report_shape():
    run = run_eval(_subset(), Drafter(offline=True), progress=False)
    report = summarize(run)
    assert list(report) == ["summary", "cases"]
    s = report["summary"]
    assert list(s)[:4] == ["cases", "passed", "pass_rate", "rules"]
    assert s["cases"] == 12 and 0 <= s["pass_rate"] <= 1
    assert set(s["rules"]["insult"]) >= {"checked", "passed", "rate"}
    assert s["rules"]["register"]["checked"] == 6      # French drafts only
    assert {c["id"] for c in report["cases"]} == {c.id for c in _subset()}
    html = render_html(report)
    assert "<table>" in html and "&lt;" not in s["backend"] and _subset()[0].message[:20] in html.replace("&#x27;", "'")


def test_baseline_comparison_finds_regressions_and_improvements():
    run = run_eval(_subset(4), Drafter(offline=True), progress=False)
    current = summarize(run)
    baseline = json.loads(json.dumps(current))
    first, second = baseline["cases"][0], baseline["cases"][1]
    current["cases"][0]["passed"], first["passed"] = False, True
    current["cases"][1]["passed"], second["passed"] = True, False
    diff = compare(current, baseline)
    assert diff["regressions"] == [first["id"]] and diff["improvements"] == [second["id"]]


def test_cli_eval_writes_reports_and_gates(tmp_path, capsys, no_model):
    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "few.toml").write_text('''
[[cases]]
id = "t-1"
category = "insult_agent"
lang = "fr"
message = "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213"
[cases.expect]
insult = true
mention = ["48213", "3 semaines"]

[[cases]]
id = "t-2"
category = "polite"
lang = "en"
message = "Hello, my parcel 55123 has not arrived after 10 days. Could you check? Thanks."
[cases.expect]
insult = false
mention = ["55123"]
''', encoding="utf-8")
    report = tmp_path / "out" / "report.html"
    code = main(["eval", "--cases", str(cases), "--report", str(report), "--min-pass", "1"])
    out = capsys.readouterr()
    assert code == 0, out.out
    assert "2 cases, 2 passed" in out.out
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["summary"]["cases"] == 2 and report.read_text().startswith("<!doctype html>")
    md = tmp_path / "r.md"
    assert main(["eval", "--cases", str(cases), "--report", str(md), "--baseline",
                 str(tmp_path / "out" / "report.json")]) == 0
    assert md.read_text().startswith("# drafter eval") and "against the baseline" in capsys.readouterr().out
    (cases / "impossible.toml").write_text('''
[[cases]]
id = "t-3"
category = "polite"
lang = "en"
message = "Hello, my parcel 55123 has not arrived. Thanks."
[cases.expect]
mention = ["a fact the message does not give"]
''', encoding="utf-8")
    assert main(["eval", "--cases", str(cases), "--min-pass", "0.9"]) == 1
    assert "under --min-pass" in capsys.readouterr().err


def test_cli_eval_bad_input(tmp_path, capsys):
    assert main(["eval", "--cases", str(tmp_path / "none")]) == 2
    with pytest.raises(SystemExit) as exit_:
        main(["eval", "--min-pass", "2"])
    assert exit_.value.code == 2
    assert main(["eval", "--offline", "--baseline", str(tmp_path / "missing.json")]) == 2


def test_model_eval_is_concurrent_and_cached(model_env, tmp_path):
    model_env.default = delay(0.2, reply(GOOD_EN))
    cases = [c for c in CASES if c.lang == "en" and c.category == "polite"][:6]
    cache = ResponseCache(tmp_path / "cache")
    drafter = Drafter(cache=cache)
    started = time.monotonic()
    run = run_eval(cases, drafter, concurrency=6, progress=False)
    assert time.monotonic() - started < 1.2          # six 0.2 s calls ran together
    calls = len(model_env.chat_requests)
    assert calls >= 6 and run.backend == "openai"
    run_eval(cases, Drafter(cache=ResponseCache(tmp_path / "cache")), concurrency=6, progress=False)
    assert len(model_env.chat_requests) == calls     # the re-run cost no model call


def test_concurrency_is_bounded(model_env):
    active, peak = [0], [0]
    import threading
    lock = threading.Lock()

    def slow(request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        return reply(GOOD_EN)

    model_env.default = dynamic(slow)
    cases = [c for c in CASES if c.lang == "en"][:8]
    run_eval(cases, Drafter(max_attempts=1), concurrency=2, progress=False)
    assert peak[0] <= 2


def test_repeat_reports_flaky_cases(model_env):
    bad = "Hello, you IDIOT. Regards"
    answers = iter([GOOD_EN, bad, bad, bad])
    model_env.default = dynamic(lambda request: reply(next(answers, GOOD_EN)))
    case = EvalCase("t-flaky", "polite", "en", "Hello, I still have no news about my case. Could you check? Thanks.")
    report = summarize(run_eval([case], Drafter(max_attempts=3), repeat=2, concurrency=1, progress=False))
    s = report["summary"]
    assert s["repeat"] == 2 and s["runs"] == 2 and s["runs_passed"] == 1
    assert s["flaky"] == [case.id] and s["passed"] == 0
    assert len(report["cases"]) == 2


def test_judge_scores_are_reported(model_env):
    verdict = '{"recognition": 4, "calm": 5, "limit": 5, "specificity": 3, "next_step": 4, "comment": "ok"}'
    model_env.default = dynamic(lambda r: reply(verdict if "Score it" in r.body["messages"][0]["content"]
                                                else GOOD_EN))
    case = [c for c in CASES if c.lang == "en" and c.category == "polite"][0]
    report = summarize(run_eval([case], Drafter(), judge=True, progress=False))
    assert report["summary"]["judge"] == {"recognition": 4.0, "calm": 5.0, "limit": 5.0, "specificity": 3.0,
                                          "next_step": 4.0}
