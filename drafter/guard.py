"""The guard loop: draft, check, revise, and fall back to the offline composer.

A reply that breaks a hard rule is never returned as ``ok``. The model gets ``max_attempts`` drafts
(the first, then revisions that name the violations); when the last one still fails, or the model
cannot be reached, the offline draft replaces it with ``status: "review"`` and the reasons.
``GuardLoop`` holds the state; the sync and async drivers in ``drafting`` only make the calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .analysis import Analysis
from .checker import CheckResult, check_reply
from .composer import OfflineComposer
from .context import Context
from .errors import ModelError, ModelResponseError
from .prompts import PromptLibrary

if TYPE_CHECKING:  # the offline path never imports the model client (nor openai)
    from .model_client import Completion


@dataclass
class GuardOutcome:
    reply: str
    status: str                  # "ok" or "review"
    backend: str                 # "openai" or "offline"
    check: CheckResult
    attempts: int
    fallback: bool
    reasons: list[str]
    model: str | None = None


def _rules(check: CheckResult) -> str:
    return ", ".join(sorted({v.rule for v in check.hard}))


@dataclass
class GuardLoop:
    message: str
    analysis: Analysis
    context: Context
    language: str
    channel: str
    prompts: PromptLibrary
    composer: OfflineComposer
    max_attempts: int
    variables: dict[str, object]
    _messages: list[dict[str, str]] | None = field(default=None, init=False, repr=False)
    attempts: int = 0
    reasons: list[str] = field(default_factory=list)
    outcome: GuardOutcome | None = None
    model: str | None = None
    _give_up: bool = False

    @property
    def messages(self) -> list[dict[str, str]]:
        """What the next model call sends; rendered on first use (the offline path never needs it)."""
        if self._messages is None:
            self._messages = self.first_messages()
        return self._messages

    @messages.setter
    def messages(self, value: list[dict[str, str]]) -> None:
        self._messages = value

    def first_messages(self) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.prompts.render("system.j2", **self.variables)},
            {"role": "user", "content": self.prompts.render("draft.j2", **self.variables)},
        ]

    def wants_model(self) -> bool:
        return self.outcome is None and not self._give_up and self.attempts < self.max_attempts

    def check(self, text: str) -> CheckResult:
        return check_reply(text, message=self.message, context=self.context, lang=self.language,
                           channel=self.channel, analysis=self.analysis)

    def received(self, completion: Completion) -> None:  # noqa: F821
        self.attempts += 1
        self.model = completion.model or self.model
        text = completion.text.strip()
        result = self.check(text)
        if result.passed:
            status = "review" if self.analysis.escalate else "ok"
            self.outcome = GuardOutcome(text, status, "openai", result, self.attempts, False, self.reasons,
                                        self.model)
            return
        self.reasons.append(f"attempt {self.attempts}: the model's draft broke {_rules(result)}")
        violations = [{"rule": v.rule, "severity": v.severity, "message": v.message, "text": v.text}
                      for v in result.hard]
        self.messages = self.messages[:2] + [
            {"role": "assistant", "content": text},
            {"role": "user", "content": self.prompts.render("revise.j2", violations=violations,
                                                            language=self.language, channel=self.channel,
                                                            attempt=self.attempts + 1)},
        ]

    def failed(self, error: ModelError) -> None:
        """A call that gave no usable reply. Bad answers use up an attempt; no answer ends the loop."""
        self.reasons.append(f"attempt {self.attempts + 1}: {error.message}")
        if isinstance(error, ModelResponseError) and error.reason in ("empty", "truncated", "refusal", "malformed",
                                                                      "filtered", "status"):
            self.attempts += 1
            self.messages = self.first_messages()
            if error.reason == "status" and error.status is not None and error.status < 500:
                self._give_up = True
            return
        self._give_up = True

    def result(self) -> GuardOutcome:
        if self.outcome is not None:
            return self.outcome
        if self.attempts >= self.max_attempts and not self._give_up:
            self.reasons.append(f"no compliant draft after {self.attempts} attempt(s): offline draft used")
        else:
            self.reasons.append("the model gave no usable reply: offline draft used")
        return self.offline(fallback=True)

    def offline(self, *, fallback: bool) -> GuardOutcome:
        text = self.composer.compose(self.message, self.analysis, self.context, language=self.language,
                                     channel=self.channel)
        result = self.check(text)
        reasons = list(self.reasons)
        if not result.passed:  # never expected: the composer is tested against every hard rule
            reasons.append(f"the offline draft broke {_rules(result)}")
        status = "review" if fallback or not result.passed or self.analysis.escalate else "ok"
        return GuardOutcome(text, status, "offline", result, self.attempts if fallback else 1, fallback, reasons,
                            self.model)
