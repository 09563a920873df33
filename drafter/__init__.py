"""drafter: calm, specific, safe replies to angry and insulting customer messages.

    from drafter import draft_reply
    draft = draft_reply("Bande d'incompétents, ça fait 3 semaines que j'attends ma commande 48213")
    print(draft.reply, draft.status)
"""

from .analysis import Analysis, analyze_message
from .checker import CheckResult, check_reply
from .context import Context, Policy, load_context
from .drafting import Draft, Drafter, DraftRequest, DraftRun, draft_reply
from .errors import (
    ContextError,
    DrafterError,
    EmptyMessageError,
    InputError,
    MessageTooLongError,
    ModelError,
    ModelResponseError,
    ModelTimeoutError,
    ModelUnavailableError,
    TemplateError,
)
from .settings import Settings, resolve_settings
from .tone_rules import HARD_RULE_IDS, RULE_IDS, TONE_RULES, ToneRule, Violation

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "DraftPool":   # loaded on first use: it brings asyncio, which the offline CLI never needs
        from .draft_pool import DraftPool

        return DraftPool
    raise AttributeError(f"module 'drafter' has no attribute {name!r}")

__all__ = [
    "Analysis",
    "CheckResult",
    "Context",
    "ContextError",
    "Draft",
    "DraftPool",
    "DraftRequest",
    "DraftRun",
    "Drafter",
    "DrafterError",
    "EmptyMessageError",
    "HARD_RULE_IDS",
    "InputError",
    "MessageTooLongError",
    "ModelError",
    "ModelResponseError",
    "ModelTimeoutError",
    "ModelUnavailableError",
    "Policy",
    "RULE_IDS",
    "Settings",
    "TONE_RULES",
    "TemplateError",
    "ToneRule",
    "Violation",
    "analyze_message",
    "check_reply",
    "draft_reply",
    "load_context",
    "resolve_settings",
    "__version__",
]
