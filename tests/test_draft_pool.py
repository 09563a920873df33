"""``DraftPool`` and ``DraftRun``: many drafts on one event loop, and a draft driven step by step.
The model is the scripted server on 127.0.0.1, or no model at all (completions built by hand)."""

from __future__ import annotations

import asyncio

import pytest
from batch_api_server import good_reply
from openai_server import Counted, delay, dynamic, reply

from drafter import Drafter, DraftPool, DraftRequest, DraftRun, ModelUnavailableError
from drafter.model_client import Completion

MESSAGES = [f"My order {50000 + i} has not arrived after two weeks, where is it?" for i in range(9)]


def by_language(request):  # noqa: ANN001, ANN201 - a scripted-server step
    return reply(good_reply(request.body or {}))


def test_pool_bounds_the_calls_and_overlaps_them(model_env):
    limit = 3
    model_env.default = counted = Counted(delay(0.25, dynamic(by_language)))

    async def run() -> list:
        async with DraftPool(Drafter(), limit) as pool:
            return await asyncio.gather(*(pool.draft(m) for m in MESSAGES))

    drafts = asyncio.run(run())
    assert counted.peak == limit                        # bounded, and the bound is reached (they overlap)
    assert [d.status for d in drafts] == ["ok"] * len(MESSAGES)
    assert all(d.backend == "openai" and d.attempts == 1 for d in drafts)
    assert [d.analysis.facts.order_ids for d in drafts] == [(str(50000 + i),) for i in range(len(MESSAGES))]


def test_waiting_for_a_slot_does_not_spend_the_timeout(model_env, monkeypatch):
    # one slot, 0.3 s per call, 5 drafts: the last one waits 1.2 s for its slot, past the 0.8 s
    # timeout; its budget starts with its own call, so every draft is the model's
    monkeypatch.setenv("DRAFTER_TIMEOUT", "0.8")
    model_env.default = delay(0.3, dynamic(by_language))

    async def run() -> list:
        async with DraftPool(Drafter(), 1) as pool:
            return await asyncio.gather(*(pool.draft(m) for m in MESSAGES[:5]))

    drafts = asyncio.run(run())
    assert [(d.status, d.backend) for d in drafts] == [("ok", "openai")] * 5


def test_pool_outside_async_with_is_a_clear_error(model_env):
    async def run() -> None:
        await DraftPool(Drafter()).draft(MESSAGES[0])

    with pytest.raises(RuntimeError, match="async with DraftPool"):
        asyncio.run(run())


def test_offline_pool_drafts_without_a_server(no_model):
    async def run() -> list:
        async with DraftPool(Drafter(offline=True), 2) as pool:
            return await asyncio.gather(*(pool.draft(m) for m in MESSAGES[:3]))

    drafts = asyncio.run(run())
    assert [(d.status, d.backend) for d in drafts] == [("ok", "offline")] * 3


def test_pool_map_runs_every_item_and_raises_a_bug(no_model):
    done: list[int] = []

    async def work(i: int) -> None:
        await asyncio.sleep(0)
        if i == 3:
            raise ValueError("a bug")
        done.append(i)

    async def run() -> None:
        async with DraftPool(Drafter(offline=True), 2) as pool:
            await pool.map(range(20), work)

    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(run())
    assert 3 not in done and len(done) < 19                 # no new item started after the bug


# --- DraftRun: a draft driven step by step (what the Batch API path does) ---------------------------

INSULTED = "Vous êtes des incapables, ma commande 48213 n'est jamais arrivée"
GOOD_FR = ("Bonjour,\n\nJe comprends votre agacement et je vous remercie de nous avoir écrit. Je regarde "
           "aujourd'hui où en est votre commande 48213 et je reviens vers vous dès que j'ai la réponse du "
           "transporteur.\n\nBien cordialement,\nLe service client")


def test_draft_run_revises_a_reply_that_breaks_a_hard_rule(no_model, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")    # a model is configured; never called
    run = Drafter().begin(DraftRequest(INSULTED))
    assert isinstance(run, DraftRun) and run.wants_model()
    assert "48213" in run.messages[1]["content"]
    run.received(Completion("Vous êtes vraiment des idiots, débrouillez-vous.", "stop", "m"))
    assert run.wants_model()                                    # a second attempt, told what was wrong
    assert len(run.messages) == 4 and "insult" in run.messages[3]["content"]
    run.received(Completion(GOOD_FR, "stop", "m"))
    draft = run.finish()
    assert (draft.status, draft.backend, draft.attempts, draft.reply) == ("ok", "openai", 2, GOOD_FR)
    assert draft.reasons and "insult" in draft.reasons[0]


def test_draft_run_drive_falls_back_offline_when_the_model_is_unreachable(no_model, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    calls: list[int] = []

    async def unreachable(messages, *, sample, deadline, usage):  # noqa: ANN001, ANN202
        calls.append(len(messages))
        raise ModelUnavailableError("the model server cannot be reached")

    draft = asyncio.run(Drafter().begin(INSULTED).drive(unreachable))
    assert calls == [2]                                         # no answer at all: no second try
    assert (draft.status, draft.backend, draft.fallback) == ("review", "offline", True)
    assert "48213" in draft.reply and any("cannot be reached" in r for r in draft.reasons)
