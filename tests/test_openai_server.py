"""Tests for the scripted loopback OpenAI server, driven by the real ``openai`` client."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

import json  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

import openai  # noqa: E402
import pytest  # noqa: E402
from openai_server import (  # noqa: E402
    DEFAULT_REPLY_TEXT,
    ScriptedOpenAIServer,
    cut_stream,
    delay,
    dynamic,
    empty,
    hang,
    malformed,
    refusal,
    reply,
    running_server,
    split_text,
    status,
)

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def server():
    with running_server() as srv:
        yield srv


def make_client(srv, *, timeout=5, **kwargs):
    return openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0, timeout=timeout, **kwargs)


def chat(client, **kwargs):
    kwargs.setdefault("model", "gpt-test")
    kwargs.setdefault("messages", MESSAGES)
    return client.chat.completions.create(**kwargs)


# --------------------------------------------------------------------------- lifecycle


def test_binds_loopback_ephemeral_port(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.base_url.endswith("/v1")
    assert server.port > 0


def test_base_url_requires_start():
    srv = ScriptedOpenAIServer()
    with pytest.raises(RuntimeError):
        _ = srv.base_url
    with srv:
        assert srv.running
    assert not srv.running
    srv.stop()  # idempotent


# --------------------------------------------------------------------------- replies


def test_plain_reply_content_and_usage(server):
    server.script(reply("Four words right here", prompt_tokens=12))
    resp = chat(make_client(server))
    assert resp.object == "chat.completion"
    assert resp.model == "gpt-test"  # echoes the request's model
    choice = resp.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Four words right here"
    assert choice.finish_reason == "stop"
    assert resp.usage.prompt_tokens == 12
    assert resp.usage.completion_tokens == 4
    assert resp.usage.total_tokens == 16


def test_default_reply_when_queue_empty(server):
    client = make_client(server)
    assert chat(client).choices[0].message.content == DEFAULT_REPLY_TEXT
    server.default = reply("new default", model="forced-model", finish_reason="length", completion_tokens=99)
    resp = chat(client)
    assert resp.choices[0].message.content == "new default"
    assert resp.model == "forced-model"
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage.completion_tokens == 99


def test_script_is_fifo_then_default(server):
    server.script(reply("first"), reply("second"))
    server.script(reply("third"))
    assert server.pending == 3
    client = make_client(server)
    got = [chat(client).choices[0].message.content for _ in range(4)]
    assert got == ["first", "second", "third", DEFAULT_REPLY_TEXT]
    assert server.pending == 0


def test_streamed_reply_reassembles_with_usage(server):
    text = "The quick brown fox jumps over the lazy dog."
    server.script(reply(text, prompt_tokens=7))
    stream = chat(make_client(server), stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == text
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 1  # actually split into several deltas
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.prompt_tokens == 7
    assert last.usage.completion_tokens == 9
    assert last.usage.total_tokens == 16


def test_streamed_reply_without_include_usage(server):
    server.script(reply("no usage here"))
    chunks = list(chat(make_client(server), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "no usage here"
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_raw_sse_framing(server):
    server.script(reply("a b"))
    body = json.dumps({"model": "m", "messages": MESSAGES, "stream": True}).encode()
    req = urllib.request.Request(server.base_url + "/chat/completions", data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        raw = resp.read().decode()
    events = raw.split("\n\n")
    assert events[-1] == ""
    assert all(e.startswith("data: ") for e in events[:-1])
    assert events[-2] == "data: [DONE]"


def test_split_text_keeps_spaces():
    for text in ["", "one", "  lead and trail  ", "multi\nline  text"]:
        assert "".join(split_text(text)) == text
    assert len(split_text("a b c")) == 3


def test_empty_reply(server):
    server.script(empty())
    resp = chat(make_client(server))
    assert resp.choices[0].message.content == ""
    assert resp.usage.completion_tokens == 0


def test_refusal(server):
    server.script(refusal())
    msg = chat(make_client(server)).choices[0].message
    assert msg.content is None
    assert msg.refusal == "I can't help with that."


def test_refusal_streamed(server):
    server.script(refusal("Nope, not that."))
    chunks = list(chat(make_client(server), stream=True))
    assert "".join(c.choices[0].delta.refusal or "" for c in chunks) == "Nope, not that."
    assert all(not c.choices[0].delta.content for c in chunks)


def test_dynamic_step_sees_request(server):
    server.script(dynamic(lambda req: reply("echo: " + req.body["messages"][-1]["content"])))
    assert chat(make_client(server)).choices[0].message.content == "echo: Say hello."


def test_delay_then_reply(server):
    server.script(delay(0.3, reply("late")))
    start = time.monotonic()
    assert chat(make_client(server)).choices[0].message.content == "late"
    assert time.monotonic() - start >= 0.25


# --------------------------------------------------------------------------- errors


def test_status_429_retry_after(server):
    server.script(status(429, message="slow down", headers={"Retry-After": "1"}))
    with pytest.raises(openai.RateLimitError) as info:
        chat(make_client(server))
    err = info.value
    assert err.status_code == 429
    assert err.response.headers["retry-after"] == "1"
    assert err.body["message"] == "slow down"
    assert err.type == "rate_limit_error"
    assert err.param is None and err.code is None


def test_status_500(server):
    server.script(status(500, err_type="server_error"))
    with pytest.raises(openai.InternalServerError) as info:
        chat(make_client(server))
    assert info.value.status_code == 500
    assert info.value.message.endswith("scripted error")


def test_status_is_retried_by_client(server):
    server.script(status(503, headers={"Retry-After-Ms": "10"}), reply("after retry"))
    client = make_client(server).with_options(max_retries=1)
    assert chat(client).choices[0].message.content == "after retry"
    assert [r.headers["x-stainless-retry-count"] for r in server.chat_requests] == ["0", "1"]


def test_malformed_json_body(server):
    # openai 3.57 does not wrap this: APIResponse.parse() calls response.json() directly.
    server.script(malformed())
    with pytest.raises(json.JSONDecodeError):
        chat(make_client(server))


def test_malformed_non_json_content_type(server):
    # Non-strict client returns the raw text; strict validation raises APIResponseValidationError.
    server.script(malformed("plain text", content_type="text/plain"))
    assert chat(make_client(server)) == "plain text"
    server.script(malformed("plain text", content_type="text/plain"))
    with pytest.raises(openai.APIResponseValidationError):
        chat(make_client(server, _strict_response_validation=True))


def test_hang_times_out(server):
    server.script(hang())
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        chat(make_client(server, timeout=0.5))
    assert time.monotonic() - start < 1.5
    # the server keeps working afterwards
    assert chat(make_client(server)).choices[0].message.content == DEFAULT_REPLY_TEXT


def test_cut_stream_streaming(server):
    server.script(cut_stream("one two three four five six"))
    received = []
    with pytest.raises(openai.APIConnectionError) as info:
        for chunk in chat(make_client(server), stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert not isinstance(info.value, openai.APITimeoutError)
    assert "".join(received) == "one two three "


def test_cut_stream_non_streaming(server):
    server.script(cut_stream("one two three four"))
    with pytest.raises(openai.APIConnectionError):
        chat(make_client(server))


def test_connection_refused():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # reserved but not listening: connect is refused
    try:
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", api_key="t", max_retries=0, timeout=5
        )
        with pytest.raises(openai.APIConnectionError) as info:
            chat(client)
        assert not isinstance(info.value, openai.APITimeoutError)
    finally:
        sock.close()


# --------------------------------------------------------------------------- other endpoints


def test_models_list(server):
    models = make_client(server).models.list()
    assert [m.id for m in models.data] == ["scripted-model"]
    assert make_client(server).models.retrieve("scripted-model").id == "scripted-model"


def test_unknown_path_404(server):
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.base_url + "/nope", timeout=5)
    assert info.value.code == 404
    body = json.loads(info.value.read())
    assert set(body["error"]) == {"message", "type", "param", "code"}
    with pytest.raises(openai.NotFoundError):
        make_client(server).models.retrieve("does-not-exist")


# --------------------------------------------------------------------------- recording


def test_requests_recorded(server):
    client = make_client(server)
    chat(client, temperature=0.2)
    client.models.list()
    reqs = server.requests
    assert [(r.method, r.path) for r in reqs] == [("POST", "/v1/chat/completions"), ("GET", "/v1/models")]
    first = reqs[0]
    assert first.body["messages"] == MESSAGES
    assert first.body["model"] == "gpt-test"
    assert first.body["temperature"] == 0.2
    assert first["body"] is first.body
    assert first.headers["Authorization"] == "Bearer test"
    assert first.headers["content-type"] == "application/json"
    assert len(server.chat_requests) == 1
    server.script(reply("x"))
    server.clear()
    assert server.requests == [] and server.pending == 0


def test_requests_threadsafe_under_concurrency(server):
    client = make_client(server)
    errors = []

    def worker(i):
        try:
            chat(client, messages=[{"role": "user", "content": str(i)}])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    contents = sorted(int(r.body["messages"][0]["content"]) for r in server.requests)
    assert contents == list(range(16))
    assert server.errors == []


def test_keep_alive_connection_reused(server):
    client = make_client(server)
    for _ in range(3):
        chat(client)
    ports = {r.client_address[1] for r in server.requests}
    assert len(ports) == 1


# --------------------------------------------------------------------------- stop


def test_stop_returns_promptly_while_hanging():
    srv = ScriptedOpenAIServer(hang()).start()
    outcome = {}

    def call():
        try:
            chat(make_client(srv, timeout=30))
        except Exception as exc:
            outcome["exc"] = exc

    t = threading.Thread(target=call, daemon=True)
    t.start()
    assert srv.wait_for_requests(1, timeout=5)
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2.0
    t.join(5)
    assert not t.is_alive()
    assert isinstance(outcome.get("exc"), openai.APIConnectionError)


def test_stop_interrupts_delay():
    srv = ScriptedOpenAIServer(delay(60, reply("never"))).start()
    outcome = {}

    def call():
        try:
            outcome["result"] = chat(make_client(srv, timeout=30))
        except Exception as exc:
            outcome["exc"] = exc

    t = threading.Thread(target=call, daemon=True)
    t.start()
    assert srv.wait_for_requests(1, timeout=5)
    start = time.monotonic()
    srv.stop()
    assert time.monotonic() - start < 2.0
    t.join(5)
    assert not t.is_alive()
    assert "result" not in outcome
    assert isinstance(outcome.get("exc"), openai.APIConnectionError)
