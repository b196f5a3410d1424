"""Model port: one Messages API call in, one plain turn out; and its fake, which answers from a script."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from specmill.models import ModelRequest, ModelTurn, Usage


class Model(Protocol):
    def complete(self, request: ModelRequest) -> ModelTurn:
        """Make one call. Raises `TransientModelError` for errors worth retrying, `ModelError` otherwise."""
        ...

    def count_tokens(self, request: ModelRequest) -> int:
        """Input tokens the request would use; a conservative local estimate when the API cannot say."""
        ...


class ScriptedRoute(Protocol):
    def message(self, model: str, usage: Mapping[str, Any]) -> dict[str, Any]:
        """The Messages API `Message` this route answers with."""
        ...


class SessionScript(Protocol):
    """What the fake needs of a script. `specmill.replay.scripts.Script` is one, so one scenario
    drives this in-process fake and the replay server alike (and the port stays free of the server)."""

    def route(self, body: Mapping[str, Any]) -> ScriptedRoute:
        """Pick the answer for a request body, or raise saying why none matches."""
        ...


class ScriptedModel:
    """The Model fake: answers from a script (or a function) and records every request.

    Tests run the real phases and workflow on it with no network and no patching; a function
    lets a test wrap the script to fail or pause on a chosen call.
    """

    def __init__(self, script: SessionScript | Callable[[ModelRequest], ModelTurn]) -> None:
        self._respond = script if callable(script) else _answer_from(script)
        self.requests: list[ModelRequest] = []

    def complete(self, request: ModelRequest) -> ModelTurn:
        self.requests.append(request)
        return self._respond(request)

    def count_tokens(self, request: ModelRequest) -> int:
        """4 characters a token over the request's JSON: deterministic, so budget tests can do exact sums."""
        payload = {"system": request.system, "messages": request.messages, "tools": request.tools}
        return math.ceil(len(json.dumps(payload, ensure_ascii=False, separators=(",", ":"))) / 4)


def _answer_from(script: SessionScript) -> Callable[[ModelRequest], ModelTurn]:
    def respond(request: ModelRequest) -> ModelTurn:
        message = script.route(request.model_dump(exclude_none=True)).message(request.model, {})
        return ModelTurn(
            content=message["content"],
            stop_reason=message["stop_reason"],
            model=request.model,
            usage=Usage(input_tokens=1, output_tokens=1),
        )

    return respond
