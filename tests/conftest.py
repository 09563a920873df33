"""Shared fixtures. No test reaches beyond 127.0.0.1: an autouse guard clears the model settings
and points OPENAI_BASE_URL at a closed port, so a forgotten override fails loudly and locally."""

from __future__ import annotations

import os
import socket
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from openai_server import ScriptedOpenAIServer  # noqa: E402


def closed_port() -> int:
    """A loopback port with nothing listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    for var in list(os.environ):
        if var.startswith(("OPENAI_", "DRAFTER_", "AZURE_OPENAI")):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    closed = f"http://127.0.0.1:{closed_port()}/v1"
    monkeypatch.setenv("DRAFTER_TEST_CLOSED_URL", closed)
    monkeypatch.setenv("OPENAI_BASE_URL", closed)   # any unplanned model call fails here, locally
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield


@pytest.fixture
def no_model(monkeypatch):
    """No model configured at all: drafter's embedded offline default."""
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


@pytest.fixture
def closed_url() -> str:
    return os.environ["DRAFTER_TEST_CLOSED_URL"]


@pytest.fixture
def openai_server():
    """A scripted OpenAI-compatible server on 127.0.0.1 (see tests/openai_server.py)."""
    server = ScriptedOpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def model_env(monkeypatch, openai_server):
    """Environment pointing drafter at the scripted server."""
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-key-123456")
    monkeypatch.setenv("DRAFTER_MODEL", "scripted-model")
    monkeypatch.setenv("DRAFTER_TIMEOUT", "10")
    return openai_server
