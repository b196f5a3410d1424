"""/runs/{id}/artifacts/{name}: what a run recorded for review (diff, test report, verdict, model transcript)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from specmill import records, run_index
from specmill.api.auth import require_token
from specmill.api.errors import ApiError, documented_as_json
from specmill.names import RUN_ID_PATTERN

router = APIRouter(prefix="/runs", tags=["runs"], dependencies=[Depends(require_token)])
ArtifactName = Literal["diff", "test_report", "verdict", "transcript"]
MEDIA = {"diff": "text/x-diff", "test_report": "application/json", "verdict": "application/json"}


@router.get(
    "/{run_id}/artifacts/{name}",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {}, "application/json": {}, "text/x-diff": {}}},
        **documented_as_json(401, 404, 422),
    },
)
async def artifact(
    run_id: Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run id.")],
    name: Annotated[ArtifactName, Path(description="Which artifact.")],
    attempt: Annotated[int | None, Query(ge=1, le=1000, description="The attempt; the latest when omitted.")] = None,
) -> PlainTextResponse:
    """The artifact as recorded (redacted when it was written), from the latest attempt unless one is named."""
    found = await run_index.read_async(records.get_artifact, run_id, name, attempt)
    if found is None:
        which = f"attempt {attempt} of run" if attempt else "run"
        raise ApiError(404, "not_found", f"{which} '{run_id}' recorded no {name}")
    media = MEDIA.get(name, "application/json" if found.content.lstrip().startswith(("[", "{")) else "text/plain")
    return PlainTextResponse(found.content, media_type=media, headers={"X-Specmill-Attempt": str(found.attempt)})
