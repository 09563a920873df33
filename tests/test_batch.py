"""``drafter batch``: JSONL/CSV input, one line per id, resume, per-line errors, bounded concurrency,
bad input, Ctrl-C, and the OpenAI Batch API path against a fake server. Everything on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_api_server import MISSING, REPLY_EN, REPLY_FR, BatchApiServer, failure, good_reply
from openai_server import Counted, Step, delay, dynamic, reply

from drafter import check_reply
from drafter.cli import main
from drafter.drafting import Drafter

INSULT = "You are an IDIOT, read the tracking page before you write to us!!"
MESSAGES = {
    "t-1": "Hello, my order 55123 has not arrived after 2 weeks. Can you check where it is?",
    "t-2": "You clowns lost my parcel 55124, this is ridiculous",
    "t-3": "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213",
    "t-4": "Bonjour, ma commande 48214 n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "t-5": "Third time I write about invoice 77120, you charged me twice. Fix it.",
}


def by_language(request) -> Step:  # noqa: ANN001 - a scripted-server step
    return reply(good_reply(request.body or {}))


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_out(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sent_messages(requests) -> list[str]:  # noqa: ANN001
    """The customer message id (t-N / order number) each first-draft request was about."""
    found = []
    for r in requests:
        prompt = r.body["messages"][1]["content"]
        found += [key for key, text in MESSAGES.items() if text in prompt]
    return found


@pytest.fixture
def server(model_env):
    model_env.default = dynamic(by_language)
    return model_env


@pytest.fixture
def jsonl_in(tmp_path) -> Path:
    return write_jsonl(tmp_path / "in.jsonl", [{"id": k, "message": v} for k, v in MESSAGES.items()])


def test_the_scripted_replies_pass_the_hard_rules():
    for message in MESSAGES.values():
        assert check_reply(REPLY_EN if "Bonjour" not in message and "Bande" not in message else REPLY_FR,
                           message=message).passed


def test_jsonl_every_id_written_once(server, jsonl_in, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 0
    rows = read_out(out)
    assert sorted(r["id"] for r in rows) == sorted(MESSAGES)
    for row in rows:
        assert row["status"] == "ok" and row["backend"] == "openai" and row["attempts"] == 1
        assert set(row) >= {"reply", "language", "analysis", "violations", "usage", "elapsed_ms", "escalate"}
    assert {r["id"]: r["language"] for r in rows}["t-3"] == "fr"
    assert len(server.chat_requests) == len(MESSAGES)
    err = capsys.readouterr().err
    assert "5 written (5 ok, 0 review, 0 error(s)), 0 skipped" in err


def test_csv_input_with_context_column(server, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('id,message,context\n'
                   '7,"Hello, my order 55123 has not arrived.\nCan you check?","{""agent"": ""Camille""}"\n'
                   'x-2,"Bande d\'incompétents, ma commande 48213 n\'arrive pas",\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(src), "-o", str(out)]) == 0
    rows = {r["id"]: r for r in read_out(out)}
    assert set(rows) == {"7", "x-2"} and rows["x-2"]["language"] == "fr"
    prompts = [r.body["messages"][1]["content"] for r in server.chat_requests]
    assert any("Agent signing the reply: Camille" in p and "Can you check?" in p for p in prompts)


def test_resume_drafts_only_the_missing_ids(server, jsonl_in, tmp_path):
    out = tmp_path / "out.jsonl"
    done = "".join(json.dumps({"id": k, "reply": "earlier", "status": "ok"}) + "\n" for k in ("t-1", "t-4"))
    out.write_text(done + '{"id": "t-2", "reply": "cut sho', encoding="utf-8")         # killed mid-write
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 0
    assert sorted(sent_messages(server.chat_requests)) == ["t-2", "t-3", "t-5"]
    rows = read_out(out)
    assert sorted(r["id"] for r in rows) == sorted(MESSAGES)         # the truncated line is gone
    assert [r["reply"] for r in rows if r["id"] in ("t-1", "t-4")] == ["earlier", "earlier"]
    server.clear()
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 0        # nothing left to do
    assert server.chat_requests == [] and len(read_out(out)) == len(MESSAGES)


def test_error_lines_are_retried_unless_skip_errors(server, jsonl_in, tmp_path):
    out = tmp_path / "out.jsonl"
    rows = [{"id": k, "reply": "earlier", "status": "ok"} for k in MESSAGES if k != "t-2"]
    write_jsonl(out, rows + [{"id": "t-2", "error": {"type": "ModelError", "message": "earlier failure"}}])
    assert main(["batch", str(jsonl_in), "-o", str(out), "--skip-errors"]) == 0
    assert server.chat_requests == []
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 0
    assert sent_messages(server.chat_requests) == ["t-2"]
    final = {r["id"]: r for r in read_out(out)}
    assert len(read_out(out)) == len(MESSAGES) and final["t-2"]["status"] == "ok"


def test_per_line_errors_do_not_stop_the_run(server, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join([
        json.dumps({"id": "good-1", "message": MESSAGES["t-1"]}),
        "{not json",
        json.dumps({"id": "empty", "message": "   "}),
        json.dumps({"id": "bad-context", "message": MESSAGES["t-2"],
                    "context": {"policy": {"allowed": ["moon"]}}}),
        json.dumps({"id": "no-message"}),
        json.dumps({"message": "no id here"}),
        json.dumps({"id": 42, "message": MESSAGES["t-3"]}),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(src), "-o", str(out)]) == 1
    rows = read_out(out)
    errors = {(r["id"], r.get("line")): r["error"]["type"] for r in rows if "error" in r}
    assert errors == {(None, 2): "InputError", ("empty", None): "EmptyMessageError",
                      ("bad-context", None): "ContextError", ("no-message", None): "InputError",
                      (None, 6): "InputError"}
    assert {r["id"] for r in rows if "reply" in r} == {"good-1", 42}
    assert "7 written (2 ok, 0 review, 5 error(s))" in capsys.readouterr().err
    server.clear()                                   # a rerun retries the error lines, and only them
    assert main(["batch", str(src), "-o", str(out)]) == 1
    assert server.chat_requests == [] and len(read_out(out)) == len(rows)


def test_a_model_that_keeps_failing_gives_review_lines_not_a_crash(server, jsonl_in, tmp_path):
    from openai_server import status

    server.default = status(400, message="bad request")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(jsonl_in), "-o", str(out), "--concurrency", "2"]) == 0
    rows = read_out(out)
    assert len(rows) == len(MESSAGES)
    assert all(r["status"] == "review" and r["backend"] == "offline" and r["fallback"] for r in rows)


def test_concurrency_is_bounded_and_overlapping(server, tmp_path):
    n, latency, limit = 16, 0.25, 4
    src = write_jsonl(tmp_path / "in.jsonl",
                      [{"id": f"m{i}", "message": f"My order {50000 + i} has not arrived, where is it?"}
                       for i in range(n)])
    server.default = counted = Counted(delay(latency, dynamic(by_language)))
    started = time.monotonic()
    assert main(["batch", str(src), "-o", str(tmp_path / "out.jsonl"), "--concurrency", str(limit)]) == 0
    elapsed = time.monotonic() - started
    assert counted.peak == limit                            # bounded, and the bound is reached
    assert len(server.chat_requests) == n
    assert elapsed < 0.5 * n * latency                      # sequential would take n × latency


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("missing.jsonl", None, "no such file"),
    ("in.csv", "a,b\n1,2\n", "lacks the column(s) id, message"),
    ("in.txt", "just some text\nover two lines\n", "lacks the column(s) id, message"),
    ("in.jsonl", '{"a": 1}\n{"b": 2}\n', "no line is a JSON object with 'id' and 'message'"),
    ("dup.jsonl", '{"id": "1", "message": "a"}\n{"id": 1, "message": "b"}\n', "duplicate id(s) 1"),
    ("empty.jsonl", "\n\n", "holds no messages"),
    ("latin1.csv", "id,message\n1,caf\xe9\n", "not valid UTF-8"),
])
def test_bad_input_file_exits_2_with_one_line(server, tmp_path, capsys, name, content, expected):
    src = tmp_path / name
    if content is not None:
        src.write_bytes(content.encode("latin-1"))
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and expected in err
    assert not out.exists() and server.chat_requests == []


def test_an_output_file_that_is_not_a_batch_result_is_refused(server, jsonl_in, tmp_path, capsys):
    out = tmp_path / "notes.jsonl"
    out.write_text("my precious notes\nmore notes\n", encoding="utf-8")
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 2
    assert "line 1 is not a batch result" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "my precious notes\nmore notes\n"


def test_offline_batch_needs_no_server(no_model, jsonl_in, tmp_path):
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(jsonl_in), "-o", str(out)]) == 0
    assert {r["backend"] for r in read_out(out)} == {"offline"} and len(read_out(out)) == len(MESSAGES)


def test_ctrl_c_exits_130_and_a_rerun_resumes(server, tmp_path):
    n = 12
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": f"m{i}", "message": f"Where is my order {60000 + i}?"}
                                              for i in range(n)])
    out = tmp_path / "out.jsonl"
    server.default = delay(0.3, dynamic(by_language))
    cmd = [sys.executable, "-m", "drafter", "batch", str(src), "-o", str(out), "--concurrency", "2"]
    proc = subprocess.Popen(cmd, env=os.environ.copy(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not out.exists() or len(read_out(out)) < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "rerun the same command to resume" in err
    first = {r["id"] for r in read_out(out)}
    assert 3 <= len(first) < n
    server.clear()
    server.default = dynamic(by_language)
    assert main(["batch", str(src), "-o", str(out)]) == 0
    again = [int(r.body["messages"][1]["content"].split("order ")[1][:5]) - 60000
             for r in server.chat_requests]
    assert sorted(f"m{i}" for i in again) == sorted({f"m{i}" for i in range(n)} - first)
    assert sorted(r["id"] for r in read_out(out)) == sorted(f"m{i}" for i in range(n))


# --- the OpenAI Batch API ----------------------------------------------------------------------------

@pytest.fixture
def batch_api(monkeypatch):
    with BatchApiServer() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-batch-key")
        monkeypatch.setenv("DRAFTER_MODEL", "batch-model")
        yield fake


def openai_batch(src: Path, out: Path, *extra: str) -> int:
    return main(["batch", str(src), "-o", str(out), "--openai-batch", "--poll-interval", "0.01", *extra])


def test_openai_batch_flow_guards_every_answer(batch_api, jsonl_in, tmp_path):
    batch_api.answers["t-2"] = INSULT                    # revised through a live call
    batch_api.answers["t-4"] = failure(500, "overloaded")  # a failed request: drafted live
    batch_api.answers["t-5"] = INSULT                    # and the revisions stay insulting: review

    def live(body: dict) -> str:
        return INSULT if MESSAGES["t-5"] in body["messages"][1]["content"] else good_reply(body)

    batch_api.live = live
    out = tmp_path / "out.jsonl"
    assert openai_batch(jsonl_in, out) == 0
    assert batch_api.count("upload") == 1 and batch_api.count("create_batch") == 1
    batch = next(iter(batch_api.batches.values()))
    assert batch["completion_window"] == "24h" and batch["endpoint"] == "/v1/chat/completions"
    requests = {r["custom_id"]: r for r in batch_api.uploaded_requests()}
    assert set(requests) == set(MESSAGES)
    drafter = Drafter()
    for key, text in MESSAGES.items():              # the same prompts as a first live draft
        assert requests[key]["url"] == "/v1/chat/completions"
        assert requests[key]["body"]["messages"] == drafter.render_messages(text)
        assert requests[key]["body"]["model"] == "batch-model"
    rows = {r["id"]: r for r in read_out(out)}
    assert sorted(rows) == sorted(MESSAGES) and len(read_out(out)) == len(MESSAGES)
    assert rows["t-1"]["status"] == "ok" and rows["t-1"]["attempts"] == 1
    assert rows["t-1"]["usage"]["calls"] == 1 and rows["t-1"]["usage"]["completion_tokens"] > 0
    assert rows["t-2"]["status"] == "ok" and rows["t-2"]["attempts"] == 2
    assert rows["t-2"]["backend"] == "openai"
    assert rows["t-4"]["status"] == "ok" and rows["t-4"]["backend"] == "openai"
    assert rows["t-5"]["status"] == "review" and rows["t-5"]["backend"] == "offline"
    assert rows["t-5"]["fallback"] is True
    for row in rows.values():                       # never ok with a hard violation
        hard = [v for v in row["violations"] if v["severity"] == "hard"]
        assert not (row["status"] == "ok" and hard)
        assert INSULT not in row["reply"]
    revision = next(b for b in batch_api.chat_bodies if MESSAGES["t-2"] in b["messages"][1]["content"])
    assert revision["messages"][2] == {"role": "assistant", "content": INSULT}
    assert not Path(str(out) + ".batch.json").exists()


def test_openai_batch_resumes_the_same_batch(batch_api, jsonl_in, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert openai_batch(jsonl_in, out, "--no-wait") == 0
    state = json.loads(Path(str(out) + ".batch.json").read_text())
    assert state["batch_id"] in batch_api.batches and sorted(state["ids"]) == sorted(MESSAGES)
    assert "rerun the same command to collect it" in capsys.readouterr().err
    assert not out.exists() or read_out(out) == []
    assert openai_batch(jsonl_in, out) == 0                     # polls the batch it created
    assert batch_api.count("create_batch") == 1 and batch_api.count("upload") == 1
    assert sorted(r["id"] for r in read_out(out)) == sorted(MESSAGES)
    assert openai_batch(jsonl_in, out) == 0                     # all done: nothing is sent
    assert batch_api.count("create_batch") == 1


def test_openai_batch_attaches_to_a_batch_id(batch_api, jsonl_in, tmp_path):
    out = tmp_path / "out.jsonl"
    assert openai_batch(jsonl_in, out, "--no-wait") == 0
    state_file = Path(str(out) + ".batch.json")
    batch_id = json.loads(state_file.read_text())["batch_id"]
    state_file.unlink()                                         # lost the state: attach by id
    assert main(["batch", str(jsonl_in), "-o", str(out), "--batch-id", batch_id, "--poll-interval", "0"]) == 0
    assert batch_api.count("create_batch") == 1
    assert sorted(r["id"] for r in read_out(out)) == sorted(MESSAGES)


def test_openai_batch_missing_answers_become_error_lines_and_are_resent(batch_api, jsonl_in, tmp_path):
    batch_api.answers["t-3"] = MISSING
    out = tmp_path / "out.jsonl"
    assert openai_batch(jsonl_in, out) == 1
    rows = {r["id"]: r for r in read_out(out)}
    assert rows["t-3"]["error"]["type"] == "BatchError"
    del batch_api.answers["t-3"]
    assert openai_batch(jsonl_in, out) == 0                     # a new batch for the one left
    assert batch_api.count("create_batch") == 2
    assert [r["custom_id"] for r in batch_api.uploaded_requests()][-1:] == ["t-3"]
    assert sorted(r["id"] for r in read_out(out)) == sorted(MESSAGES)


def test_openai_batch_failed_batch_is_one_line_error(batch_api, jsonl_in, tmp_path, capsys):
    batch_api.final_status = "failed"
    out = tmp_path / "out.jsonl"
    assert openai_batch(jsonl_in, out) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: batch ") and "failed: scripted" in err
    assert not Path(str(out) + ".batch.json").exists()


def test_openai_batch_unknown_batch_id(batch_api, jsonl_in, tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(jsonl_in), "-o", str(out), "--batch-id", "batch-nope"]) == 1
    assert "batch batch-nope not found" in capsys.readouterr().err


def test_openai_batch_needs_a_model(no_model, jsonl_in, tmp_path, capsys):
    assert openai_batch(jsonl_in, tmp_path / "out.jsonl") == 2
    assert "--openai-batch needs a model" in capsys.readouterr().err
