"""The names that several layers share: workflows, queues, the event stream, phases, branches and run ids.

This module imports nothing from specmill, so the workflow, the runtime, the sweep, the API
and the CLI can all agree on a name without importing one another.
"""

from __future__ import annotations

import hashlib
import re

RUN_WORKFLOW = "specmill.run"
SWEEP_WORKFLOW = "specmill.sweep"
SCHEDULED_SWEEP_WORKFLOW = "specmill.sweep.scheduled"

RUN_QUEUE = "implementations"
SWEEP_QUEUE = "sweeps"
SWEEP_SCHEDULE = "specmill-sweep"
SHARED_QUEUES = (RUN_QUEUE, SWEEP_QUEUE)
"""What `serve` and workers work; never a command's own queue."""
COMMAND_QUEUE_PREFIX = "command-"
"""A command's own queue (`command-<executor id>`): runs it resumes or forks go there, and only it works it."""
EVENTS_STREAM = "events"

PHASES = (
    "load_playbook",
    "read_spec",
    "prepare_workspace",
    "analyze_patterns",
    "plan",
    "update_spec",
    "implement",
    "run_tests",
    "validate",
    "publish",
)
"""The phases in the order a run meets them; a step's phase is the part of its name before the first dot."""

FORK_PHASES = ("read_spec", "prepare_workspace", "analyze_patterns", "implement", "run_tests", "validate")
"""Where a fork may start again, in the CLI and the API alike."""
OVERRIDABLE_FORK_PHASES = FORK_PHASES[:4]
"""A fork's overrides (and its own branch) take effect as its implement phase starts, so a fork that
starts later reuses the original's implement phase as it was and cannot change it."""

RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_RUN_ID = 100
_VERSION_RUN_ID = re.compile(r"^v[0-9a-f]{12}-")
_SLUG_MAX = 48
_BRANCH_HASH = 12


def phase_of(step_name: str) -> str:
    return step_name.split(".")[0]


def slug(text: str, fallback: str = "spec") -> str:
    """Lowercase words joined by dashes: safe in a git ref, a path and a run id."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or fallback


def branch_name(spec_permalink: str, run_id: str) -> str:
    """`specmill/<spec-slug>-<short-run-id>-<hash>`: readable, a valid ref, and unique per run: the hash
    covers the whole run id, so two ids that share their first characters never share a branch."""
    head = slug(spec_permalink)[:_SLUG_MAX].rstrip("-") or "spec"
    short = re.sub(r"[^A-Za-z0-9]", "", run_id).lower()[:8] or "run"
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:_BRANCH_HASH]
    return f"specmill/{head}-{short}-{digest}"


def is_version_run_id(run_id: str) -> bool:
    """Whether `run_id` names a spec version (as sweeps and `specmill run` name runs by default)."""
    return bool(_VERSION_RUN_ID.match(run_id))


def partition_key(repo: str) -> str:
    """The run queue's partition of a run: its repository, so two runs never edit one repository at once."""
    return repo.rstrip("/") or "/"


GATE_ATTRIBUTE = "gate"
"""The run's DBOS attribute holding the gate it waits at (null when it waits at none)."""
GATE_ANSWER_ATTRIBUTE = "gate_answer"
"""The run's DBOS attribute holding the last answer given to a gate, so a second answer can say so."""
APPROVAL_TOPIC = "approval"
BUDGET_TOPIC = "budget"
"""The `DBOS.send` topics of the two kinds of gate (a gate's kind is its topic)."""
