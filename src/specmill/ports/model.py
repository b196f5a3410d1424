"""Model port: one Messages API call in, one plain turn out."""

from __future__ import annotations

from typing import Protocol

from specmill.models import ModelRequest, ModelTurn


class Model(Protocol):
    def complete(self, request: ModelRequest) -> ModelTurn:
        """Make one call. Raises `TransientModelError` for errors worth retrying, `ModelError` otherwise."""
        ...

    def count_tokens(self, request: ModelRequest) -> int:
        """Input tokens the request would use; a conservative local estimate when the API cannot say."""
        ...
