"""The sweep's boundary values: what it was asked, what it found, what it did.

Plain pydantic models, so DBOS records them as step outputs and the CLI prints them as JSON.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from specmill.config import Settings
from specmill.spec_choices import named_repos, repos_base


class SweepConfig(BaseModel):
    """The settings a sweep reads, resolved once so a recorded sweep replays with the same ones."""

    ready_statuses: tuple[str, ...] = Field(default=("ready", "approved"), description="Casefolded.")
    folders: tuple[str, ...] = Field(default=(), description="Folders whose notes are specs without `type: spec`.")
    repos: dict[str, str] = Field(default_factory=dict, description="Name -> repository path, for `repo: NAME`.")
    default_repo: str | None = None
    repos_base: str = Field(default="", description="Absolute folder relative `repo:` paths start at.")
    report_folder: str = "specmill/sweeps"

    @classmethod
    def from_settings(cls, settings: Settings) -> SweepConfig:
        def names(text: str) -> list[str]:
            return [part.strip() for part in text.split(",") if part.strip()]

        return cls(
            ready_statuses=tuple(s.casefold() for s in names(settings.sweep_ready_statuses)),
            folders=tuple(f.strip("/") for f in names(settings.sweep_folders) if f.strip("/")),
            repos=named_repos(settings),
            repos_base=repos_base(settings),
            default_repo=str(Path(settings.sweep_default_repo).expanduser()) if settings.sweep_default_repo else None,
            report_folder=settings.sweep_report_folder.strip("/") or "specmill/sweeps",
        )


class SweepRequest(BaseModel):
    project: str = Field(min_length=1, description="Basic Memory project to sweep.")
    trigger: Literal["manual", "schedule"] = "manual"
    scheduled_at: datetime | None = Field(default=None, description="The schedule's slot, for a scheduled sweep.")


class Candidate(BaseModel):
    """A spec marked ready, with a repository: one version that a run implements."""

    permalink: str
    title: str
    status: str
    repo: str
    playbook: str | None = Field(default=None, description="The playbook the note names; the default when None.")
    run_id: str = Field(description="Derived from the project, the permalink and the content's version.")
    checksum: str = Field(default="", description="Basic Memory's checksum of the note as it was read.")


class Skipped(BaseModel):
    permalink: str
    title: str = ""
    reason: str = Field(description="Why no run was enqueued, with the fix when there is one.")
    run_id: str | None = None


class Discovery(BaseModel):
    """What Basic Memory holds: every spec note seen, split into candidates and skipped notes."""

    project: str
    spec_notes: int
    candidates: list[Candidate] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)


RunState = Literal["queued", "running", "succeeded", "failed", "budget_exhausted", "error", "cancelled"]


class RunOutcome(BaseModel):
    """Where one run stands, in words people use (from DBOS's status and the run's result)."""

    run_id: str
    state: RunState
    spec: str = ""
    project: str = ""


class SweepResult(BaseModel):
    sweep_id: str
    project: str
    trigger: Literal["manual", "schedule"]
    started_at: datetime
    dry_run: bool = False
    spec_notes: int = Field(description="Spec notes seen (by type or by folder).")
    candidates: list[Candidate] = Field(default_factory=list, description="Ready, with a repository.")
    enqueued: list[Candidate] = Field(
        default_factory=list, description="Put on the queue by this sweep (would be, on a dry run)."
    )
    skipped: list[Skipped] = Field(default_factory=list)
    superseded: list[str] = Field(default_factory=list, description="Queued runs of older versions, cancelled.")
    report: str | None = Field(default=None, description="Permalink of the sweep's report note.")
    previous_sweep: str | None = None
    previous_runs: list[RunOutcome] = Field(
        default_factory=list, description="The previous sweep's runs, as they stood."
    )


class PreviousSweep(BaseModel):
    """The sweep before this one, and where its runs stand now."""

    sweep_id: str
    report: str
    runs: list[RunOutcome] = Field(default_factory=list)
