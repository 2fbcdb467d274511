"""Failures of a dspy run as messages a user can act on, never carrying a secret.

`the language model 'fast' (openai/gpt-4o-mini) rejected the API key (HTTP 401): Incorrect API
key provided`; `the model's answer could not be parsed: expected fields answer, confidence`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from dspex_gql.engine.adapters.dspy.calls import bounded_text
from dspex_gql.engine.language_models import LanguageModelSpec

_WHAT_BY_CODE = {
    "auth": "rejected the API key",
    "billing": "refused the request for billing or quota reasons",
    "rate_limit": "rate-limited the request",
    "timeout": "timed out",
    "server": "failed",
    "transport": "could not be reached",
    "invalid_request": "refused the request",
    "context_window_exceeded": "refused the request: the prompt is longer than its context window",
    "unsupported_model": "does not offer this model",
    "configuration": "is not configured correctly",
    "not_configured": "is not configured correctly",
}


def secrets_of(spec: LanguageModelSpec) -> list[str]:
    """What must never appear in a message: the API key and any password in the base URL."""
    secrets = [spec.api_key] if spec.api_key else []
    if spec.base_url:
        parts = urlsplit(spec.base_url)
        secrets += [secret for secret in (parts.password, parts.username) if secret]
    return secrets


def scrubbed(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def lm_failure_message(
    error: BaseException, spec: LanguageModelSpec, attempts: int, timeout_seconds: float
) -> str:
    """`the language model 'fast' (openai/x) rate-limited the request (HTTP 429) after 4
    attempts: slow down`."""
    subject = f"the language model '{spec.name}' ({spec.model})"
    if isinstance(error, TimeoutError):
        message = f"{subject} did not answer within {timeout_seconds:g} s"
    else:
        what = _WHAT_BY_CODE.get(str(getattr(error, "code", "")), "failed")
        status = getattr(error, "status", None)
        message = f"{subject} {what}" + (f" (HTTP {status})" if status else "")
        message += f": {_first_line(error)}" if _first_line(error) else ""
    if attempts > 1:
        message += f" (after {attempts} attempts)"
    return scrubbed(message, secrets_of(spec))


def _first_line(error: BaseException) -> str:
    """DSPy's own message without its `[model]` prefix and its "To fix" advice."""
    text = str(getattr(error, "message", "") or error)
    text = re.sub(r"^\[[^\]]*\]\s*", "", text.strip())
    return bounded_text(text.split("\n")[0].strip(), 300)


def parse_failure_message(error: Any, secrets: Iterable[str]) -> str:
    """`the model's answer could not be parsed: expected fields answer, confidence; it
    answered: "Sorry…"`."""
    expected = ", ".join(getattr(getattr(error, "signature", None), "output_fields", {}) or [])
    answer = bounded_text(str(getattr(error, "lm_response", "") or "").strip(), 200)
    message = "the model's answer could not be parsed"
    message += f": expected fields {expected}" if expected else ""
    message += f"; it answered: {answer!r}" if answer else ""
    return scrubbed(message, secrets)


def program_failure_message(error: BaseException, secrets: Iterable[str]) -> str:
    detail = bounded_text(str(error).strip(), 300)
    return scrubbed(f"the dspy program failed: {type(error).__name__}: {detail}", secrets)
