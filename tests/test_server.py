"""The HTTP API (drafter.server) and ``drafter serve``: with the framework's test client, and against real
uvicorn servers on 127.0.0.1 (a thread, and a ``drafter serve --workers 2`` subprocess)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from fastapi.testclient import TestClient  # noqa: E402
from openai_server import delay, dynamic, reply, status  # noqa: E402

from drafter import Drafter, DraftRequest, analyze_message, check_reply  # noqa: E402
from drafter.cli import main  # noqa: E402
from drafter.errors import ContextError, ModelError, ModelTimeoutError, TemplateError  # noqa: E402
from drafter.server import create_app  # noqa: E402

FR = "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213"
EN = "You useless clowns, I have been waiting 3 weeks for order 48213"
GOOD_EN = ("Hello,\n\nI can see how frustrating this is: you have been waiting 3 weeks for order 48213. "
           "Thank you for telling us.\n\nI'd ask that we keep this exchange courteous so that I can help you."
           "\n\nI am opening an investigation with the carrier today and will get back to you as soon as I "
           "have their answer. Could you confirm your delivery address?\n\nKind regards,\nSam")
KEY = "sk-test-secret-key-123456"     # the model_env fixture's API key

# the JSON of DESIGN.md
DRAFT_KEYS = {"reply", "language", "status", "backend", "model", "analysis", "violations", "attempts",
              "fallback", "escalate", "reasons", "usage", "elapsed_ms"}
CHECK_KEYS = {"passed", "violations"}
ANALYSIS_KEYS = {"language", "insults", "anger", "shouting", "threats", "injection", "facts", "topic"}
VIOLATION_KEYS = {"rule", "severity", "message", "start", "end"}
INSULT_KEYS = {"text", "start", "end", "target"}
FACTS_KEYS = {"order_ids", "amounts", "durations"}
JSON = {"Content-Type": "application/json"}


def offline_app(**kw):
    return create_app(Drafter(offline=True), **kw)


@pytest.fixture
def client():
    with TestClient(offline_app()) as c:
        yield c


def assert_error(response, status_code, kind=None):
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and {"type", "message"} <= set(body["error"]), body
    assert body["error"]["message"] and "Traceback" not in response.text
    if kind:
        assert body["error"]["type"] == kind, body
    return body["error"]


# --- happy paths and shapes ------------------------------------------------------------------------

def test_offline_backend_by_default(no_model):
    with TestClient(create_app()) as c:
        assert c.get("/healthz").json() == {"status": "ok", "backend": "offline", "model": None}
        data = c.post("/v1/draft", json={"message": FR}).json()
    assert data["backend"] == "offline" and data["status"] == "ok" and data["model"] is None


def test_draft_is_exactly_the_draft_json(client):
    context = {"agent": "Sam", "company": "Colis Express"}
    body = {"message": EN, "context": context, "lang": "en", "channel": "chat"}
    response = client.post("/v1/draft", json=body)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert DRAFT_KEYS <= set(data)
    expected = Drafter(offline=True).draft(DraftRequest(EN, context, "en", "chat")).to_dict()
    assert set(data) == set(expected)
    assert {k: v for k, v in data.items() if k != "elapsed_ms"} == \
           {k: v for k, v in expected.items() if k != "elapsed_ms"}
    assert ANALYSIS_KEYS <= set(data["analysis"]) and FACTS_KEYS <= set(data["analysis"]["facts"])
    assert all(INSULT_KEYS <= set(i) for i in data["analysis"]["insults"])
    assert "48213" in data["reply"] and "Sam" in data["reply"] and data["language"] == "en"


def test_draft_french_auto_language(client):
    data = client.post("/v1/draft", json={"message": FR}).json()
    assert data["language"] == "fr" and "48213" in data["reply"] and "vous" in data["reply"]
    assert data["analysis"]["insults"] and data["status"] == "ok"


def test_check_passed_and_failed_are_both_200(client):
    ok = client.post("/v1/check", json={"reply": GOOD_EN, "message": EN, "lang": "en"})
    assert ok.status_code == 200 and set(ok.json()) == CHECK_KEYS and ok.json()["passed"] is True
    assert ok.json() == check_reply(GOOD_EN, message=EN, lang="en").to_dict()
    bad_reply = "Calm down, you idiot!! Order 48213 will come when it comes."
    bad = client.post("/v1/check", json={"reply": bad_reply, "message": EN, "context": {"agent": "Sam"}})
    assert bad.status_code == 200, bad.text
    data = bad.json()
    assert data["passed"] is False and {"insult", "shouting"} <= {v["rule"] for v in data["violations"]}
    assert all(VIOLATION_KEYS <= set(v) for v in data["violations"])
    assert data == check_reply(bad_reply, message=EN, context={"agent": "Sam"}).to_dict()


def test_analyze_is_exactly_the_analysis_json(client):
    data = client.post("/v1/analyze", json={"text": FR}).json()
    assert ANALYSIS_KEYS <= set(data) and data == analyze_message(FR).to_dict()
    assert data["language"] == "fr" and data["facts"]["order_ids"] == ["48213"]


def test_long_message_is_drafted_off_the_event_loop(client):
    message = FR + " " + "Je veux une réponse. " * 300           # over INLINE_CHARS: a worker thread
    data = client.post("/v1/draft", json={"message": message}).json()
    assert data["status"] == "ok" and "48213" in data["reply"]


def test_openapi_lists_the_four_paths_and_matches_the_answers(client):
    doc = client.get("/openapi.json").json()
    assert {"/v1/draft", "/v1/check", "/v1/analyze", "/healthz"} <= set(doc["paths"])
    schemas = doc["components"]["schemas"]

    def answer(path, method="post"):
        ref = doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    draft = Drafter(offline=True).draft(DraftRequest(EN)).to_dict()
    assert set(answer("/v1/draft")["properties"]) == set(draft)
    assert set(answer("/v1/check")["properties"]) == set(check_reply("Hello").to_dict())
    assert set(answer("/v1/analyze")["properties"]) == set(analyze_message(EN).to_dict())
    assert set(answer("/healthz", "get")["properties"]) == {"status", "backend", "model"}
    assert "securitySchemes" not in doc.get("components", {})
    assert client.get("/docs").status_code == 200


# --- bad input: 400, 413, 415, 422, 404, 405 --------------------------------------------------------

@pytest.mark.parametrize("raw,kind", [
    (b'{"message": ', "invalid_json"), (b"{'message': 'x'}", "invalid_json"),
    (b'{"message": "x"} trailing', "invalid_json"), (b"", "empty_body"),
])
def test_malformed_json_is_400(client, raw, kind):
    assert_error(client.post("/v1/draft", content=raw, headers=JSON), 400, kind)


@pytest.mark.parametrize("path,body,field", [
    ("/v1/draft", {}, "message"),
    ("/v1/draft", {"message": 42}, "message"),
    ("/v1/draft", {"message": "x", "lang": "de"}, "lang"),
    ("/v1/draft", {"message": "x", "channel": "fax"}, "channel"),
    ("/v1/draft", {"message": "x", "context": "Sam"}, "context"),
    ("/v1/draft", {"message": "x", "langue": "fr"}, "langue"),
    ("/v1/draft", ["x"], "body"),
    ("/v1/check", {"message": "x"}, "reply"),
    ("/v1/check", {"reply": "x", "lang": "auto"}, "lang"),
    ("/v1/analyze", {"message": "x"}, "text"),
])
def test_schema_problems_are_422(client, path, body, field):
    error = assert_error(client.post(path, json=body), 422, "invalid_request")
    assert field in error["message"] and any(d["field"] == field for d in error["details"])


@pytest.mark.parametrize("body,kind,needle", [
    ({"message": "   \n"}, "empty_message", "empty"),
    ({"message": "x", "context": {"agnet": "Sam"}}, "invalid_context", "agnet"),
    ({"message": "x", "context": {"policy": {"allowed": ["cash"]}}}, "invalid_context", "cash"),
])
def test_drafter_input_errors_are_422(client, body, kind, needle):
    assert needle in assert_error(client.post("/v1/draft", json=body), 422, kind)["message"]


def test_check_with_a_bad_context_is_422(client):
    assert_error(client.post("/v1/check", json={"reply": "Hello", "context": {"channel": "fax"}}), 422,
                 "invalid_context")


def test_texts_over_max_chars(monkeypatch):
    monkeypatch.setenv("DRAFTER_MAX_CHARS", "100")
    with TestClient(offline_app()) as c:
        long = FR + " " + "x" * 200
        error = assert_error(c.post("/v1/analyze", json={"text": long}), 422, "message_too_long")
        assert "100" in error["message"] and "text" in error["message"]
        assert_error(c.post("/v1/check", json={"reply": long}), 422, "message_too_long")
        data = c.post("/v1/draft", json={"message": long}).json()      # drafting truncates, and says so
        assert data["status"] == "ok" and data["notices"]


def test_body_over_the_limit_is_413_by_content_length_and_when_chunked():
    with TestClient(offline_app(max_body=2_000)) as c:
        small = json.dumps({"message": FR}).encode()
        assert c.post("/v1/draft", content=small, headers=JSON).status_code == 200
        exact = json.dumps({"text": "a" * (2_000 - len('{"text": ""}'))}).encode()
        assert len(exact) == 2_000 and c.post("/v1/analyze", content=exact, headers=JSON).status_code == 200
        big = json.dumps({"message": "x" * 3_000}).encode()
        assert_error(c.post("/v1/draft", content=big, headers=JSON), 413, "body_too_large")

        def chunks():       # no Content-Length: the size is counted as it arrives
            yield b'{"message": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}'

        response = c.post("/v1/draft", content=chunks(), headers=JSON)
        assert "content-length" not in response.request.headers
        assert_error(response, 413, "body_too_large")


def test_default_limit_is_one_megabyte(client):
    big = json.dumps({"text": "x" * 1_000_001}).encode()
    assert_error(client.post("/v1/analyze", content=big, headers=JSON), 413, "body_too_large")


def test_body_that_is_not_json_is_415(client):
    body = json.dumps({"message": FR})
    assert_error(client.post("/v1/draft", content=body, headers={"Content-Type": "text/plain"}), 415,
                 "unsupported_media_type")
    assert_error(client.post("/v1/draft", content=body, headers={"Content-Type": ""}), 415)
    assert_error(client.post("/v1/draft", data={"message": FR}), 415)        # a form
    ok = client.post("/v1/draft", content=json.dumps({"message": FR}),
                     headers={"Content-Type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_unknown_paths_and_methods_answer_json(client):
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    response = client.get("/v1/draft")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


# --- the bearer token -----------------------------------------------------------------------------

def test_token_required_on_the_api_but_not_on_healthz():
    with TestClient(offline_app(token="s3cret-token")) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/openapi.json").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"},
                        {"Authorization": "Bearer s3cret-token-and-more"}):
            response = c.post("/v1/draft", json={"message": FR}, headers=headers)
            assert_error(response, 401, "unauthorized")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "s3cret-token" not in response.text
        # checked before the body is read: no 413 or 400 for a stranger
        assert_error(c.post("/v1/draft", content=b"x" * 2_000_000, headers=JSON), 401)
        assert_error(c.post("/v1/draft", content=b"{", headers=JSON), 401)
        for scheme in ("Bearer", "bearer"):
            headers = {"Authorization": f"{scheme} s3cret-token"}
            ok = c.post("/v1/draft", json={"message": FR}, headers=headers)
            assert ok.status_code == 200 and ok.json()["status"] == "ok"
        doc = c.get("/openapi.json").json()
        assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
        assert doc["paths"]["/v1/draft"]["post"]["security"] == [{"bearer": []}]
        assert "security" not in doc["paths"]["/healthz"]["get"]


# --- unexpected errors and the API key ---------------------------------------------------------------

class _Failing(Drafter):
    def __init__(self, error: Exception) -> None:
        super().__init__(offline=True)
        self.error = error

    def draft(self, request, **kw):
        raise self.error


@pytest.mark.parametrize("error,code,kind", [
    (RuntimeError("secret internals at 0xdeadbeef"), 500, "internal_error"),
    (TemplateError("boom", template="system.j2"), 500, "template_error"),
    (ModelTimeoutError("the model did not answer"), 504, "model_timeout"),
    (ModelError("the model failed"), 502, "model_error"),
    (ContextError("bad"), 422, "invalid_context"),
])
def test_errors_map_to_status_codes_without_tracebacks(error, code, kind):
    with TestClient(create_app(_Failing(error)), raise_server_exceptions=False) as c:
        response = c.post("/v1/draft", json={"message": FR})
    assert_error(response, code, kind)
    assert "0xdeadbeef" not in response.text and "File \"" not in response.text


def test_api_key_is_never_returned_or_logged(model_env, caplog):
    model_env.script(reply(GOOD_EN), status(401, message="bad key"), status(401), status(401))
    with TestClient(create_app()) as c:
        health = c.get("/healthz")
        assert health.json() == {"status": "ok", "backend": "openai", "model": "scripted-model"}
        ok = c.post("/v1/draft", json={"message": EN})
        refused = c.post("/v1/draft", json={"message": EN})
        doc = c.get("/openapi.json")
    assert ok.json()["status"] == "ok" and ok.json()["backend"] == "openai"
    assert refused.status_code == 200 and refused.json()["status"] == "review"       # the offline fallback
    for response in (health, ok, refused, doc):
        assert KEY not in response.text
    assert KEY not in caplog.text
    assert model_env.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"


# --- real uvicorn servers on 127.0.0.1 ----------------------------------------------------------------

@contextlib.contextmanager
def uvicorn_thread(app):
    """uvicorn serving ``app`` on an ephemeral loopback port, in a thread; yields the port."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)


def call(port, method, path, body=None, headers=None, timeout=15):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data,
                     headers={**(JSON if data is not None else {}), **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        conn.close()


def raw_chunked_post(port, path, chunks, headers=""):
    """A chunked POST written by hand (no Content-Length at all); returns the status line and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{headers}"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        for chunk in chunks:
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _content_length(data):
            piece = s.recv(65536)
            if not piece:
                break
            data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def _content_length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_real_uvicorn_server_end_to_end():
    auth = {"Authorization": "Bearer tok-123"}
    with uvicorn_thread(offline_app(token="tok-123", max_body=1_000)) as port:
        code, _, data = call(port, "GET", "/healthz")
        assert code == 200 and data["backend"] == "offline"
        code, headers, data = call(port, "POST", "/v1/draft", {"message": FR})
        assert code == 401 and headers["www-authenticate"].startswith("Bearer") and data["error"]["type"]
        code, _, data = call(port, "POST", "/v1/draft", {"message": FR}, auth)
        assert code == 200 and DRAFT_KEYS <= set(data) and "48213" in data["reply"]
        code, _, data = call(port, "POST", "/v1/check", {"reply": GOOD_EN, "message": EN}, auth)
        assert code == 200 and set(data) == CHECK_KEYS
        code, _, data = call(port, "POST", "/v1/analyze", {"text": EN}, auth)
        assert code == 200 and ANALYSIS_KEYS <= set(data)
        code, _, data = call(port, "POST", "/v1/analyze", b'{"text": ', auth)
        assert code == 400 and data["error"]["type"] == "invalid_json"
        code, _, data = call(port, "POST", "/v1/analyze", {"text": 3}, auth)
        assert code == 422 and data["error"]["type"] == "invalid_request"
        code, _, data = call(port, "POST", "/v1/analyze", {"text": "x" * 2_000}, auth)
        assert code == 413 and data["error"]["type"] == "body_too_large"
        status_line, data = raw_chunked_post(port, "/v1/analyze", [b'{"text": "', *[b"x" * 300] * 4, b'"}'],
                                             "Authorization: Bearer tok-123\r\n")
        assert " 413 " in status_line and data["error"]["type"] == "body_too_large"
        status_line, data = raw_chunked_post(port, "/v1/analyze", [b'{"text": ', b'"hello"}'],
                                             "Authorization: Bearer tok-123\r\n")
        assert " 200 " in status_line and data["language"] == "en"
        code, _, doc = call(port, "GET", "/openapi.json")
        assert code == 200 and {"/v1/draft", "/v1/check", "/v1/analyze", "/healthz"} <= set(doc["paths"])


def test_a_big_refused_body_still_gets_its_413():
    # 3 MB of chunks against a 1,000-byte limit: the server reads and drops the rest before answering;
    # closing on unread data would reset the connection while the client is still sending
    with uvicorn_thread(offline_app(max_body=1_000)) as port:
        status_line, data = raw_chunked_post(port, "/v1/analyze", [b'{"text": "', *[b"x" * 65536] * 48, b'"}'])
    assert " 413 " in status_line and data["error"]["type"] == "body_too_large"


def test_concurrent_drafts_overlap_on_the_model_path(model_env):
    n, wait = 8, 0.5
    arrivals: list[float] = []

    def slow_model(request):
        arrivals.append(time.monotonic())
        return delay(wait, reply(GOOD_EN))

    model_env.default = dynamic(slow_model)
    with uvicorn_thread(create_app()) as port:
        call(port, "POST", "/v1/draft", {"message": EN})        # warm: the client and its SDK are ready
        model_env.clear()
        arrivals.clear()
        started = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(lambda _: call(port, "POST", "/v1/draft", {"message": EN}), range(n)))
        elapsed = time.monotonic() - started
    assert all(code == 200 for code, _, _ in results), results
    assert all(d["backend"] == "openai" and d["status"] == "ok" and d["reply"] == GOOD_EN
               for _, _, d in results)
    assert len(arrivals) == n
    # every model call was in flight before the first was answered, and the whole took far less than n waits
    assert max(arrivals) - min(arrivals) < wait, [round(t - started, 3) for t in arrivals]
    assert elapsed < n * wait / 2, f"{n} drafts took {elapsed:.2f} s: they did not overlap"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_drafter_serve_with_two_workers_subprocess():
    port = _free_port()
    env = {**os.environ, "DRAFTER_API_TOKEN": "env-token-xyz"}
    proc = subprocess.Popen([sys.executable, "-m", "drafter", "serve", "--offline", "--port", str(port),
                             "--workers", "2", "--no-access-log", "--log-level", "warning"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                code, _, data = call(port, "GET", "/healthz", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()[1].decode()
                assert time.monotonic() < deadline, "drafter serve did not start"
                time.sleep(0.1)
        assert code == 200 and data["backend"] == "offline"
        assert call(port, "POST", "/v1/draft", {"message": FR})[0] == 401
        results = [call(port, "POST", "/v1/draft", {"message": FR}, {"Authorization": "Bearer env-token-xyz"})
                   for _ in range(4)]
        assert all(code == 200 and data["status"] == "ok" for code, _, data in results)
        # keep-alive answers are not held back by Nagle's algorithm (~40 ms each: uvicorn's socket, fixed
        # in serve_cli): 10 requests on one connection take a few milliseconds each
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            started = time.monotonic()
            for _ in range(10):
                conn.request("GET", "/healthz")
                assert conn.getresponse().read()
            keep_alive = time.monotonic() - started
        finally:
            conn.close()
        assert keep_alive < 0.3, f"10 keep-alive requests took {keep_alive:.2f} s"
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    text = err.decode()
    assert "2 workers" in text and "bearer token required" in text and "env-token-xyz" not in text


# --- the serve command --------------------------------------------------------------------------------

def test_serve_help_shows_how_to_scale_out(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for needle in ("--workers", "--token", "--max-body", "--offline", "--base-url", "DRAFTER_API_TOKEN",
                   "--workers 4", "load balancer", "/healthz"):
        assert needle in out, needle


@pytest.mark.parametrize("args,needle", [(["--workers", "0"], "--workers"), (["--port", "70000"], "--port"),
                                         (["--max-body", "0"], "--max-body")])
def test_serve_rejects_bad_options(capsys, args, needle):
    assert main(["serve", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and err.count("\n") == 1


def test_serve_without_the_optional_dependencies_says_how_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "uvicorn", None)       # as if not installed
    assert main(["serve", "--port", str(_free_port())]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'drafter[serve]'" in err
