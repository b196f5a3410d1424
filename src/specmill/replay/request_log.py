"""The replay server's request log: every request as `received`, then `completed` once its whole answer was
written (or `aborted`), so tests and benchmarks can prove that no completed call was ever answered twice."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping
from typing import Any

from specmill.replay.scripts import canonical_json

MESSAGES_PATH = "/v1/messages"


def request_sha256(body: Mapping[str, Any]) -> str:
    """Identify a request regardless of whether it asked for a stream."""
    stripped = {k: v for k, v in body.items() if k != "stream"}
    return hashlib.sha256(canonical_json(stripped).encode()).hexdigest()


def read_request_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Entries of a JSONL request log; a torn last line (server killed mid-write) is skipped."""
    entries: list[dict[str, Any]] = []
    if not os.path.exists(path):
        return entries
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return entries


def completed_counts(entries: list[dict[str, Any]], status: int | None = 200) -> Counter[str]:
    """How many times each request body got a fully written answer (of `status`, or any if None)."""
    return Counter(
        e["request_sha256"]
        for e in entries
        if e.get("completed") and e.get("path") == MESSAGES_PATH and (status is None or e.get("status") == status)
    )
