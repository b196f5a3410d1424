"""What the routers ask of runs. Thin on purpose: a start is a cheap check, at most one read of the
spec note (`choices.py`), a row in the run index and a DBOS enqueue; reads are what DBOS recorded.
No phase ever runs here."""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from specmill import answers, names, preflight, queries, records, revisions, run_index, runtime
from specmill.answers import Answer, GateAnswered
from specmill.api import choices, quotas, views
from specmill.api.errors import ApiError
from specmill.api.event_hub import EventHub
from specmill.api.schemas import ForkRun, RunAccepted, RunDetail, RunDiff, RunPage, RunStatus, RunSummary, StartRun
from specmill.container import Container
from specmill.errors import BadInput
from specmill.models import Budget, RunRequest
from specmill.playbooks import Playbook, load_named
from specmill.queries import RunState, StepRecord
from specmill.records import RunRecord

SCAN_BATCH = 100


class RunService:
    """Starts, steers and reads runs for the HTTP API; one per app, built in its lifespan."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.settings = container.settings
        self.hub = EventHub(self._read_events, self.settings.max_event_streams)

    # --- checks every entry point shares (HTTP, MCP, console) --------------------------

    async def check_playbook(self, name: str | None) -> Playbook:
        """A playbook a remote caller named: a name from the server's playbook folders, never a path."""
        return await asyncio.to_thread(load_named, name, self.settings.playbooks_dir)

    # --- commands ----------------------------------------------------------------------

    async def start(
        self, body: StartRun, key: str | None, caller: str = quotas.LOCAL_CALLER, *, require_spec: bool = False
    ) -> RunAccepted:
        """Enqueue a run. The same `key` returns the same run; a different request under it is a conflict.
        A `repo` or `playbook` the caller left out is the spec's own (`choices.py`); `require_spec`
        refuses a spec that cannot be read or has no success criteria now, instead of failing its run."""
        check_key(key)
        request = quotas.capped(body.to_request(), self.settings)
        await self.check_playbook(request.playbook)
        chosen = await choices.choose(
            request, self.container.spec_store, self.settings, keyed=key is not None, require_spec=require_spec
        )
        request = chosen.request
        if key is None:  # the spec's version names the run, as `specmill run` and sweeps name it
            return await self._start_version(body, request, chosen.version, caller)
        if (existing := await self._record_or_run(key)) is not None:
            if not _same_request(existing.request, request):
                raise _key_conflict(key)
            if await queries.run_state(key) is None:  # indexed, but the enqueue never happened
                await runtime.enqueue_run(existing.request, key)
            return accepted(key)
        return await self._enqueue(body, request, key, key, caller)

    async def _start_version(
        self, body: StartRun, request: RunRequest, version: str | None, caller: str
    ) -> RunAccepted:
        """One run per spec version: the version's run when it exists for the same request; another
        request (other caps, playbook or repo) is another run; an unreadable spec fails in its run."""
        if version is not None and (existing := await self._record_or_run(version)) is not None:
            if _same_request(existing.request, request):
                if await queries.run_state(version) is None:  # indexed, but the enqueue never happened
                    await runtime.enqueue_run(existing.request, version)
                return accepted(version)
            version = None
        return await self._enqueue(body, request, version, None, caller)

    async def _enqueue(
        self, body: StartRun, request: RunRequest, run_id: str | None, key: str | None, caller: str
    ) -> RunAccepted:
        run_id = run_id or uuid.uuid4().hex[:12]
        await quotas.check_queue(caller, self.settings)
        try:
            checked = await asyncio.to_thread(preflight.check_request, request, self.settings)
        except OSError as exc:  # for example a path component longer than the file system allows
            message = f"repo '{request.repo[:200]}' cannot be read ({exc.strerror}): pass the root of a git checkout"
            raise ApiError(422, "unreadable_repo", message) from None
        record = RunRecord(run_id=run_id, request=checked, created_us=records.now_us(), caller=caller)
        if not await run_index.write_async(records.insert_run, record):
            return await self.start(body, key, caller)  # a concurrent request with this key got there first
        try:
            await runtime.enqueue_run(checked, run_id)
        except Exception:
            await run_index.write_async(records.delete_run, run_id)
            raise
        return accepted(run_id)

    async def cancel(self, run_id: str) -> RunSummary:
        state = await self.state(run_id)
        if not state.active:
            raise ApiError(
                409,
                "not_cancellable",
                f"run '{run_id}' already ended ({views.run_status(state)}): there is nothing to cancel",
            )
        await runtime.cancel_run(run_id)
        return await self.summary(run_id)

    async def resume(self, run_id: str, caps: Budget | None = None) -> RunAccepted:
        """Continue a run in `error`, `cancelled` or `budget_exhausted` from the step that stopped it
        (with new caps, when given); completed steps stay done."""
        caps = quotas.capped_budget(caps, self.settings)
        state = await self.state(run_id)
        status = views.run_status(state)
        if status not in ("error", "cancelled", "budget_exhausted"):
            raise ApiError(
                409,
                "not_resumable",
                f"run '{run_id}' is {status}: only a run in error, cancelled or budget_exhausted can be resumed",
            )
        await runtime.requeue_run(run_id, caps)
        return accepted(run_id)

    async def answer_plan(self, run_id: str, answer: Answer, comment: str) -> GateAnswered:
        """Approve or reject the plan a run waits with; a repeated answer says so and changes nothing."""
        state = await self.state(run_id)
        try:
            answered = answers.plan_answer(run_id, state.attributes, answer, comment)
            await asyncio.to_thread(answers.deliver, answers.LaunchedSender(), answered, comment)
        except answers.GateClosed as exc:
            raise ApiError(409, "not_awaiting_approval", str(exc)) from None
        return answered

    async def raise_budget(self, run_id: str, caps: Budget) -> GateAnswered:
        """New caps for a run paused at its budget; the same run continues in place."""
        state = await self.state(run_id)
        try:
            answered = answers.budget_answer(run_id, state.attributes, caps)
            await asyncio.to_thread(answers.deliver, answers.LaunchedSender(), answered, budget=caps)
        except answers.GateClosed as exc:
            raise ApiError(409, "not_awaiting_budget", str(exc)) from None
        return answered

    async def fork(self, run_id: str, body: ForkRun, key: str | None, caller: str = quotas.LOCAL_CALLER) -> RunAccepted:
        """A new run that reuses the original's recorded steps before `from_phase`."""
        check_key(key)
        state = await self.state(run_id)
        if key is not None and (existing := await self._record_or_run(key)) is not None:
            if (existing.forked_from, existing.fork_phase, existing.overrides) != (
                run_id,
                body.from_phase,
                body.overrides,
            ):
                raise _key_conflict(key)
            if await queries.run_state(key) is None and existing.fork_step is not None:  # indexed, never forked
                await runtime.fork_run(run_id, existing.fork_step, key, self.settings.app_version)
            return accepted(key)
        await quotas.check_queue(caller, self.settings)
        steps = await queries.run_steps(run_id, load_output=False)
        start = next((s.step_id for s in steps if names.phase_of(s.name) == body.from_phase), None)
        if start is None:
            raise ApiError(
                409, "phase_not_reached", f"run '{run_id}' never reached {body.from_phase}: fork from an earlier phase"
            )
        if body.overrides.playbook:
            await self.check_playbook(body.overrides.playbook)
        original = await self._record_or_run(run_id)
        request = body.overrides.apply(original.request if original else state.request or RunRequest(spec="", repo=""))
        new_id = key or uuid.uuid4().hex[:12]
        record = RunRecord(
            run_id=new_id,
            request=request,
            created_us=records.now_us(),
            forked_from=run_id,
            fork_phase=body.from_phase,
            fork_step=start,
            overrides=body.overrides,
            caller=caller,
        )
        if not await run_index.write_async(records.insert_run, record):
            return await self.fork(run_id, body, key, caller)
        try:
            await runtime.fork_run(run_id, start, new_id, self.settings.app_version)
        except Exception:
            await run_index.write_async(records.delete_run, new_id)
            raise
        return accepted(new_id)

    async def revise(self, run_id: str, comments: list[str], delivery: str | None = None) -> tuple[RunAccepted, bool]:
        """A revision run of `run_id` with `comments` as feedback; returns it and whether it is new (a delivery
        seen before returns the run it started)."""
        new_id = revisions.revision_run_id(delivery)
        if await queries.run_state(new_id) is not None:
            return accepted(new_id), False
        state = await self.state(run_id)
        original = await self._record_or_run(run_id)
        try:
            request = revisions.revision_request(
                original.request if original else state.request, state.result, run_id, comments
            )
        except BadInput as exc:
            raise ApiError(409, "not_revisable", str(exc)) from None
        record = RunRecord(run_id=new_id, request=request, created_us=records.now_us())
        if await run_index.write_async(records.insert_run, record):
            await runtime.enqueue_run(request, new_id)
        return accepted(new_id), True

    async def run_of_pull_request(self, repository: str, number: int) -> str | None:
        return await run_index.read_async(records.run_of_pull_request, repository, number)

    # --- queries -----------------------------------------------------------------------

    async def state(self, run_id: str) -> RunState:
        state = await queries.run_state(run_id)
        if state is None:
            raise ApiError(404, "not_found", f"no run '{run_id}': list runs with GET /runs")
        return state

    async def summary(self, run_id: str) -> RunSummary:
        state = await self.state(run_id)
        record = await run_index.read_async(records.get_run, run_id)
        steps = await self._steps_for_summary(state)
        return views.summary(record or _record_from(state), state, steps)

    async def detail(self, run_id: str) -> RunDetail:
        detail, _, _ = await self.detail_and_steps(run_id)
        return detail

    async def detail_and_steps(self, run_id: str) -> tuple[RunDetail, list[StepRecord], RunState]:
        """The detail, and the records it was computed from (the console shows more of them)."""
        state = await self.state(run_id)
        steps, record, artifacts = await asyncio.gather(
            queries.run_steps(run_id),
            run_index.read_async(records.get_run, run_id),
            run_index.read_async(records.list_artifacts, run_id),
        )
        return views.detail(record, state, steps, artifacts), steps, state

    async def diff(self, run_id: str) -> RunDiff:
        state = await self.state(run_id)
        return await self.diff_of(state, await queries.run_steps(run_id))

    async def diff_of(self, state: RunState, steps: list[StepRecord]) -> RunDiff:
        """The diff of a run whose state and steps the caller has read already."""
        run_id = state.run_id
        workspace, head = views.workspace_of(steps), views.head_commit(state, steps)
        if workspace is None or head is None:
            raise ApiError(
                409,
                "no_workspace_yet",
                f"run '{run_id}' has no branch yet: try again once it is past prepare_workspace",
            )
        recorded = await run_index.read_async(records.get_artifact, run_id, "diff")
        if recorded is not None and recorded.head_commit == head:
            text = recorded.content
        else:
            text = self.container.redactor.redact(
                await asyncio.to_thread(self.container.workspace.diff, workspace, head)
            )
        return RunDiff(
            run_id=run_id, branch=workspace.branch, base_commit=workspace.base_commit, head_commit=head, diff=text
        )

    async def list(
        self, *, status: RunStatus | None, spec: str | None, repo: str | None, limit: int, cursor: str | None
    ) -> RunPage:
        """Newest first. The index gives order and the spec/repo filters; DBOS gives each run's
        status, so a status filter scans the index in batches until the page is full."""
        after = decode_cursor(cursor)
        page: list[RunSummary] = []
        exhausted = False
        while len(page) < limit and not exhausted:
            rows = await run_index.read_async(
                lambda conn: records.list_runs(conn, spec=spec, repo=repo, before=after, limit=SCAN_BATCH)
            )
            exhausted = len(rows) < SCAN_BATCH
            states = await queries.run_states([r.run_id for r in rows])
            for position, row in enumerate(rows):
                after = (row.created_us, row.run_id)
                state = states.get(row.run_id)
                if state is None or (status is not None and views.run_status(state) != status):
                    continue
                page.append(views.summary(row, state, await self._steps_for_summary(state)))
                if len(page) == limit:
                    exhausted = exhausted and position == len(rows) - 1
                    break
        return RunPage(runs=page, next_cursor=None if exhausted else encode_cursor(after))

    async def events(self, run_id: str, offset: int) -> AsyncIterator[tuple[int, Any]]:
        """The run's events from `offset`, through the run's one shared reader."""
        async for item in self.hub.follow(run_id, offset):
            yield item

    def _read_events(self, run_id: str, offset: int) -> AsyncIterator[tuple[int, Any]]:
        return queries.run_events(run_id, offset, self.settings.event_poll_s)

    async def _steps_for_summary(self, state: RunState) -> list[StepRecord]:
        """A finished run's summary needs no steps; a live one's phase and usage so far do."""
        if state.result is not None or state.status in ("ENQUEUED", "DELAYED"):
            return []
        return await queries.run_steps(state.run_id)

    async def _record_or_run(self, run_id: str) -> RunRecord | None:
        record = await run_index.read_async(records.get_run, run_id)
        if record is not None:
            return record
        state = await queries.run_state(run_id)
        return _record_from(state) if state is not None else None


def accepted(run_id: str) -> RunAccepted:
    return RunAccepted(run_id=run_id, status_url=f"/runs/{run_id}", events_url=f"/runs/{run_id}/events")


def encode_cursor(position: tuple[int, str] | None) -> str | None:
    if position is None:
        return None
    return base64.urlsafe_b64encode(f"{position[0]}:{position[1]}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[int, str] | None:
    if not cursor:
        return None
    try:
        created, run_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":", 1)
        if not 0 <= int(created) < 2**62 or "\x00" in run_id:
            raise ValueError(cursor)
        return int(created), run_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError(
            422, "invalid_cursor", "cursor is not one this API returned: pass next_cursor from a previous page"
        ) from None


def check_key(key: str | None) -> None:
    """Version ids (`v<12 hex>-...`) belong to the sweep and to `specmill run` of that version."""
    if key is not None and names.is_version_run_id(key):
        raise ApiError(
            422,
            "reserved_run_id",
            f"Idempotency-Key '{key}' has the form of a spec version id, which only the sweep and "
            "`specmill run` use: choose a key that does not start with v and 12 hex digits",
        )


def _key_conflict(key: str) -> ApiError:
    return ApiError(409, "idempotency_conflict", f"Idempotency-Key '{key}' was used for another request: use a new key")


def _same_request(stored: RunRequest, asked: RunRequest) -> bool:
    """The same run was asked for; the stored repo is the resolved root of the asked path."""
    fields = [name for name in RunRequest.model_fields if name != "repo"]
    same_repo = os.path.realpath(asked.repo) == os.path.realpath(stored.repo)
    return same_repo and all(getattr(stored, f) == getattr(asked, f) for f in fields)


def _record_from(state: RunState) -> RunRecord:
    """A run started outside the API (`specmill run`) has no index row; its input says the same."""
    return RunRecord(
        run_id=state.run_id,
        request=state.request or RunRequest(spec="", repo=""),
        created_us=(state.created_ms or 0) * 1000,
    )
