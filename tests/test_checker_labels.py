"""The tone checker measured on hand-labelled replies (evals/replies): per-rule precision and recall
at least 0.9 for hard rules and 0.75 for soft rules. When this fails, improve the rule."""

import pytest

from drafter.evaluation.checker_metrics import checker_metrics, load_labelled
from drafter.tone_rules import HARD_RULE_IDS, RULE_IDS

ITEMS = load_labelled()
METRICS = checker_metrics(ITEMS)


def test_enough_labelled_replies_in_both_languages():
    assert len(ITEMS) >= 200
    fr = sum(1 for i in ITEMS if i["id"].startswith("fr"))
    assert fr >= 0.4 * len(ITEMS) and len(ITEMS) - fr >= 0.4 * len(ITEMS)
    for rule in RULE_IDS:
        assert sum(rule in i["breaks"] for i in ITEMS) >= 5, rule


@pytest.mark.parametrize("rule", RULE_IDS)
def test_rule_precision_and_recall(rule):
    m = METRICS[rule]
    need = 0.9 if rule in HARD_RULE_IDS else 0.75
    assert m.precision >= need, f"{rule} precision {m.precision:.2f}; false positives: {m.false_positives}"
    assert m.recall >= need, f"{rule} recall {m.recall:.2f}; false negatives: {m.false_negatives}"
