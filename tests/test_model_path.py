"""The model path against a real HTTP server on 127.0.0.1 speaking the chat-completions protocol."""

import asyncio
import threading
import time

import pytest
from openai_server import cut_stream, empty, hang, malformed, refusal, reply, status

from drafter import Drafter, DraftRequest, check_reply

FR_MESSAGE = "Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213"
EN_MESSAGE = "You useless clowns, I have been waiting 3 weeks for order 48213"

GOOD_FR = ("Bonjour,\n\nJe comprends votre exaspération : vous attendez votre commande 48213 depuis 3 semaines. "
           "Merci de nous l'avoir signalé.\n\nJe vous demande de garder un ton courtois afin que je puisse vous "
           "aider.\n\nJ'ouvre aujourd'hui une enquête auprès du transporteur et je reviens vers vous dès que j'ai "
           "sa réponse. Pourriez-vous me confirmer votre adresse de livraison ?\n\nCordialement,\nCamille")
GOOD_EN = ("Hello,\n\nI can see how frustrating this is: you have been waiting 3 weeks for order 48213. Thank you "
           "for telling us.\n\nI'd ask that we keep this exchange courteous so that I can help you.\n\nI am opening "
           "an investigation with the carrier today and will get back to you as soon as I have their answer. Could "
           "you confirm your delivery address?\n\nKind regards,\nSam")


def _drafter(**kw):
    return Drafter(**kw)


def test_good_reply_is_returned_ok(model_env):
    model_env.script(reply(GOOD_FR))
    draft = _drafter().draft(DraftRequest(FR_MESSAGE))
    assert draft.status == "ok" and draft.backend == "openai" and draft.reply == GOOD_FR
    assert draft.attempts == 1 and not draft.fallback and draft.model == "scripted-model"
    assert draft.usage["prompt_tokens"] == 50 and draft.usage["completion_tokens"] > 0
    body = model_env.chat_requests[0].body
    assert body["model"] == "scripted-model" and body["messages"][0]["role"] == "system"
    assert "<customer_message>" in body["messages"][1]["content"] and "48213" in body["messages"][1]["content"]
    headers = model_env.chat_requests[0].headers
    assert headers.get("x-stainless-retry-count") in (None, "0")


@pytest.mark.parametrize("bad,rule", [
    ("Bonjour, bande d'idiots vous-mêmes. Votre commande 48213 arrive quand elle arrive.", "insult"),
    ("BONJOUR, VOTRE COMMANDE 48213 EST EN ROUTE. Je vérifie et je reviens vers vous. Cordialement", "shouting"),
    ("Salut, je comprends ta colère pour ta commande 48213, je regarde et je te redis. Camille", "register"),
    ("Hello, I understand your frustration about order 48213. I will check with the carrier. Regards", "language"),
    ("Bonjour [Nom], je comprends votre agacement pour la commande 48213, je relance le transporteur. {{agent}}",
     "leak"),
])
def test_hard_violation_is_revised_then_accepted(model_env, bad, rule):
    model_env.script(reply(bad), reply(GOOD_FR))
    draft = _drafter().draft(DraftRequest(FR_MESSAGE))
    assert draft.status == "ok" and draft.reply == GOOD_FR and draft.attempts == 2
    assert any(rule in r for r in draft.reasons)
    revise = model_env.chat_requests[1].body["messages"]
    assert revise[2] == {"role": "assistant", "content": bad}
    assert f"[{rule}]" in revise[3]["content"]


def test_persistent_violations_fall_back_to_offline_review(model_env):
    bad = "Calm down. You should have read our terms, you idiots. Order 48213 will come when it comes!!"
    model_env.script(reply(bad), reply(bad), reply(bad))
    draft = _drafter().draft(DraftRequest(EN_MESSAGE))
    assert draft.status == "review" and draft.fallback and draft.backend == "offline" and draft.attempts == 3
    assert len(draft.reasons) >= 3 and "offline draft used" in draft.reasons[-1]
    assert check_reply(draft.reply, message=EN_MESSAGE).passed
    assert "48213" in draft.reply


def test_never_ok_with_a_hard_violation_whatever_the_model_says(model_env):
    bads = ["Hello, I'M SORRY about order 48213. We will refund you in full today. Regards",
            "Hi! You're an idiot, order 48213 is late. I will check. Sam",
            "Bonjour, commande 48213. Je vérifie. Cordialement, [Prénom]"]
    for bad in bads:
        model_env.script(reply(bad), reply(bad), reply(bad))
        draft = _drafter().draft(DraftRequest(EN_MESSAGE))
        assert draft.status == "review"
        assert all(v.severity != "hard" for v in draft.violations)


def test_429_with_retry_after_then_success(model_env):
    model_env.script(status(429, headers={"Retry-After": "1"}), reply(GOOD_EN))
    started = time.monotonic()
    draft = _drafter().draft(DraftRequest(EN_MESSAGE))
    assert draft.status == "ok" and draft.reply == GOOD_EN
    assert time.monotonic() - started >= 0.95          # the server's Retry-After was honoured
    assert len(model_env.chat_requests) == 2


def test_burst_of_5xx_then_success(model_env):
    model_env.script(status(500), status(502), status(503), reply(GOOD_EN))
    draft = _drafter().draft(DraftRequest(EN_MESSAGE))
    assert draft.status == "ok" and len(model_env.chat_requests) == 4


def test_5xx_forever_ends_in_offline_review_within_deadline(model_env):
    model_env.default = status(500)
    started = time.monotonic()
    draft = _drafter(timeout=4).draft(DraftRequest(EN_MESSAGE))
    assert time.monotonic() - started < 6
    assert draft.status == "review" and draft.fallback and "500" in " ".join(draft.reasons)


def test_timeout_is_bounded_by_the_deadline(model_env):
    model_env.default = hang()
    started = time.monotonic()
    draft = _drafter(timeout=1.5).draft(DraftRequest(EN_MESSAGE))
    assert time.monotonic() - started < 3.5
    assert draft.status == "review" and draft.fallback and any("did not answer" in r for r in draft.reasons)


@pytest.mark.parametrize("step,why", [(malformed(), "not valid JSON"), (empty(), "empty"),
                                      (refusal(), "refused"), (reply(GOOD_EN, finish_reason="length"), "cut off")])
def test_unusable_answers_count_as_attempts(model_env, step, why):
    model_env.script(step, reply(GOOD_EN))
    draft = _drafter().draft(DraftRequest(EN_MESSAGE))
    assert draft.status == "ok" and draft.attempts == 2 and why in draft.reasons[0]


def test_connection_refused_falls_back_with_reason(closed_url, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", closed_url)
    draft = _drafter(timeout=3).draft(DraftRequest(EN_MESSAGE))
    assert draft.status == "review" and draft.fallback and any("cannot reach" in r for r in draft.reasons)


def test_api_key_never_in_output(model_env):
    model_env.default = status(401, message="Incorrect API key provided: sk-test-secret-key-123456")
    draft = _drafter().draft(DraftRequest(EN_MESSAGE))
    assert "sk-test-secret" not in str(draft.to_dict())


def test_streaming_reassembles_and_reports_usage(model_env):
    model_env.script(reply(GOOD_FR))
    pieces = []
    draft = _drafter().draft(DraftRequest(FR_MESSAGE), on_text=pieces.append)
    assert len(pieces) > 3 and "".join(pieces) == GOOD_FR and draft.status == "ok"
    assert model_env.chat_requests[0].body["stream"] is True
    assert draft.usage["completion_tokens"] > 0


def test_stream_cut_half_way_is_retried(model_env):
    model_env.script(cut_stream(GOOD_FR), reply(GOOD_FR))
    retries = []
    draft = _drafter().draft(DraftRequest(FR_MESSAGE), on_text=lambda t: None, on_retry=retries.append)
    assert draft.reply == GOOD_FR and draft.status == "ok"


def test_adraft_runs_concurrently(model_env):
    from openai_server import delay

    model_env.default = delay(0.5, reply(GOOD_EN))
    drafter = _drafter()

    async def main():
        return await asyncio.gather(*(drafter.adraft(DraftRequest(EN_MESSAGE)) for _ in range(6)))

    started = time.monotonic()
    drafts = asyncio.run(main())
    assert all(d.status == "ok" for d in drafts)
    assert time.monotonic() - started < 2.5    # six 0.5 s calls overlapped


def test_drafter_is_shared_safely_across_threads(model_env):
    model_env.default = reply(GOOD_EN)
    drafter = _drafter()
    results = []

    def work():
        results.append(drafter.draft(DraftRequest(EN_MESSAGE)).status)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["ok"] * 8


def test_dry_run_calls_nothing(model_env):
    messages = _drafter().render_messages(DraftRequest(FR_MESSAGE))
    assert [m["role"] for m in messages] == ["system", "user"]
    assert model_env.chat_requests == []


def test_escalation_is_never_plain_ok(model_env):
    model_env.script(reply("Hello, thank you for writing. I am taking your message seriously; a manager will contact "
                           "you personally about order 48213 today. Could you confirm the best number to reach "
                           "you?\n\nKind regards,\nSam"))
    draft = _drafter().draft(DraftRequest("I know where you work. Order 48213, 3 weeks late."))
    assert draft.escalate and draft.status == "review" and "violence" in draft.reasons[-1]
