"""Scripts for the replay server: what to answer, and how many tokens it cost.

A script is plain JSON so a test, the demo and a benchmark can share one file. Routing is
stateless (first user text, forced tool, number of assistant messages) so that a client
that crashed and re-sends the same request gets the same answer. Token counts are a
deterministic estimate (4 characters a token) so tests can assert exact numbers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
CHARS_PER_TOKEN = 4


class ScriptError(ValueError):
    """The script itself is malformed; raised at load time so a typo fails before any request."""


class InvalidRequest(Exception):
    """A request the server answers with 400 invalid_request_error."""


class Unmatched(InvalidRequest):
    """No conversation or turn answers this request; the message says exactly why."""


def canonical_json(value: Any) -> str:
    """One spelling per value, so hashes and token estimates are stable across processes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def estimate_tokens(chars: int) -> int:
    return math.ceil(chars / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Fault:
    """Answer the first `times` requests for one (conversation, turn) with an HTTP error."""

    status: int
    times: int = 1
    message: str | None = None
    retry_after_s: float = 1.0
    mid_stream: bool = False

    @property
    def error_type(self) -> str:
        return ERROR_TYPES[self.status]


@dataclass(frozen=True)
class Turn:
    content: list[dict[str, Any]]
    stop_reason: str | None = None
    fail: Fault | None = None
    delay_s: float = 0.0
    output_tokens: int | None = None

    @property
    def resolved_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(b["type"] == "tool_use" for b in self.content) else "end_turn"


@dataclass(frozen=True)
class Conversation:
    name: str
    turns: list[Turn]
    match: dict[str, Any] = field(default_factory=dict)
    repeat_last: bool = False


@dataclass(frozen=True)
class Route:
    conversation: Conversation
    turn_index: int
    turn: Turn

    def content(self) -> list[dict[str, Any]]:
        """Response blocks with tool_use ids derived from (conversation, turn, block) so replays agree."""
        blocks: list[dict[str, Any]] = []
        for i, block in enumerate(self.turn.content):
            if block["type"] == "text":
                blocks.append({"type": "text", "text": block["text"]})
            else:
                seed = f"{self.conversation.name}\x00{self.turn_index}\x00{i}".encode()
                tool_id = block.get("id") or "toolu_" + hashlib.sha256(seed).hexdigest()[:24]
                blocks.append({"type": "tool_use", "id": tool_id, "name": block["name"], "input": block["input"]})
        return blocks

    def message(self, model: str, usage: Mapping[str, Any]) -> dict[str, Any]:
        """The API's Message object; its id, like the tool ids, depends only on the route."""
        seed = f"{self.conversation.name}\x00{self.turn_index}".encode()
        return {
            "id": "msg_" + hashlib.sha256(seed).hexdigest()[:24],
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self.content(),
            "stop_reason": self.turn.resolved_stop_reason,
            "stop_sequence": None,
            "usage": {**usage, "output_tokens": self.output_tokens(), "service_tier": "standard"},
        }

    def output_tokens(self) -> int:
        if self.turn.output_tokens is not None:
            return self.turn.output_tokens
        total = 0
        for block in self.turn.content:
            if block["type"] == "text":
                total += estimate_tokens(len(block["text"]))
            else:
                total += estimate_tokens(len(block["name"]) + len(canonical_json(block["input"])))
        return max(total, 1)


def _check_keys(where: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScriptError(f"{where}: expected an object, got {type(value).__name__}")
    unknown = set(value) - allowed
    if unknown:
        raise ScriptError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
    return value


def _parse_block(where: str, raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict) and raw.get("type") == "text":
        _check_keys(where, raw, {"type", "text"})
        if not isinstance(raw.get("text"), str):
            raise ScriptError(f"{where}: a text block needs a string 'text'")
        return dict(raw)
    if isinstance(raw, dict) and raw.get("type") == "tool_use":
        _check_keys(where, raw, {"type", "name", "input", "id"})
        if not isinstance(raw.get("name"), str) or not isinstance(raw.get("input", {}), dict):
            raise ScriptError(f"{where}: a tool_use block needs a string 'name' and an object 'input'")
        return {**raw, "input": raw.get("input", {})}
    raise ScriptError(f"{where}: content blocks must be {{'type': 'text'|'tool_use', ...}}, got {raw!r}")


def _parse_turn(where: str, raw: Any) -> Turn:
    raw = _check_keys(where, raw, {"content", "stop_reason", "fail", "delay_s", "output_tokens"})
    content = raw.get("content", [])
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise ScriptError(f"{where}.content: expected a list of blocks or a string")
    fault = None
    if raw.get("fail") is not None:
        f = _check_keys(f"{where}.fail", raw["fail"], {"status", "times", "message", "retry_after_s", "mid_stream"})
        if f.get("status") not in ERROR_TYPES:
            raise ScriptError(f"{where}.fail.status must be one of {sorted(ERROR_TYPES)}")
        fault = Fault(
            status=f["status"],
            times=int(f.get("times", 1)),
            message=f.get("message"),
            retry_after_s=float(f.get("retry_after_s", 1.0)),
            mid_stream=bool(f.get("mid_stream", False)),
        )
    return Turn(
        content=[_parse_block(f"{where}.content[{i}]", b) for i, b in enumerate(content)],
        stop_reason=raw.get("stop_reason"),
        fail=fault,
        delay_s=float(raw.get("delay_s", 0.0)),
        output_tokens=raw.get("output_tokens"),
    )


def first_user_text(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            return "\n".join(
                b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text"
            )
    return ""


def forced_tool(body: Mapping[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return choice.get("name")
    return None


def chosen_tool(body: Mapping[str, Any]) -> str | None:
    """The tool a request forces or, under `auto`, offers alone (the fallback for models that refuse forcing)."""
    forced = forced_tool(body)
    if forced is not None:
        return forced
    choice, tools = body.get("tool_choice"), body.get("tools") or []
    if isinstance(choice, dict) and choice.get("type") == "auto" and len(tools) == 1 and isinstance(tools[0], dict):
        return tools[0].get("name")
    return None


@dataclass(frozen=True)
class Script:
    conversations: list[Conversation]
    min_cacheable_tokens: int = 1024
    refuse_forced_tool: bool = False
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Script:
        raw = _check_keys("script", dict(raw), {"conversations", "min_cacheable_tokens", "refuse_forced_tool"})
        conversations: list[Conversation] = []
        for i, conv in enumerate(raw.get("conversations", [])):
            where = f"conversations[{i}]"
            conv = _check_keys(where, conv, {"name", "match", "turns", "repeat_last"})
            name = conv.get("name") or f"conversation-{i}"
            if any(c.name == name for c in conversations):
                raise ScriptError(f"{where}: duplicate conversation name {name!r}")
            match = _check_keys(f"{where}.match", conv.get("match", {}), {"first_user_contains", "tool_choice"})
            turns = [_parse_turn(f"{where}.turns[{j}]", t) for j, t in enumerate(conv.get("turns", []))]
            if not turns:
                raise ScriptError(f"{where}: a conversation needs at least one turn")
            conversations.append(Conversation(name, turns, dict(match), bool(conv.get("repeat_last", False))))
        return cls(
            conversations,
            int(raw.get("min_cacheable_tokens", 1024)),
            bool(raw.get("refuse_forced_tool", False)),
            json.loads(json.dumps(raw)),
        )

    @classmethod
    def load(cls, source: Script | Mapping[str, Any] | str | os.PathLike[str]) -> Script:
        """Accept a Script, a dict, or the path of a JSON file."""
        if isinstance(source, Script):
            return source
        if isinstance(source, Mapping):
            return cls.from_dict(source)
        with open(source, encoding="utf-8") as fh:
            return cls.from_dict(json.load(fh))

    def to_dict(self) -> dict[str, Any]:
        return dict(json.loads(json.dumps(self.source)))

    def route(self, body: Mapping[str, Any]) -> Route:
        """Pick the answer for a request, or raise `Unmatched` saying what failed to match.
        A script that refuses forced tools answers every forcing request as a model that cannot force."""
        if self.refuse_forced_tool and forced_tool(body) is not None:
            raise InvalidRequest("tool_choice forcing a tool is not supported by this model: use tool_choice auto")
        messages = body.get("messages") or []
        text = first_user_text(messages)
        tool = chosen_tool(body)
        index = sum(1 for m in messages if m.get("role") == "assistant")
        reasons: list[str] = []
        for conv in self.conversations:
            why = _mismatch(conv.match, text, tool)
            if why:
                reasons.append(f"{conv.name!r}: {why}")
                continue
            if index < len(conv.turns):
                return Route(conv, index, conv.turns[index])
            if conv.repeat_last:
                return Route(conv, index, conv.turns[-1])
            raise Unmatched(
                f"scripted conversation {conv.name!r} has {len(conv.turns)} turn(s) but the request has "
                f"{index} assistant message(s), so it asks for turn index {index}"
            )
        raise Unmatched(
            f"no scripted conversation matches: first user text {text[:200]!r}, forced tool {tool!r}; "
            + ("; ".join(reasons) if reasons else "the script has no conversations")
        )


def _mismatch(match: Mapping[str, Any], text: str, tool: str | None) -> str:
    if "first_user_contains" in match and match["first_user_contains"] not in text:
        return f"first user text lacks {match['first_user_contains']!r}"
    if "tool_choice" in match and match["tool_choice"] != tool:
        return f"wants forced tool {match['tool_choice']!r}, request forces or offers alone {tool!r}"
    return ""


def prompt_units(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """The prompt in cache order (tools, system, messages) as (canonical JSON, cache_control) units."""

    def unit(kind: str, block: Any) -> tuple[str, dict[str, Any] | None]:
        if not isinstance(block, dict):
            return canonical_json([kind, block]), None
        rest = {k: v for k, v in block.items() if k != "cache_control"}
        return canonical_json([kind, rest]), block.get("cache_control")

    units = [unit("tool", t) for t in body.get("tools") or []]
    system = body.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    units += [unit("system", b) for b in system or []]
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        units += [unit(str(message.get("role")), b) for b in blocks]
    return units


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """Total prompt tokens: ceil(characters of the canonical units / 4)."""
    return estimate_tokens(sum(len(text) for text, _ in prompt_units(body)))
