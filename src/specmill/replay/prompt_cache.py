"""Prompt caching as the Messages API accounts for it, so scripted sessions report real cache reads and writes."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from specmill.replay.scripts import InvalidRequest, estimate_tokens, prompt_units

TTL_SECONDS: dict[str, float] = {"5m": 300.0, "1h": 3600.0}


def _ttl(cache_control: Mapping[str, Any]) -> str:
    ttl = cache_control.get("ttl", "5m")
    if ttl not in TTL_SECONDS:
        raise InvalidRequest(f"cache_control.ttl must be one of {sorted(TTL_SECONDS)}, got {ttl!r}")
    return str(ttl)


class PromptCache:
    """Prompt caching as the API documents it, reduced to prefix hashes with expiry times.

    Each `cache_control` breakpoint (or a top-level `cache_control`, meaning the last block)
    marks a prefix; prefixes shorter than `min_tokens` are never cached. A lookup checks every
    block boundary from each breakpoint back `LOOKBACK_BLOCKS` blocks, as the API does, and the
    longest unexpired stored prefix is read (its TTL refreshed). Every eligible breakpoint past
    it is written. input_tokens is what lies after the last eligible breakpoint, so
    input + cache_read + cache_creation == count_input_tokens(body). The cache lives in memory
    and is keyed by model too.
    """

    LOOKBACK_BLOCKS = 20

    def __init__(self, min_tokens: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_tokens = min_tokens
        self.clock = clock
        self._entries: dict[str, tuple[float, float]] = {}  # prefix hash -> (expires_at, ttl_s)
        self._lock = threading.Lock()

    def account(self, body: Mapping[str, Any]) -> dict[str, Any]:
        units = prompt_units(body)
        prefixes: list[tuple[int, str]] = []  # per block boundary: (prefix tokens, prefix hash)
        breakpoints: dict[int, str] = {}  # boundary index -> ttl, eligible ones only
        running = hashlib.sha256(str(body.get("model", "")).encode())
        chars = 0
        for i, (text, cache_control) in enumerate(units):
            running.update(b"\x1e" + text.encode())
            chars += len(text)
            prefixes.append((estimate_tokens(chars), running.copy().hexdigest()))
            if i == len(units) - 1 and cache_control is None and isinstance(body.get("cache_control"), dict):
                cache_control = body["cache_control"]
            if isinstance(cache_control, dict):
                ttl = _ttl(cache_control)
                if prefixes[i][0] >= self.min_tokens:
                    breakpoints[i] = ttl
        candidates = sorted(
            {
                j
                for i in breakpoints
                for j in range(max(0, i - self.LOOKBACK_BLOCKS), i + 1)
                if prefixes[j][0] >= self.min_tokens
            },
            reverse=True,
        )
        created = {"5m": 0, "1h": 0}
        read, hit = 0, -1
        with self._lock:
            now = self.clock()
            for j in candidates:
                entry = self._entries.get(prefixes[j][1])
                if entry and entry[0] > now:
                    self._entries[prefixes[j][1]] = (now + entry[1], entry[1])
                    read, hit = prefixes[j][0], j
                    break
            previous = read
            for i in sorted(b for b in breakpoints if b > hit):
                ttl_s = TTL_SECONDS[breakpoints[i]]
                self._entries[prefixes[i][1]] = (now + ttl_s, ttl_s)
                created[breakpoints[i]] += prefixes[i][0] - previous
                previous = prefixes[i][0]
        cached_end = max(previous, read)
        return {
            "input_tokens": estimate_tokens(chars) - cached_end,
            "cache_creation_input_tokens": created["5m"] + created["1h"],
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": created["5m"], "ephemeral_1h_input_tokens": created["1h"]},
        }
