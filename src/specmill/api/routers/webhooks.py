"""/webhooks/github: reviews on a run's pull request become revision runs.

Signed by GitHub with `SPECMILL_GITHUB_WEBHOOK_SECRET` (HMAC-SHA256 of the raw body in
`X-Hub-Signature-256`); a bad or missing signature gets 401, and the route is off (404) until the
secret is set. Bearer tokens do not apply: GitHub cannot send one, the signature stands in for it.
A delivery id seen before returns the run it started.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field

from specmill.api.deps import RunsDep, SettingsDep
from specmill.api.errors import ApiError, documented
from specmill.revisions import review_of, signature_ok

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class WebhookOutcome(BaseModel):
    action: str = Field(description="`revision_started`, `duplicate` or `ignored`.")
    run_id: str | None = Field(default=None, description="The revision run, when one was started (or seen before).")
    detail: str = ""


@router.post("/github", responses=documented(401, 404, 409))
async def github(
    request: Request,
    runs: RunsDep,
    settings: SettingsDep,
    event: Annotated[str, Header(alias="X-GitHub-Event")] = "",
    delivery: Annotated[str | None, Header(alias="X-GitHub-Delivery", max_length=200)] = None,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> WebhookOutcome:
    if not settings.github_webhook_secret:
        raise ApiError(404, "not_found", "GitHub webhooks are off: set SPECMILL_GITHUB_WEBHOOK_SECRET")
    body = await request.body()
    if not signature_ok(settings.github_webhook_secret, body, signature):
        raise ApiError(401, "bad_signature", "the X-Hub-Signature-256 header does not match the body")
    try:
        payload = json.loads(body)
    except ValueError:
        raise ApiError(422, "bad_payload", "the delivery's body is not JSON") from None
    review = review_of(event, payload) if isinstance(payload, dict) else None
    if review is None:
        return WebhookOutcome(action="ignored", detail=f"{event or 'this event'} asks for no revision")
    run_id = await runs.run_of_pull_request(review.repository, review.number)
    if run_id is None:
        return WebhookOutcome(action="ignored", detail=f"{review.repository}#{review.number} is not a specmill run's")
    started, new = await runs.revise(run_id, review.comments, delivery)
    return WebhookOutcome(action="revision_started" if new else "duplicate", run_id=started.run_id)
