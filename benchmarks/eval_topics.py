"""Topic detection measured on labelled customer messages: accuracy, per topic, and the confusions.

Run: .venv/bin/python benchmarks/eval_topics.py [FILE ...]   (default: evals/topics/holdout.toml and the
eval cases' `expect.topic`)

`evals/topics/holdout.toml` was written blind to the topic patterns (drafter/lexicons/message_patterns.toml);
the eval cases are what the patterns were tuned on.
"""

from __future__ import annotations

import collections
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(name: str, items: list[tuple[str, str]]) -> None:
    from drafter import analyze_message

    confusions: collections.Counter[tuple[str, str]] = collections.Counter()
    right: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    for message, topic in items:
        got = analyze_message(message).topic
        total[topic] += 1
        if got == topic:
            right[topic] += 1
        else:
            confusions[(topic, got)] += 1
    n = sum(total.values())
    print(f"{name}: {sum(right.values())}/{n} right ({sum(right.values()) / n:.1%})")
    print("  per topic: " + ", ".join(f"{t} {right[t]}/{total[t]}" for t in sorted(total)))
    for (want, got), count in confusions.most_common(6):
        print(f"  {want} read as {got}: {count}")


def main() -> None:
    files = [Path(a) for a in sys.argv[1:]] or [ROOT / "evals" / "topics" / "holdout.toml"]
    for path in files:
        rows = tomllib.loads(path.read_text(encoding="utf-8"))["messages"]
        measure(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path),
                [(r["message"], r["topic"]) for r in rows])
    if not sys.argv[1:]:
        from drafter.evaluation.cases import load_cases

        measure("eval cases (tuning)", [(c.message, c.expect.topic) for c in load_cases(None) if c.expect.topic])


if __name__ == "__main__":
    main()
