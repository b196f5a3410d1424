"""/playbooks: the agent definitions runs can name."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Depends

from specmill.api.auth import require_token
from specmill.api.deps import SettingsDep
from specmill.api.errors import documented
from specmill.api.schemas import PlaybookView
from specmill.errors import BadInput
from specmill.playbooks import parse_playbook, server_playbooks

router = APIRouter(tags=["playbooks"], dependencies=[Depends(require_token)], responses=documented(401))


@router.get("/playbooks")
async def list_playbooks(settings: SettingsDep) -> list[PlaybookView]:
    """Every playbook a run may name; a file that does not parse is left out."""
    return await asyncio.to_thread(_playbooks, settings.playbooks_dir)


def _playbooks(extra_dir: Path | None) -> list[PlaybookView]:
    views = []
    for name, path in server_playbooks(extra_dir).items():
        try:
            book = parse_playbook(path.read_text(encoding="utf-8"), source=str(path))
        except (BadInput, OSError):
            continue
        views.append(
            PlaybookView(
                name=name,
                description=book.description,
                model=book.model,
                test_command=book.test_command,
                max_iterations=book.max_iterations,
                max_turns=book.max_turns,
                source=str(path),
            )
        )
    return views
