"""Speed of the core paths, measured (not asserted). Run: .venv/bin/python benchmarks/bench_core.py

- offline `drafter draft` from the shell (process start included), median of N runs
- offline draft in process, per draft
- check_reply per reply, over the labelled replies
- the model path from the shell against a local server that answers at once: the drafter's own
  overhead beyond the model's time (process start, openai import, HTTP, checks)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
MESSAGE = "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213"
GOOD = ("Bonjour,\n\nJe comprends votre exaspération : vous attendez votre commande 48213 depuis 3 semaines. Merci de "
        "nous l'avoir signalé.\n\nJe vous demande de garder un ton courtois afin que je puisse vous aider.\n\n"
        "J'ouvre aujourd'hui une enquête auprès du transporteur et je reviens vers vous dès que j'ai sa réponse.\n\n"
        "Cordialement,\nCamille")


def shell(args: list[str], env: dict[str, str], runs: int) -> float:
    drafter_bin = str(Path(sys.executable).parent / "drafter")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([drafter_bin, *args], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from drafter import Drafter, DraftRequest, check_reply

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "DRAFTER_"))}
    shell(["draft", "--offline", MESSAGE], env, 2)   # warm the OS cache and the template cache
    offline_shell = shell(["draft", "--offline", MESSAGE], env, 15)

    drafter = Drafter(offline=True)
    drafter.draft(DraftRequest(MESSAGE))
    n = 300
    started = time.perf_counter()
    for i in range(n):
        drafter.draft(DraftRequest(f"{MESSAGE} {i}"))
    in_process = (time.perf_counter() - started) / n

    items = []
    for path in sorted((ROOT / "evals" / "replies").glob("*.toml")):
        items += tomllib.loads(path.read_text(encoding="utf-8"))["replies"]
    from drafter import analyze_message

    prepared = [(i["reply"], analyze_message(i["message"]), i.get("lang")) for i in items]
    check_reply(*prepared[0][:1])
    started = time.perf_counter()
    rounds = 5
    for _ in range(rounds):
        for reply, analysis, lang in prepared:
            check_reply(reply, analysis=analysis, lang=lang)
    per_check = (time.perf_counter() - started) / (rounds * len(prepared))

    # the longest message drafter reads by default (DRAFTER_MAX_CHARS): the eval's long rants, end to end
    from drafter.evaluation.cases import load_cases

    rants = [c.message for c in load_cases(None) if c.category == "long_rant"]
    long_text = "\n\n".join(rants * (20_000 // sum(map(len, rants)) + 1))[:20_000]
    started = time.perf_counter()
    long_analysis = analyze_message(long_text)
    long_analyze = time.perf_counter() - started
    started = time.perf_counter()
    check_reply(long_text, analysis=long_analysis)
    long_check = time.perf_counter() - started

    from openai_server import ScriptedOpenAIServer, reply

    with ScriptedOpenAIServer(default=reply(GOOD)) as server:
        model_env = {**env, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "bench"}
        shell(["draft", MESSAGE], model_env, 2)
        model_shell = shell(["draft", MESSAGE], model_env, 15)

    print(f"offline draft, shell (process start included), median of 15: {offline_shell * 1000:.0f} ms")
    print(f"offline draft, in process: {in_process * 1000:.2f} ms per draft")
    print(f"check_reply: {per_check * 1000:.3f} ms per reply ({len(prepared)} labelled replies x {rounds})")
    print(f"a 20,000-character message ({len(rants)} long rants from evals/cases, repeated): analyze "
          f"{long_analyze * 1000:.0f} ms, check it as a reply {long_check * 1000:.0f} ms")
    print(f"model path, shell, server answering at once, median of 15: {model_shell * 1000:.0f} ms "
          "(the drafter's own time beyond the model's)")


if __name__ == "__main__":
    main()
