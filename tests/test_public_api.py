import inspect

import drafter


def test_all_names_exist_and_are_exported():
    for name in drafter.__all__:
        assert hasattr(drafter, name), name
    public = {n for n, v in vars(drafter).items()
              if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))}
    assert public <= set(drafter.__all__), public - set(drafter.__all__)


def test_issue_contract_names():
    from drafter import (  # noqa: F401
        Analysis,
        CheckResult,
        Draft,
        Drafter,
        DrafterError,
        DraftRequest,
        analyze_message,
        check_reply,
        draft_reply,
    )


def test_error_tree_exit_codes():
    assert issubclass(drafter.InputError, drafter.DrafterError)
    assert issubclass(drafter.ModelTimeoutError, drafter.ModelError)
    assert drafter.InputError("x").exit_code == 2
    assert drafter.ModelError("x").exit_code == 1
    assert drafter.ContextError("bad", path="c.toml").path == "c.toml"


def test_rule_ids_match_design():
    assert drafter.RULE_IDS == ("insult", "blame", "threat", "shouting", "register", "language", "overpromise",
                                "leak", "echo_insult", "acknowledge", "restate", "boundary", "next_step",
                                "yes_but", "minimize", "sarcasm", "emoji", "length")
    assert drafter.HARD_RULE_IDS == {"insult", "blame", "threat", "shouting", "register", "language",
                                     "overpromise", "leak", "echo_insult"}


def test_only_model_client_imports_openai():
    from pathlib import Path

    pkg = Path(drafter.__file__).parent
    offenders = [p.name for p in pkg.rglob("*.py")
                 if "import openai" in p.read_text() and p.name != "model_client.py"]
    assert offenders == []
