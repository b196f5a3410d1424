"""What the console's pages ask of runs and sweeps, over the API's `RunService` and `queries`."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from specmill import queries, records, run_index
from specmill.api.errors import ApiError
from specmill.api.schemas import RunPage, RunStatus
from specmill.api.service import RunService
from specmill.console import diff as diffs
from specmill.console import views
from specmill.models import Spec
from specmill.names import FORK_PHASES, OVERRIDABLE_FORK_PHASES
from specmill.sweep import workflow as sweeps
from specmill.sweep.models import SweepRequest, SweepResult

PAGE_SIZE = 50
_TITLE_CACHE_SIZE = 5000
_UNKNOWN_TITLE_TTL_S = 30.0
_EVENT_LOGS = 200


class ConsoleService:
    def __init__(self, runs: RunService) -> None:
        self.runs = runs
        self.settings = runs.settings
        self._titles: dict[str, tuple[str, float]] = {}
        self._events: OrderedDict[str, list[dict[str, str]]] = OrderedDict()

    # --- runs ------------------------------------------------------------------------------

    async def runs_page(
        self, *, status: RunStatus | None, spec: str | None, repo: str | None, cursor: str | None
    ) -> dict[str, Any]:
        page: RunPage = await self.runs.list(status=status, spec=spec, repo=repo, limit=PAGE_SIZE, cursor=cursor)
        titles = await self.titles([r.run_id for r in page.runs])
        costs = await self.costs(page)
        rows = [
            {"run": run, "title": titles.get(run.run_id) or run.spec, "cost": costs.get(run.run_id)}
            for run in page.runs
        ]
        return {"rows": rows, "next_cursor": page.next_cursor}

    async def titles(self, run_ids: list[str]) -> dict[str, str]:
        """Spec titles, from each run's recorded read_spec step. A run's spec never changes, so titles
        are cached; a run that has not read its spec yet is asked again after a while."""
        now = time.monotonic()
        missing = [r for r in run_ids if r not in self._titles or (not self._titles[r][0] and self._titles[r][1] < now)]
        found = await asyncio.gather(*(self._title(r) for r in missing))
        for run_id, title in zip(missing, found):
            if len(self._titles) >= _TITLE_CACHE_SIZE:
                self._titles.pop(next(iter(self._titles)))
            self._titles[run_id] = (title or "", now + _UNKNOWN_TITLE_TTL_S)
        return {r: self._titles[r][0] for r in run_ids if self._titles.get(r, ("",))[0]}

    async def _title(self, run_id: str) -> str | None:
        for step in await queries.run_steps(run_id):
            if isinstance(step.output, Spec):
                return step.output.title
        return None

    async def costs(self, page: RunPage) -> dict[str, float]:
        """Dollars of each listed run: a finished run's result, or its model steps so far."""
        states = await queries.run_states([r.run_id for r in page.runs])
        found: dict[str, float] = {}
        for run_id, state in states.items():
            if state.result is not None:
                found[run_id] = state.result.cost_usd
        return found

    async def run_page(self, run_id: str) -> dict[str, Any]:
        (detail, steps, state), events = await asyncio.gather(
            self.runs.detail_and_steps(run_id), self.step_events(run_id)
        )
        spec = next((s.output for s in steps if isinstance(s.output, Spec)), None)
        try:
            diff = await self.runs.diff_of(state, steps)
            files = diffs.parse(diff.diff)
        except ApiError:
            diff, files = None, []
        return {
            "run": detail,
            "spec": spec,
            "retries": views.retries(detail.timeline, events),
            "rounds": views.rounds(steps),
            "bars": views.cost_bars(detail.ledger),
            "diff": diff,
            "files": files,
            "plan": detail.plan,
            "fork_phases": FORK_PHASES,
            "overridable": OVERRIDABLE_FORK_PHASES,
            "resumable": views.RESUMABLE,
            "cancellable": views.CANCELLABLE,
        }

    async def step_events(self, run_id: str) -> list[dict[str, str]]:
        """The kind and step of each progress event of the run. Its stream only grows, so what was read
        is kept (for the most recently viewed runs) and only newer entries are read again."""
        known = self._events.pop(run_id, [])
        new = await queries.run_events_so_far(run_id, offset=len(known))
        known = known + [{"kind": str(_field(e, "kind")), "step": str(_field(e, "step"))} for e in new]
        self._events[run_id] = known
        while len(self._events) > _EVENT_LOGS:
            self._events.popitem(last=False)
        return known

    # --- specs and sweeps -----------------------------------------------------------------

    async def specs_page(self) -> dict[str, Any]:
        project = self.settings.project
        schedule, recent = await asyncio.gather(queries.sweep_schedule(), queries.recent_sweeps(10))
        return {
            "project": project,
            "schedule": schedule,
            "cron": self.settings.sweep_cron.strip(),
            "timezone": self.settings.sweep_timezone,
            "next_sweep": next_time(self.settings.sweep_cron, self.settings.sweep_timezone) if project else None,
            "sweeps": [_sweep_row(s) for s in recent],
        }

    async def spec_notes(self) -> dict[str, Any]:
        """Every spec note of the project with its status (ready or why not) and its last run."""
        project = self._project()
        preview = await sweeps.preview(self.runs.container, SweepRequest(project=project))
        notes = [
            {"permalink": c.permalink, "title": c.title, "status": c.status, "why": "", "run_id": c.run_id}
            for c in preview.candidates
        ] + [
            {"permalink": s.permalink, "title": s.title, "status": "not ready", "why": s.reason, "run_id": s.run_id}
            for s in preview.skipped
            if s.permalink not in {c.permalink for c in preview.candidates}
        ]
        last = await asyncio.gather(*(self._last_run(n["permalink"]) for n in notes))
        for note, run in zip(notes, last):
            note["last_run"] = run
        return {"notes": sorted(notes, key=lambda n: n["permalink"]), "preview": preview}

    async def _last_run(self, permalink: str) -> str | None:
        rows = await run_index.read_async(
            lambda conn: records.list_runs(conn, spec=permalink, repo=None, before=None, limit=1)
        )
        return rows[0].run_id if rows else None

    async def preview_sweep(self) -> SweepResult:
        return await sweeps.preview(self.runs.container, SweepRequest(project=self._project()))

    async def sweep_now(self) -> str:
        sweep_id = f"sweep-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
        await sweeps.start_sweep(SweepRequest(project=self._project()), sweep_id)
        return sweep_id

    def _project(self) -> str:
        if not self.settings.project:
            raise ApiError(409, "no_project", "no Basic Memory project is configured: set SPECMILL_PROJECT")
        return self.settings.project


def next_time(cron: str, timezone: str, now: datetime | None = None) -> datetime | None:
    """The schedule's next slot, or None when the schedule is off or its cron cannot be read."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    if not cron.strip():
        return None
    try:
        start = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
        return croniter(cron.strip(), start, second_at_beginning=len(cron.split()) == 6).get_next(datetime)
    except Exception:
        return None


def _field(event: Any, key: str) -> Any:
    return event.get(key, "") if isinstance(event, dict) else getattr(event, key, "")


def _sweep_row(status: Any) -> dict[str, Any]:
    result = status.output if isinstance(status.output, SweepResult) else None
    return {
        "sweep_id": status.workflow_id,
        "status": status.status,
        "created": datetime.fromtimestamp(status.created_at / 1000, tz=UTC) if status.created_at else None,
        "result": result,
        "error": str(status.error).splitlines()[0] if status.error else "",
    }
