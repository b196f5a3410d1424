"""Counts the pattern brief's tokens with the Messages API's token-counting endpoint.

The brief is sized to fill its budget; only the model's own tokenizer says exactly how much
text that is. The endpoint is free but remote, so the counter gives up for the rest of the
process on the first failure (no key, no network) and the brief falls back to the local,
calibrated estimate.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from specmill.config import Settings

if TYPE_CHECKING:  # the SDK takes about half a second to import: only a count needs it
    import anthropic

TIMEOUT_S = 10.0


class MessagesTokenCounter:
    """`counter(text)`: the tokens `text` costs as a user message's content, or None when the API cannot say."""

    def __init__(self, model: str, client: anthropic.Anthropic | None = None) -> None:
        self.model = model
        self._client = client
        self._overhead: int | None = None
        self._unavailable = client is None and not (
            os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> MessagesTokenCounter:
        """Counts for the configured model, else the default playbook's: one generation shares a tokenizer."""
        counter = cls(settings.model or "")
        if not counter.model and counter.available:  # offline, no model is ever asked: skip loading playbooks
            from specmill.playbooks import Playbook

            counter.model = Playbook.model_fields["model"].default
        return counter

    @property
    def available(self) -> bool:
        """False once the API has failed, or when no key is set: the brief is then sized locally."""
        return not self._unavailable

    def _count(self, text: str) -> int:
        if self._client is None:
            import anthropic

            self._client = anthropic.Anthropic(max_retries=0, timeout=TIMEOUT_S)
        message: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": text}]}
        return int(self._client.messages.count_tokens(model=self.model, messages=[message]).input_tokens)

    def __call__(self, text: str) -> int | None:
        if self._unavailable:
            return None
        import anthropic

        try:
            if self._overhead is None:
                self._overhead = max(self._count("x") - 1, 0)  # the message's framing, not the brief's
            return max(self._count(text) - self._overhead, 0)
        except anthropic.AnthropicError:
            self._unavailable = True
            return None
