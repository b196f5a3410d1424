"""What the model says is redacted before it is recorded: the step outputs DBOS keeps, the transcript
artifact, and the files its tool calls write."""

from __future__ import annotations

import copy
import json

from dbos import DBOS

from specmill import records, run_index
from tests import scenarios
from tests.fixtures.git_repos import git

PLANTED = "planted-signing-seed-7f3a9c"
KEY = "sk-ant-api03-" + "Z" * 40 + "-leakedAA"


def test_model_output_is_redacted_in_step_outputs_transcripts_and_files(world, monkeypatch) -> None:
    monkeypatch.setenv("INTERNAL_SIGNING_SEED", PLANTED)
    script = copy.deepcopy(scenarios.succeeds_first_time())
    turns = script["conversations"][0]["turns"]
    turns[0]["content"][0]["text"] = f"The seed is {PLANTED} and the key {KEY}."
    create = turns[2]["content"][0]["input"]
    create["file_text"] = f"# {KEY}\n# seed={PLANTED}\n" + create["file_text"]

    result, _ = world(script, run_id="redact-1", settings={"secret_env": "INTERNAL_SIGNING_SEED"})
    assert result.status == "succeeded"

    outputs = [repr(step["output"]) for step in DBOS.list_workflow_steps("redact-1")]
    transcript = run_index.read(records.get_artifact, "redact-1", "transcript")
    committed = git(world.repo, "show", f"{result.head_commit}:tests/test_multiply.py")
    assert transcript is not None and "[REDACTED" in transcript.content
    assert "[REDACTED" in committed and "[REDACTED" in "".join(outputs)
    for place in [*outputs, transcript.content, committed, json.dumps(result.model_dump())]:
        assert PLANTED not in place and KEY not in place
