"""Specs and sweeps: the spec notes specmill sees, the sweep schedule, the last sweeps, sweep now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from specmill.console import diff
from specmill.console.deps import ConsoleDep
from specmill.console.render import fragment, page
from specmill.console.session import require_actor, require_viewer
from specmill.errors import SpecNotFound
from specmill.markdown import split_frontmatter

router = APIRouter(include_in_schema=False)


@router.get("/console/specs", response_class=HTMLResponse, dependencies=[Depends(require_viewer)])
async def specs_page(request: Request, console: ConsoleDep) -> HTMLResponse:
    return page(request, "specs.html", **await console.specs_page())


@router.get("/console/specs/notes", response_class=HTMLResponse, dependencies=[Depends(require_viewer)])
async def spec_notes(request: Request, console: ConsoleDep) -> HTMLResponse:
    """The notes table, loaded after the page: reading Basic Memory takes a moment."""
    return page(request, "_spec_notes.html", **await console.spec_notes())


@router.get("/console/notes/{permalink:path}", response_class=HTMLResponse, dependencies=[Depends(require_viewer)])
async def note_page(
    request: Request, permalink: Annotated[str, Path(max_length=1000, pattern=r"^[^\x00]*$")], console: ConsoleDep
) -> HTMLResponse:
    """A spec note as Basic Memory holds it, rendered from its Markdown (raw HTML in it stays text)."""
    import asyncio

    from markdown_it import MarkdownIt

    store = console.runs.container.spec_store
    try:
        note = await asyncio.to_thread(store.read_note, permalink, console.settings.project)
    except SpecNotFound:
        return page(request, "note.html", status_code=404, note=None, permalink=permalink, html="")
    _, body = split_frontmatter(note.content)
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(body)
    return page(request, "note.html", note=note, permalink=permalink, html=html)


@router.post("/console/sweeps/preview", dependencies=[Depends(require_actor)])
async def preview(console: ConsoleDep) -> dict[str, str]:
    """What a sweep would enqueue now, as the fragment the page shows; nothing is written."""
    return {"html": fragment("_sweep_preview.html", preview=await console.preview_sweep())}


@router.post("/console/sweeps", status_code=202, dependencies=[Depends(require_actor)])
async def sweep_now(console: ConsoleDep) -> dict[str, str]:
    sweep_id = await console.sweep_now()
    return {"sweep_id": sweep_id, "result": f"sweep {sweep_id} started: its report appears below when it ends"}


@router.get("/console/highlight.css", response_class=PlainTextResponse)
async def highlight_css() -> PlainTextResponse:
    return PlainTextResponse(diff.stylesheet(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})
