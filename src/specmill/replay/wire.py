"""The Messages API's wire shapes the replay server sends: error bodies and the streaming event sequence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from specmill.replay.scripts import Fault


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def sse_events(message: dict[str, Any], chunk_chars: int, fault: Fault | None = None) -> Iterator[tuple[str, Any]]:
    """The API's (event, data) sequence for `message`; a mid-stream fault follows message_start."""
    usage = message["usage"]
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}},
        },
    )
    if fault is not None:
        yield "error", error_body(fault.error_type, fault.message or f"scripted mid-stream {fault.error_type}")
        return
    for index, block in enumerate(message["content"]):
        is_text = block["type"] == "text"
        start = {"type": "text", "text": ""} if is_text else {**block, "input": {}}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        if index == 0:
            yield "ping", {"type": "ping"}
        if is_text:
            deltas = [{"type": "text_delta", "text": part} for part in _chunks(block["text"], chunk_chars)]
        else:
            parts = ["", *_chunks(json.dumps(block["input"]), chunk_chars)]
            deltas = [{"type": "input_json_delta", "partial_json": part} for part in parts]
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    totals = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    stop: dict[str, Any] = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    yield "message_delta", {"type": "message_delta", "delta": stop, "usage": {k: usage[k] for k in totals}}
    yield "message_stop", {"type": "message_stop"}
