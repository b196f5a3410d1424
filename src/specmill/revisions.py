"""Review follow-up: a review on a run's pull request becomes a revision run on the same branch.

Both doors (GitHub's webhook and `specmill revise`) come here. A revision continues the run's branch
from its head with the review as feedback, runs the full test and validate phases, pushes, and replies
on the pull request. A webhook delivery names its revision run, so a delivery GitHub sends twice starts
one run.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

from pydantic import BaseModel

from specmill.errors import BadInput, RunNotFound
from specmill.models import Revision, RunRequest, RunResult
from specmill.phases.publish import review_feedback

MENTION = "@specmill"


class ReviewRequest(BaseModel):
    """What a webhook delivery asks for, once recognised: a revision of the run on pull request `number`."""

    repository: str
    number: int
    comments: list[str]


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """GitHub's `X-Hub-Signature-256`: `sha256=` and the HMAC-SHA256 of the raw body, compared in constant time."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def review_of(event: str, payload: dict[str, Any]) -> ReviewRequest | None:
    """The revision a delivery asks for, or None when it asks for none (an approval, a comment for people)."""
    repository = str(payload.get("repository", {}).get("full_name", ""))
    if event == "pull_request_review":
        review = payload.get("review") or {}
        body = str(review.get("body") or "")
        if payload.get("action") != "submitted":
            return None
        if str(review.get("state", "")).lower() != "changes_requested" and MENTION not in body:
            return None
        number = (payload.get("pull_request") or {}).get("number")
        return _request(repository, number, body or "Changes requested (no comment given).")
    if event in ("pull_request_review_comment", "issue_comment") and payload.get("action") == "created":
        body = str((payload.get("comment") or {}).get("body") or "")
        if MENTION not in body:
            return None
        if event == "issue_comment":
            issue = payload.get("issue") or {}
            if "pull_request" not in issue:
                return None
            number = issue.get("number")
        else:
            number = (payload.get("pull_request") or {}).get("number")
        path = (payload.get("comment") or {}).get("path")
        return _request(repository, number, f"On {path}: {body}" if path else body)
    return None


def _request(repository: str, number: Any, comment: str) -> ReviewRequest | None:
    if not repository or not isinstance(number, int):
        return None
    text = re.sub(re.escape(MENTION) + r"\s*", "", comment).strip()
    return ReviewRequest(repository=repository, number=number, comments=[text])


def revision_run_id(delivery: str | None) -> str:
    """A delivery names its run (GitHub retries a delivery with the same id); a hand-made revision is new."""
    seed = f"delivery:{delivery}" if delivery else uuid.uuid4().hex
    return "rev-" + hashlib.sha256(seed.encode()).hexdigest()[:16]


def revision_request(
    original: RunRequest | None, result: RunResult | None, of_run: str, comments: list[str]
) -> RunRequest:
    """The request of a revision of run `of_run`, from its recorded request and result."""
    if original is None:
        raise RunNotFound(f"no run '{of_run}'")
    if result is None:
        raise BadInput(f"run '{of_run}' has not finished: revise it once it has")
    if not result.branch or not result.head_commit:
        raise BadInput(f"run '{of_run}' ended before it had a branch: there is nothing to revise")
    if not any(c.strip() for c in comments):
        raise BadInput("a revision needs the review's comments: say what to change")
    revision = Revision(
        of_run=of_run,
        branch=result.branch,
        head=result.head_commit,
        pull_request=result.pull_request,
        feedback=review_feedback(comments),
    )
    publish = original.publish or ("pr" if result.pull_request else None)
    return original.model_copy(update={"revision": revision, "publish": publish, "publish_on_failure": False})
