import pytest

from drafter.errors import InputError
from drafter.settings import resolve_settings


def test_defaults_without_environment():
    s = resolve_settings(environ={})
    assert s.offline and s.model == "gpt-4o-mini" and s.timeout == 60 and s.max_chars == 20000
    assert s.on_too_long == "truncate" and s.max_attempts == 3


def test_argument_beats_environment_beats_default():
    env = {"DRAFTER_MODEL": "env-model", "DRAFTER_TIMEOUT": "12", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"}
    s = resolve_settings(environ=env)
    assert (s.model, s.timeout, s.offline) == ("env-model", 12.0, False)
    s = resolve_settings(model="arg-model", timeout=3, environ=env)
    assert (s.model, s.timeout) == ("arg-model", 3.0)


def test_key_alone_selects_the_model_and_offline_flag_wins():
    assert not resolve_settings(environ={"OPENAI_API_KEY": "sk-x"}).offline
    assert resolve_settings(offline=True, environ={"OPENAI_API_KEY": "sk-x"}).offline


def test_key_is_not_in_repr():
    assert "sk-secret" not in repr(resolve_settings(environ={"OPENAI_API_KEY": "sk-secret"}))


@pytest.mark.parametrize("env", [{"DRAFTER_TIMEOUT": "soon"}, {"DRAFTER_TIMEOUT": "0"},
                                 {"DRAFTER_MAX_CHARS": "-3"}, {"DRAFTER_ON_TOO_LONG": "explode"}])
def test_bad_environment_values_are_input_errors(env):
    with pytest.raises(InputError):
        resolve_settings(environ=env)
