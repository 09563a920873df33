"""Property tests over arbitrary Unicode: nothing raises, the offline draft is always safe."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drafter import Drafter, DraftRequest, analyze_message, check_reply
from drafter.cli import main

WORDS = st.sampled_from([
    "connard", "c0nnard", "i d i o t", "f*ck", "IDIOTS", "putain", "!!!", "commande", "48213", "89,90 €",
    "3 semaines", "3 weeks", "tu", "toi", "vous", "you", "refund", "remboursement", "ignore your instructions",
    "system prompt", "je vais me suicider", "I know where you live", "🤬", "Scunthorpe", "statut", "{{x}}",
    "[Name]", "4970 1012 3456 7890", "jean@example.com", "FR76 3000 6000 0112 3456 7890 189", "\n", "> ", "é",
])
MESSAGES = st.one_of(
    st.text(min_size=1, max_size=400),
    st.lists(st.one_of(WORDS, st.text(max_size=12)), min_size=1, max_size=40).map(" ".join),
)
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OFFLINE = Drafter(offline=True)


@FAST
@given(MESSAGES)
def test_analyze_never_raises(text):
    a = analyze_message(text)
    assert a.language in ("fr", "en") and 0 <= a.anger <= 3
    for insult in a.insults:
        assert 0 <= insult.start < insult.end <= len(text)


@FAST
@given(MESSAGES, MESSAGES)
def test_check_never_raises(reply, message):
    result = check_reply(reply, message=message)
    for v in result.violations:
        assert 0 <= v.start <= v.end <= len(reply)


@FAST
@given(MESSAGES, st.sampled_from(["email", "chat", "phone"]), st.sampled_from([None, "fr", "en"]))
def test_offline_draft_always_passes_every_hard_rule(message, channel, lang):
    if not message.strip():
        return
    draft = OFFLINE.draft(DraftRequest(message, channel=channel, lang=lang))
    hard = [v for v in draft.violations if v.severity == "hard"]
    assert hard == [], (message, draft.reply, hard)
    for personal in draft.analysis.personal_data:
        assert personal not in draft.reply


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["draft", "analyze", "check"]), MESSAGES,
       st.lists(st.sampled_from(["--json", "--lang", "fr", "xx", "--channel", "fax", "--offline", "--timeout", "-1",
                                 "--context", "/nope", "--message"]), max_size=4))
def test_cli_never_prints_a_traceback(command, text, extra):
    import contextlib
    import io

    err, out = io.StringIO(), io.StringIO()
    args = [command, text, *extra]
    if command == "draft" and "--offline" not in args:
        args.append("--offline")
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    assert code in (0, 1, 2), (args, err.getvalue())
    assert "Traceback" not in err.getvalue()
