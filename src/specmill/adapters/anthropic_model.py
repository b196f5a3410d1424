"""The Model port over the official Anthropic SDK.

The SDK's own retries are kept low: DBOS step retries (with backoff, recorded in
the run) handle overload, rate limits, 5xx and dropped connections. Other 4xx
fail the step at once with the API's own message.

Some models refuse a forced `tool_choice` with a 400. A forced call then falls back to
`tool_choice: auto` with that one tool offered, and asks once more if the answer holds no
call of it; the adapter remembers the model, so later forced calls go straight to the fallback.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from specmill.adapters.token_estimate import estimate_request_tokens
from specmill.errors import ModelError, TransientModelError
from specmill.models import ModelRequest, ModelTurn, Usage

if TYPE_CHECKING:  # the SDK takes long to import: a worker recovering runs does not wait for it
    import anthropic

_TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}
_TRANSIENT_TYPES = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


class AnthropicModel:
    """Streams each call (long generations would otherwise hit the SDK's non-streaming limits)."""

    def __init__(self, client: anthropic.Anthropic | None = None, *, timeout_s: float = 600.0) -> None:
        self._given, self._timeout_s = client, timeout_s
        self._refuse_forced_tools: set[str] = set()

    @cached_property
    def _client(self) -> anthropic.Anthropic:
        import anthropic

        return self._given or anthropic.Anthropic(max_retries=1, timeout=self._timeout_s)

    def complete(self, request: ModelRequest) -> ModelTurn:
        tool = forced_tool(request)
        if tool is None:
            return self._complete(request)
        if request.model not in self._refuse_forced_tools:
            try:
                return self._complete(request)
            except ForcedToolRefused:
                self._refuse_forced_tools.add(request.model)
        return self._complete_unforced(request, tool)

    def _complete_unforced(self, request: ModelRequest, tool: str) -> ModelTurn:
        """The forced call as `auto` with only `tool` offered; one more ask when the answer does not use it."""
        offered = [t for t in request.tools if t.get("name") == tool]
        auto = request.model_copy(update={"tools": offered, "tool_choice": {"type": "auto"}})
        first = self._complete(auto)
        if any(use.get("name") == tool for use in first.tool_uses):
            return first
        nudge = {"role": "user", "content": [{"type": "text", "text": f"Answer by calling the {tool} tool now."}]}
        said = first.content or [{"type": "text", "text": "(no answer)"}]
        again = auto.model_copy(update={"messages": [*auto.messages, {"role": "assistant", "content": said}, nudge]})
        second = self._complete(again)
        return second.model_copy(update={"usage": first.usage + second.usage})

    def _complete(self, request: ModelRequest) -> ModelTurn:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": request.system,
            "messages": request.messages,
        }
        if request.tools:
            kwargs["tools"] = request.tools
        if request.tool_choice:
            kwargs["tool_choice"] = request.tool_choice
        import anthropic

        try:
            with self._client.messages.stream(**kwargs) as stream:
                message = stream.get_final_message()
        except anthropic.APIConnectionError as exc:
            raise TransientModelError(f"model API unreachable: {exc}") from None
        except anthropic.APIStatusError as exc:
            detail = f"model API answered {exc.status_code}: {_api_message(exc)}"
            if exc.status_code == 400 and forced_tool(request) is not None:
                raise ForcedToolRefused(detail) from None
            if exc.status_code in _TRANSIENT_STATUS or _error_type(exc) in _TRANSIENT_TYPES:
                raise TransientModelError(detail) from None
            raise ModelError(detail) from None
        return _to_turn(message)

    def count_tokens(self, request: ModelRequest) -> int:
        kwargs: dict[str, Any] = {"model": request.model, "system": request.system, "messages": request.messages}
        if request.tools:
            kwargs["tools"] = request.tools
        if request.tool_choice:
            kwargs["tool_choice"] = request.tool_choice
        import anthropic

        try:
            return int(self._client.messages.count_tokens(**kwargs).input_tokens)
        except anthropic.AnthropicError:
            return estimate_request_tokens(request)


class ForcedToolRefused(ModelError):
    """The API answered 400 to a forced `tool_choice` (some models do not support forcing a tool)."""


def forced_tool(request: ModelRequest) -> str | None:
    choice = request.tool_choice or {}
    return str(choice["name"]) if choice.get("type") == "tool" and choice.get("name") else None


def _error_type(exc: anthropic.APIStatusError) -> str:
    """An error sent mid-stream arrives with HTTP 200; only its body says what it was."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("type", ""))
    return ""


def _api_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(exc.message)


def _to_turn(message: Any) -> ModelTurn:
    """Keep only plain JSON: SDK objects must not reach the step record."""
    content = [block.model_dump(mode="json", exclude_none=True) for block in message.content]
    usage = message.usage
    return ModelTurn(
        content=[_plain_block(block) for block in content],
        stop_reason=message.stop_reason,
        model=message.model,
        usage=Usage(
            input_tokens=usage.input_tokens or 0,
            output_tokens=usage.output_tokens or 0,
            cache_read_input_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
            cache_creation_input_tokens=getattr(usage, "cache_creation_input_tokens", 0) or 0,
        ),
    )


def _plain_block(block: dict[str, Any]) -> dict[str, Any]:
    """Drop SDK-only fields so the block can be sent back verbatim as conversation history."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": block.get("text", "")}
    if kind == "tool_use":
        return {"type": "tool_use", "id": block["id"], "name": block["name"], "input": block.get("input", {})}
    return block
