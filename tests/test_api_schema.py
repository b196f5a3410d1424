"""Property-based checks of the HTTP API against its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid: none may answer 5xx, every
answer must be a documented status with a body that matches the schema, and invalid input
must be refused with a 4xx. The app runs under uvicorn in this process, launched as
`specmill serve` launches it, with an empty spec store so no generated run touches a repository.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from specmill.adapters.git_worktree import GitWorktreeWorkspace
from specmill.adapters.pytest_runner import SubprocessTestRunner
from specmill.api.app import create_app
from specmill.config import Settings
from specmill.container import Container
from specmill.ports.model import ScriptedModel
from specmill.ports.repo_analysis import FixedRepoAnalyzer
from specmill.ports.spec_store import MemorySpecStore
from specmill.replay.scripts import Script
from tests import scenarios
from tests.fixtures.api import BRIEF, free_port
from tests.fixtures.runtime import make_settings

# schemathesis's own strategies use `random`, which this Hypothesis deprecates; nothing to fix here.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
EXAMPLES_PER_OPERATION = 30  # per operation (run, gate and playbook operations alike)
TOKEN = "schema-test-token"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("schema-api") / "data"
    config = make_settings(data_dir, queue_polling_interval_s=0.1, api_tokens=TOKEN)
    store = MemorySpecStore()
    container = Container(
        config,
        store,
        ScriptedModel(Script.load(scenarios.succeeds_first_time())),
        GitWorktreeWorkspace(data_dir),
        SubprocessTestRunner(),
        FixedRepoAnalyzer(BRIEF),
        note_index=store,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(container=container), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="schema-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


# The schema the app publishes at /openapi.json (building the app launches nothing; its lifespan
# does). Generated requests carry the bearer token, except those that test its absence.
schema = schemathesis.openapi.from_dict(
    create_app(Settings()).openapi(),
    config=SchemathesisConfig.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": TOKEN}}}}),
)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case: schemathesis.Case, live_api: str) -> None:
    case.call_and_validate(base_url=live_api, checks=CHECKS)


def test_the_published_schema_is_the_one_tested(live_api: str) -> None:
    import httpx

    assert httpx.get(f"{live_api}/openapi.json").status_code == 401  # behind the token like the API
    published = httpx.get(f"{live_api}/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert published.json() == create_app(Settings()).openapi()
