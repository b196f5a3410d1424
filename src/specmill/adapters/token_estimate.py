"""A local token count for when the token-counting endpoint cannot answer: it over-counts
(see repo_scan.tokens), so a budget check built on it errs on the side of stopping."""

from __future__ import annotations

import json

from specmill.adapters.repo_scan.tokens import estimate_tokens
from specmill.models import ModelRequest


def estimate_request_tokens(request: ModelRequest) -> int:
    payload = {"system": request.system, "messages": request.messages, "tools": request.tools}
    return estimate_tokens(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
