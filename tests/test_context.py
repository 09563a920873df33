import json

import pytest

from drafter.context import context_from_mapping, load_context
from drafter.errors import ContextError


def test_toml_context(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text('company = "Colis Express"\nagent = "Camille"\nfacts = ["bloqué à Lyon"]\n'
                    '[policy]\nallowed = ["replacement", "callback"]\nresponse_time = "48 h"\n', encoding="utf-8")
    ctx = load_context(path)
    assert ctx.company == "Colis Express" and ctx.agent == "Camille" and ctx.facts == ("bloqué à Lyon",)
    assert ctx.policy.allows("callback") and not ctx.policy.allows("refund")
    assert ctx.policy.response_time == "48 h"


def test_json_context(tmp_path):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"customer_name": "Ms Smith", "policy": {"allowed": ["refund"]}}))
    assert load_context(path).policy.allows("refund")


@pytest.mark.parametrize("content,needle", [
    ("{not json", "invalid JSON"),
    ('{"policy": {"allowed": ["teleport"]}}', "unknown item"),
    ('{"colour": "blue"}', "unknown key"),
    ('{"facts": 3}', "facts"),
    ('{"channel": "fax"}', "channel"),
    ("[1, 2]", "table/object"),
])
def test_malformed_context_names_file_and_problem(tmp_path, content, needle):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ContextError) as err:
        load_context(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_and_bad_toml(tmp_path):
    with pytest.raises(ContextError, match="no such file"):
        load_context(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("company = ")
    with pytest.raises(ContextError, match="invalid TOML"):
        load_context(bad)


def test_mapping_passthrough():
    assert context_from_mapping(None).company is None
    assert context_from_mapping({"facts": "one"}).facts == ("one",)
