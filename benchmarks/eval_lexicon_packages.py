"""Would a maintained profanity package beat drafter's curated lexicons on the `insult` rule?

Needs the candidates in a scratch environment (they are not drafter dependencies):
    python3 -m venv /tmp/lexeval && /tmp/lexeval/bin/pip install better-profanity alt-profanity-check
    /tmp/lexeval/bin/python benchmarks/eval_lexicon_packages.py
Scores each package's "contains profanity" against the `insult` labels of evals/replies and
evals/holdout/*, per language, with its time per reply.
"""

import glob
import time
import tomllib
from pathlib import Path

from better_profanity import profanity
from profanity_check import predict_prob

ROOT = Path(__file__).resolve().parent.parent
items = []
for pattern in ("evals/replies/*.toml", "evals/holdout/*/*.toml"):
    for path in sorted(glob.glob(str(ROOT / pattern))):
        items += tomllib.loads(Path(path).read_text(encoding="utf-8"))["replies"]
profanity.load_censor_words()


def score(name, predict, subset):
    tp = fp = fn = 0
    started = time.perf_counter()
    for item in subset:
        hit, want = bool(predict(item["reply"])), "insult" in item["breaks"]
        tp += hit and want
        fp += hit and not want
        fn += want and not hit
    ms = (time.perf_counter() - started) / len(subset) * 1000
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    print(f"{name:<26} replies={len(subset)} precision={p:.2f} recall={r:.2f} ({ms:.1f} ms/reply)")


for lang in ("en", "fr"):
    subset = [i for i in items if i["id"].startswith(lang)]
    score(f"better-profanity {lang}", profanity.contains_profanity, subset)
    score(f"alt-profanity-check {lang}", lambda text: predict_prob([text])[0] > 0.5, subset)
