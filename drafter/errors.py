"""Errors raised by drafter.

Every error the library raises on purpose is a ``DrafterError``; the CLI turns each one into a
one-line message and its ``exit_code``::

    DrafterError                    base class; exit 1
    ├── InputError                  the message, the reply or an option is unusable; exit 2
    │   ├── EmptyMessageError       nothing but whitespace was given
    │   ├── MessageTooLongError     over the size limit and the policy is "refuse"
    │   └── ContextError            a context file or dict is missing or malformed (``.path``)
    ├── TemplateError               a prompt template is missing or fails to render (``.template``)
    └── ModelError                  the model could not give a usable answer (``.reason``)
        ├── ModelUnavailableError   connection refused, DNS, TLS: the server cannot be reached
        ├── ModelTimeoutError       the overall deadline passed
        └── ModelResponseError      an answer came back but was unusable (status, body, refusal)

Third-party errors (``openai``, ``jinja2``, ``tomllib``) are translated at the module that calls
them; nothing else leaks out.
"""

from __future__ import annotations


class DrafterError(Exception):
    """Base class of every error drafter raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(DrafterError):
    """The input (message, reply, option value) cannot be used."""

    exit_code = 2


class EmptyMessageError(InputError):
    """The message is empty or blank."""


class MessageTooLongError(InputError):
    """The message is over the configured limit and the policy is to refuse it."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"the message is {length} characters long, over the limit of {limit}",
            hint="shorten it, raise DRAFTER_MAX_CHARS, or set DRAFTER_ON_TOO_LONG=truncate",
        )
        self.length = length
        self.limit = limit


class ContextError(InputError):
    """A context file or mapping is missing or malformed."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class TemplateError(DrafterError):
    """A prompt template is missing, has a syntax error, or fails to render."""

    def __init__(self, message: str, *, template: str | None = None) -> None:
        super().__init__(f"template {template}: {message}" if template else message)
        self.template = template


class ModelError(DrafterError):
    """The model gave no usable answer."""

    def __init__(self, message: str, *, reason: str = "error", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


class ModelUnavailableError(ModelError):
    """The model server cannot be reached."""


class ModelTimeoutError(ModelError):
    """The overall deadline passed before the model answered."""


class ModelResponseError(ModelError):
    """The server answered, but not with a usable reply."""

    def __init__(self, message: str, *, reason: str = "response", status: int | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, reason=reason, hint=hint)
        self.status = status
