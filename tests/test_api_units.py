"""The API's small rules, without a server: event ids, cursors, tokens, loopback, run statuses, and
what a start reads from the spec note."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from specmill.api.auth import token_matches
from specmill.api.choices import Chosen, choose
from specmill.api.errors import ApiError
from specmill.api.routers.events import Resume, parse_last_event_id
from specmill.api.service import decode_cursor, encode_cursor
from specmill.api.views import run_status
from specmill.cli.serve import is_loopback
from specmill.config import Settings
from specmill.models import RunRequest, RunResult, Usage
from specmill.ports.spec_store import MemorySpecStore
from specmill.queries import RunState
from specmill.sweep.version import run_id_for
from tests import scenarios


@pytest.mark.parametrize(
    ("header", "resume"),
    [
        (None, Resume()),
        ("", Resume()),
        ("7", Resume(read_from=7, drop_first=True)),
        ("p7", Resume(read_from=7, skip_phase=True)),
        ("end8", Resume(read_from=7, drop_first=True, saw_end=True)),
        ("end0", Resume(read_from=0, saw_end=True)),
    ],
)
def test_last_event_id_says_where_to_continue(header: str | None, resume: Resume) -> None:
    assert parse_last_event_id(header) == resume


@pytest.mark.parametrize("header", ["yesterday", "-1", "p", "end", "7.5", "1" * 12])
def test_an_id_this_stream_never_sent_is_refused(header: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_last_event_id(header)
    assert caught.value.status == 422 and caught.value.code == "invalid_last_event_id"


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    assert decode_cursor(encode_cursor((1_700_000_000_000_000, "run:with:colons"))) == (
        1_700_000_000_000_000,
        "run:with:colons",
    )
    assert decode_cursor(None) is None
    for garbage in ("not-a-cursor", encode_cursor((2**63, "x")), "AAAA"):
        with pytest.raises(ApiError):
            decode_cursor(garbage)


def test_tokens_match_exactly() -> None:
    assert token_matches("beta", ["alpha", "beta"])
    assert (
        not token_matches("bet", ["alpha", "beta"])
        and not token_matches("", ["alpha"])
        and not token_matches("beta ", ["beta"])
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.1.2.3", False),
        ("no-such-host.invalid", False),
    ],
)
def test_only_loopback_addresses_count_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _state(status: str, result: str | None = None) -> RunState:
    outcome = (
        None
        if result is None
        else RunResult(
            run_id="r",
            status=result,
            spec="s",
            branch="b",
            head_commit="h",
            tests={},
            criteria=[],
            iterations=1,
            usage=Usage(),
        )
    )
    return RunState(
        run_id="r",
        status=status,
        request=None,
        result=outcome,
        error=None,
        created_ms=1,
        updated_ms=1,
        completed_ms=None,
        forked_from=None,
    )


@pytest.mark.parametrize(
    ("dbos", "result", "shown"),
    [
        ("ENQUEUED", None, "queued"),
        ("PENDING", None, "running"),
        ("SUCCESS", "succeeded", "succeeded"),
        ("SUCCESS", "failed", "failed"),
        ("ERROR", None, "error"),
        ("MAX_RECOVERY_ATTEMPTS_EXCEEDED", None, "error"),
        ("CANCELLED", None, "cancelled"),
    ],
)
def test_dbos_statuses_read_as_run_statuses(dbos: str, result: str | None, shown: str) -> None:
    assert run_status(_state(dbos, result)) == shown


def test_one_read_of_the_note_names_the_run_and_fills_in_its_repo_and_a_complete_keyed_start_reads_none(
    tmp_path: Path,
) -> None:
    store = MemorySpecStore()
    note = store.write_note("specs", "Multiply", "specs", scenarios.SPEC.replace("type: spec", f"repo: {tmp_path}"))
    settings = Settings(data_dir=tmp_path / "data", project="specs")
    asked = RunRequest(spec="specs/multiply", repo="")
    chosen = asyncio.run(choose(asked, store, settings, keyed=False))
    assert (chosen.request.repo, chosen.request.playbook) == (str(tmp_path), None)
    assert chosen.version == run_id_for("specs", "specs/multiply", note.content) and store.reads == 1
    given = asked.model_copy(update={"repo": "/given", "playbook": "python-developer"})
    assert asyncio.run(choose(given, store, settings, keyed=True)) == Chosen(given, None) and store.reads == 1
    assert asyncio.run(choose(given, store, settings, keyed=False)) == Chosen(given, chosen.version)
    assert store.reads == 2
