"""An in-process Model fake: answers from a script, and records every request.

It routes requests with the same scripts as the loopback Messages API server, so
one scenario serves fast unit tests and end-to-end tests alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from specmill.adapters.token_estimate import estimate_request_tokens
from specmill.models import ModelRequest, ModelTurn, Usage
from specmill.testing.scripts import Script


class ScriptedModel:
    def __init__(self, script: Script | Mapping[str, Any] | Callable[[ModelRequest], ModelTurn]) -> None:
        self._respond = script if callable(script) else _router(Script.load(script))
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> ModelTurn:
        self.requests.append(request)
        return self._respond(request)

    def count_tokens(self, request: ModelRequest) -> int:
        return estimate_request_tokens(request)


def _router(script: Script) -> Callable[[ModelRequest], ModelTurn]:
    def respond(request: ModelRequest) -> ModelTurn:
        route = script.route(request.model_dump(exclude_none=True))
        content = route.content()
        stop = route.turn.resolved_stop_reason
        return ModelTurn(content=content, stop_reason=stop, model=request.model, usage=Usage(input_tokens=1, output_tokens=1))

    return respond
