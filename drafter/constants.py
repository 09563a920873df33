"""Defaults in one place."""

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 60.0          # seconds, one whole draft: every attempt and retry
DEFAULT_MAX_ATTEMPTS = 3        # model drafts (first + revisions) before the offline fallback
DEFAULT_MAX_CHARS = 20_000
DEFAULT_TEMPERATURE = 0.3
DEFAULT_MAX_TOKENS = 600
DEFAULT_LANGUAGE = "en"         # when neither the message nor the context tells
LOCAL_API_KEY = "not-needed"    # sent to local servers (Ollama, llama.cpp) that ignore keys

# transport retries (one layer, in model_client): capped, jittered, inside the deadline
RETRY_MAX_TRANSPORT = 4
RETRY_INITIAL_WAIT = 0.5
RETRY_MAX_WAIT = 8.0
RETRY_AFTER_CAP = 20.0

LANGUAGES = ("fr", "en")
CHANNELS = ("email", "chat", "phone")
POLICY_ITEMS = ("refund", "replacement", "voucher", "discount", "free_shipping", "compensation",
                "callback", "deadline")
# reply length bounds in characters, per channel (the `length` rule)
LENGTH_BOUNDS = {"email": (200, 1600), "chat": (60, 700), "phone": (120, 1200)}
