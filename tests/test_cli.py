"""The command line: outputs, exit codes, one-line errors."""

import json
import os
import subprocess
import sys

import pytest
from openai_server import reply

from drafter.cli import main

FR = "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213"


def run(*args, input=None, env=None):
    """The installed console entry point, as an agent would run it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "drafter", *args], input=input, capture_output=True,
                          env=full_env, timeout=60)


def test_offline_draft_from_stdin_french(no_model):
    out = run("draft", input=FR.encode())
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "48213" in text and "3 semaines" in text and "ton courtois" in text and "vous" in text
    assert " tu " not in text and "!" not in text
    assert out.stderr.decode().count("offline composer") == 1


def test_offline_draft_english_json(no_model, capsys):
    code = main(["draft", "You useless clowns, I've waited 2 weeks for order 77120", "--json", "--agent", "Sam"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) >= {"reply", "language", "status", "backend", "model", "analysis", "violations", "attempts",
                         "fallback", "escalate", "reasons", "usage", "elapsed_ms"}
    assert data["language"] == "en" and data["status"] == "ok" and data["backend"] == "offline"
    assert "77120" in data["reply"] and "Sam" in data["reply"]


@pytest.mark.parametrize("args,stdin,needle", [
    (["draft"], b"   \n", "empty"),
    (["draft"], b"\xff\xfe bad", "not valid UTF-8"),
    (["draft", "--lang", "de", "x"], b"", "invalid choice"),
    (["draft", "--channel", "fax", "x"], b"", "email"),
    (["draft", "--context", "/nonexistent/case.toml", "x"], b"", "/nonexistent/case.toml"),
    (["check", "--lang", "xx", "reply"], b"", "invalid choice"),
    (["nonsense"], b"", "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(no_model, args, stdin, needle):
    out = run(*args, input=stdin)
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert needle in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1


def test_malformed_context_file(no_model, tmp_path):
    bad = tmp_path / "case.json"
    bad.write_text("{oops")
    out = run("draft", "--context", str(bad), "Bonjour")
    assert out.returncode == 2 and str(bad) in out.stderr.decode() and "invalid JSON" in out.stderr.decode()


def test_long_message_is_truncated_with_notice(no_model, capsys, monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "200")
    code = main(["draft", "Bande d'idiots, commande 48213. " + "blabla " * 100])
    captured = capsys.readouterr()
    assert code == 0 and "only the first 200" in captured.err and "48213" in captured.out


def test_long_message_refused_when_asked(no_model, capsys, monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "200")
    monkeypatch.setenv("DRAFTER_ON_TOO_LONG", "refuse")
    assert main(["draft", "x" * 300]) == 2
    assert "over the limit of 200" in capsys.readouterr().err


def test_check_reports_each_violation_and_exits_1(capsys, tmp_path):
    msg = tmp_path / "m.txt"
    msg.write_text("Vous êtes des escrocs, commande 48213", encoding="utf-8")
    bad = "Salut, vous êtes des escrocs vous-mêmes !! Vous auriez dû lire les CGV, tu sais."
    code = main(["check", bad, "--message",
                 str(msg)])
    out = capsys.readouterr().out
    assert code == 1
    for rule in ("insult (hard)", "shouting (hard)", "register (hard)", "blame (hard)", "echo_insult (hard)"):
        assert rule in out


def test_check_clean_reply_exits_0(capsys):
    good = ("Bonjour,\n\nJe comprends votre agacement au sujet de la commande 48213. Je relance le transporteur "
            "aujourd'hui et je reviens vers vous dès que j'ai sa réponse.\n\nCordialement,\nCamille")
    assert main(["check", good, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_analyze_json(capsys):
    assert main(["analyze", "--json", FR]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["language"] == "fr" and data["facts"]["order_ids"] == ["48213"] and data["insults"]


def test_dry_run_prints_messages_and_calls_nothing(model_env, capsys):
    assert main(["draft", "--dry-run", FR]) == 0
    out = capsys.readouterr().out
    assert "----- system -----" in out and "<customer_message>" in out and FR in out
    assert model_env.chat_requests == []


def test_model_draft_from_cli(model_env, capsys):
    good = ("Bonjour,\n\nJe comprends votre exaspération : votre commande 48213 se fait attendre depuis 3 semaines. "
            "Merci de nous l'avoir signalé.\n\nJe vous demande de garder un ton courtois afin que je puisse vous "
            "aider.\n\nJe relance le transporteur aujourd'hui et je reviens vers vous dès que j'ai sa réponse.\n\n"
            "Cordialement,\nCamille")
    model_env.script(reply(good))
    assert main(["draft", FR, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["backend"] == "openai" and data["reply"] == good and data["status"] == "ok"


def test_unreachable_server_gives_review_draft_not_traceback(closed_url):
    out = run("draft", FR, "--base-url", closed_url, "--timeout", "3")
    err = out.stderr.decode()
    assert out.returncode == 0 and "Traceback" not in err and "review: " in err and "cannot reach" in err
    assert "48213" in out.stdout.decode()


def test_escalation_warns_on_stderr(no_model):
    out = run("draft", "Je n'en peux plus, je vais mettre fin à mes jours. Commande 48213.")
    assert out.returncode == 0 and "warning:" in out.stderr.decode() and "self-harm" in out.stderr.decode()
    assert "ton courtois" not in out.stdout.decode() and "3114" in out.stdout.decode()


def test_saves_pasted_message_when_drafting_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DRAFTER_PROMPTS_DIR", str(tmp_path / "missing"))
    monkeypatch.setattr("sys.stdin", type("S", (), {"isatty": lambda self: False,
                                                    "buffer": __import__("io").BytesIO(FR.encode())})())
    assert main(["draft", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "saved to" in err
    saved = err.split("saved to ")[1].splitlines()[0].strip()
    assert open(saved, encoding="utf-8").read() == FR


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["draft", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "Ctrl-D" in out and "--dry-run" in out and "Exit codes" in out
