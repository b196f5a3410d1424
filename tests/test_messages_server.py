"""The scripted Messages API server, driven by the real anthropic SDK over loopback HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from specmill.replay.request_log import completed_counts, read_request_log
from specmill.replay.scripts import Script, ScriptError, count_input_tokens
from specmill.replay.server import MessagesServer
from tests.fixtures.messages_server import stop_messages_server

MODEL = "claude-test"
TOOL = {
    "name": "str_replace_based_edit_tool",
    "description": "Edit files.",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
VERDICT_TOOL = {
    "name": "record_verdict",
    "description": "Record the verdict.",
    "input_schema": {"type": "object", "properties": {"summary": {"type": "string"}}},
}
VIEW = {"command": "view", "path": "/"}
VERDICT = {"criteria": [{"criterion": "adds a route", "met": True}], "summary": "ok"}
SCRIPT: dict[str, Any] = {
    "conversations": [
        {
            "name": "attempt-1",
            "match": {"first_user_contains": "Attempt 1 of", "tool_choice": None},
            "turns": [
                {
                    "content": [
                        {"type": "text", "text": "I'll look at the repository first."},
                        {"type": "tool_use", "name": "str_replace_based_edit_tool", "input": VIEW},
                    ]
                },
                {"content": [{"type": "text", "text": "Done."}], "stop_reason": "end_turn"},
            ],
        },
        {
            "name": "verdict-1",
            "match": {"first_user_contains": "Attempt 1 of", "tool_choice": "record_verdict"},
            "turns": [{"content": [{"type": "tool_use", "name": "record_verdict", "input": VERDICT}]}],
        },
    ]
}
ATTEMPT = [{"role": "user", "content": "Attempt 1 of 3: implement the spec."}]
BIG = "You are a careful engineer who reads before writing. " * 24


class FakeClock:
    """The prompt cache's clock, moved by hand so TTL tests need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sdk(server: MessagesServer, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.base_url, api_key="test", max_retries=kwargs.pop("max_retries", 0), **kwargs
    )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def events_for(server: MessagesServer, seq: int) -> list[str]:
    return [e["event"] for e in server.requests() if e["seq"] == seq]


def test_json_answer_has_the_api_message_shape(messages_server: Callable[..., MessagesServer]) -> None:
    server = messages_server(SCRIPT)
    body = json.dumps({"model": MODEL, "max_tokens": 100, "messages": ATTEMPT}).encode()
    request = urllib.request.Request(
        server.base_url + "/v1/messages",
        data=body,
        method="POST",
        headers={"content-type": "application/json", "x-api-key": "anything", "anthropic-version": "2023-06-01"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["content-type"] == "application/json"
        message = json.load(response)
    assert set(message) == {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    assert (message["type"], message["role"], message["model"]) == ("message", "assistant", MODEL)
    assert message["id"].startswith("msg_") and message["stop_sequence"] is None
    assert message["stop_reason"] == "tool_use"
    assert message["content"][0] == {"type": "text", "text": "I'll look at the repository first."}
    tool_use = message["content"][1]
    assert set(tool_use) == {"type", "id", "name", "input"} and tool_use["id"].startswith("toolu_")
    assert {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"} <= set(
        message["usage"]
    )


def test_tool_use_round_trip_routes_by_turn_and_forced_tool(messages_server: Callable[..., MessagesServer]) -> None:
    client = sdk(messages_server(SCRIPT))
    first = client.messages.create(model=MODEL, max_tokens=100, tools=[TOOL], messages=ATTEMPT)
    assert first.stop_reason == "tool_use"
    tool_use = first.content[1]
    assert tool_use.type == "tool_use" and tool_use.input == VIEW
    replay = client.messages.create(model=MODEL, max_tokens=100, tools=[TOOL], messages=ATTEMPT)
    assert replay.content[1].id == tool_use.id and replay.id == first.id  # a re-sent call gets the same ids

    follow_up = [
        *ATTEMPT,
        first.to_param(),
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "src/"}]},
    ]
    second = client.messages.create(model=MODEL, max_tokens=100, tools=[TOOL], messages=follow_up)
    assert (second.stop_reason, second.content[0].text) == ("end_turn", "Done.")

    with client.messages.stream(
        model=MODEL,
        max_tokens=100,
        tools=[VERDICT_TOOL],
        messages=ATTEMPT,
        tool_choice={"type": "tool", "name": "record_verdict"},
    ) as stream:
        verdict = stream.get_final_message()
    assert verdict.content[0].name == "record_verdict" and verdict.content[0].input == VERDICT
    assert verdict.content[0].id != tool_use.id and verdict.stop_reason == "tool_use"


def test_stream_helper_rebuilds_the_same_message_as_create(messages_server: Callable[..., MessagesServer]) -> None:
    client = sdk(messages_server(SCRIPT))
    plain = client.messages.create(model=MODEL, max_tokens=100, messages=ATTEMPT)
    with client.messages.stream(model=MODEL, max_tokens=100, messages=ATTEMPT) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "I'll look at the repository first."
    assert final.model_dump(exclude={"content"}) == plain.model_dump(exclude={"content"})
    assert [b.model_dump(exclude={"parsed_output"}) for b in final.content] == [b.model_dump() for b in plain.content]


def test_create_with_stream_true_yields_the_api_event_sequence(
    messages_server: Callable[..., MessagesServer],
) -> None:
    client = sdk(messages_server(SCRIPT))
    events = list(client.messages.create(model=MODEL, max_tokens=100, messages=ATTEMPT, stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    assert kinds.count("content_block_start") == kinds.count("content_block_stop") == 2
    assert events[0].message.content == [] and events[0].message.stop_reason is None
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    partial = "".join(
        e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert text == "I'll look at the repository first." and json.loads(partial) == VIEW
    assert len([e for e in events if e.type == "content_block_delta"]) > 3  # really chunked
    delta = events[-2]
    assert delta.delta.stop_reason == "tool_use" and delta.usage.output_tokens > 1


def test_unmatched_requests_fail_loudly_with_the_reason(messages_server: Callable[..., MessagesServer]) -> None:
    server = messages_server(SCRIPT)
    client = sdk(server)
    with pytest.raises(anthropic.BadRequestError) as unmatched:
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "Attempt 9 of 9"}])
    message = unmatched.value.body["error"]["message"]
    assert unmatched.value.body["error"]["type"] == "invalid_request_error"
    assert "no scripted conversation matches" in message and "'Attempt 9 of 9'" in message
    assert "'attempt-1': first user text lacks 'Attempt 1 of'" in message

    too_far = [
        *ATTEMPT,
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "c"},
        {"role": "user", "content": "d"},
    ]
    with pytest.raises(anthropic.BadRequestError) as past_end:
        client.messages.create(model=MODEL, max_tokens=10, messages=too_far)
    assert "'attempt-1' has 2 turn(s)" in past_end.value.message and "turn index 2" in past_end.value.message
    assert [e["status"] for e in server.wait_settled() if e["completed"]] == [400, 400]


def test_repeat_last_reuses_the_final_turn(messages_server: Callable[..., MessagesServer]) -> None:
    script = {
        "conversations": [{"name": "loop", "repeat_last": True, "turns": [{"content": "first"}, {"content": "again"}]}]
    }
    client = sdk(messages_server(script))
    history: list[dict[str, Any]] = [{"role": "user", "content": "go"}]
    for _ in range(4):
        history += [{"role": "assistant", "content": "x"}, {"role": "user", "content": "more"}]
    answer = client.messages.create(model=MODEL, max_tokens=10, messages=history)
    assert answer.content[0].text == "again"


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
    ],
)
def test_faults_map_to_sdk_exceptions_then_recover(
    messages_server: Callable[..., MessagesServer],
    status: int,
    error_class: type[Exception],
    error_type: str,
) -> None:
    script = {
        "conversations": [{"name": "flaky", "turns": [{"content": "fine", "fail": {"status": status, "times": 2}}]}]
    }
    server = messages_server(script)
    client = sdk(server)
    request = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    for attempt in range(2):
        with pytest.raises(error_class) as caught:
            if attempt == 0:
                client.messages.create(**request)
            else:
                with client.messages.stream(**request) as stream:
                    stream.get_final_message()
        assert type(caught.value) is error_class  # 500 must not come back as OverloadedError
        assert caught.value.status_code == status and caught.value.body["error"]["type"] == error_type
        if status == 429:
            assert caught.value.response.headers["retry-after"] == "1"
    assert client.messages.create(**request).content[0].text == "fine"
    assert [e["status"] for e in server.wait_settled() if e["completed"]] == [status, status, 200]


def test_sdk_retries_honour_retry_after(messages_server: Callable[..., MessagesServer]) -> None:
    script = {
        "conversations": [
            {
                "name": "limited",
                "turns": [{"content": "through", "fail": {"status": 429, "times": 2, "retry_after_s": 0.05}}],
            }
        ]
    }
    server = messages_server(script)
    answer = sdk(server, max_retries=3).messages.create(
        model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert answer.content[0].text == "through"
    entries = server.wait_settled()
    assert len({e["request_sha256"] for e in entries}) == 1
    assert [e["status"] for e in entries if e["completed"]] == [429, 429, 200]
    assert list(completed_counts(entries).values()) == [1]


def test_mid_stream_error_reaches_the_sdk_as_a_plain_status_error(
    messages_server: Callable[..., MessagesServer],
) -> None:
    script = {
        "conversations": [{"name": "c", "turns": [{"content": "never", "fail": {"status": 529, "mid_stream": True}}]}]
    }
    server = messages_server(script)
    client = sdk(server)
    hi = [{"role": "user", "content": "hi"}]
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model=MODEL, max_tokens=10, messages=hi) as stream,
    ):
        stream.get_final_message()
    # The HTTP status was 200, so the SDK cannot pick OverloadedError; only the body says so.
    assert not isinstance(caught.value, anthropic.InternalServerError) and caught.value.status_code == 200
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert server.wait_settled()[-1]["status"] == 529 and completed_counts(server.requests()) == {}
    assert (
        sdk(server)
        .messages.create(model=MODEL, max_tokens=10, stream=False, messages=[{"role": "user", "content": "hi"}])
        .content[0]
        .text
        == "never"
    )


def test_usage_counts_input_and_output_tokens(messages_server: Callable[..., MessagesServer]) -> None:
    script = {
        "conversations": [{"name": "c", "turns": [{"content": "abcdefgh"}, {"content": "x", "output_tokens": 42}]}]
    }
    client = sdk(messages_server(script))
    request = {
        "model": MODEL,
        "max_tokens": 10,
        "system": "Be brief.",
        "tools": [TOOL],
        "messages": [{"role": "user", "content": "hi there"}],
    }
    counted = client.messages.count_tokens(**{k: v for k, v in request.items() if k != "max_tokens"})
    usage = client.messages.create(**request).usage
    assert counted.input_tokens == usage.input_tokens == count_input_tokens(request) > 0
    assert (usage.output_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (2, 0, 0)
    later = dict(
        request,
        messages=request["messages"]
        + [{"role": "assistant", "content": "abcdefgh"}, {"role": "user", "content": "and?"}],
    )
    assert client.messages.create(**later).usage.output_tokens == 42


def _cached(ttl: str | None = None, text: str = BIG) -> list[dict[str, Any]]:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": control}]


def test_prompt_cache_writes_then_reads_a_prefix(messages_server: Callable[..., MessagesServer]) -> None:
    server = messages_server({"min_cacheable_tokens": 100, **SCRIPT}, clock=FakeClock())
    client = sdk(server)
    request = {"model": MODEL, "max_tokens": 10, "system": _cached(), "messages": ATTEMPT}
    prefix = count_input_tokens({"system": _cached()})
    total = client.messages.count_tokens(model=MODEL, system=_cached(), messages=ATTEMPT).input_tokens
    assert 100 <= prefix < total

    first = client.messages.create(**request).usage
    assert (first.cache_creation_input_tokens, first.cache_read_input_tokens) == (prefix, 0)
    assert first.input_tokens == total - prefix and first.cache_creation.ephemeral_5m_input_tokens == prefix
    with client.messages.stream(**request) as stream:
        second = stream.get_final_message().usage
    assert (second.cache_creation_input_tokens, second.cache_read_input_tokens) == (0, prefix)
    assert second.input_tokens == total - prefix

    changed = client.messages.create(**dict(request, system=_cached(text=BIG + "!"))).usage
    assert (changed.cache_read_input_tokens, changed.cache_creation_input_tokens) == (0, prefix + 1)


def test_prompt_cache_ignores_prefixes_below_the_minimum(messages_server: Callable[..., MessagesServer]) -> None:
    client = sdk(messages_server(SCRIPT))  # default minimum: 1024 tokens, far above BIG
    request = {"model": MODEL, "max_tokens": 10, "system": _cached(), "messages": ATTEMPT}
    for _ in range(2):
        usage = client.messages.create(**request).usage
        assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
        assert usage.input_tokens == count_input_tokens(request)


@pytest.mark.parametrize(("ttl", "alive_s"), [(None, 300.0), ("1h", 3600.0)])
def test_prompt_cache_entries_expire_after_their_ttl(
    messages_server: Callable[..., MessagesServer],
    ttl: str | None,
    alive_s: float,
) -> None:
    clock = FakeClock()
    client = sdk(messages_server({"min_cacheable_tokens": 100, **SCRIPT}, clock=clock))
    request = {"model": MODEL, "max_tokens": 10, "system": _cached(ttl), "messages": ATTEMPT}
    prefix = count_input_tokens({"system": _cached(ttl)})
    written = client.messages.create(**request).usage
    bucket = "ephemeral_1h_input_tokens" if ttl else "ephemeral_5m_input_tokens"
    assert getattr(written.cache_creation, bucket) == prefix
    clock.now += alive_s - 1
    assert client.messages.create(**request).usage.cache_read_input_tokens == prefix  # refreshes the entry
    clock.now += alive_s - 1
    assert client.messages.create(**request).usage.cache_read_input_tokens == prefix
    clock.now += alive_s + 1
    expired = client.messages.create(**request).usage
    assert (expired.cache_read_input_tokens, expired.cache_creation_input_tokens) == (0, prefix)


def test_prompt_cache_reads_the_longest_earlier_prefix(messages_server: Callable[..., MessagesServer]) -> None:
    """An agent loop moves its breakpoint to the newest block; the previous one is found by lookback."""
    script = {
        "min_cacheable_tokens": 100,
        "conversations": [{"name": "loop", "repeat_last": True, "turns": [{"content": "ok"}]}],
    }
    client = sdk(messages_server(script, clock=FakeClock()))
    marked = {"type": "ephemeral"}
    one = [{"role": "user", "content": [{"type": "text", "text": "step one " * 30, "cache_control": marked}]}]
    two = [
        {"role": "user", "content": [{"type": "text", "text": "step one " * 30}]},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "step two " * 30, "cache_control": marked}]},
    ]
    first = client.messages.create(model=MODEL, max_tokens=10, system=_cached(), messages=one).usage
    second = client.messages.create(model=MODEL, max_tokens=10, system=_cached(), messages=two).usage
    whole_one = count_input_tokens({"system": _cached(), "messages": one})
    whole_two = count_input_tokens({"system": _cached(), "messages": two})
    assert (first.cache_creation_input_tokens, first.input_tokens) == (whole_one, 0)
    assert second.cache_read_input_tokens == whole_one
    assert second.cache_creation_input_tokens == whole_two - whole_one and second.input_tokens == 0


def test_request_log_marks_completion_only_after_the_answer(
    messages_server: Callable[..., MessagesServer],
    tmp_path: Path,
) -> None:
    script = {
        "conversations": [
            {"name": "slow", "match": {"first_user_contains": "slow"}, "turns": [{"content": "late", "delay_s": 0.5}]},
            {
                "name": "stuck",
                "match": {"first_user_contains": "stuck"},
                "turns": [{"content": "never", "delay_s": 30}],
            },
        ]
    }
    log_path = tmp_path / "requests.jsonl"
    server = messages_server(script, log_path=log_path)
    client = sdk(server)
    answers: list[str] = []
    call = threading.Thread(
        target=lambda: answers.append(
            client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": "slow"}])
            .content[0]
            .text
        )
    )
    call.start()
    wait_for(lambda: events_for(server, 1) == ["received"], "the slow call to be received")
    assert not any(e["completed"] for e in server.requests())  # in flight, not completed
    call.join(timeout=5)
    server.wait_settled()
    assert answers == ["late"] and events_for(server, 1) == ["received", "completed"]

    with pytest.raises(anthropic.APITimeoutError):
        client.messages.create(model=MODEL, max_tokens=10, timeout=0.3, messages=[{"role": "user", "content": "stuck"}])
    wait_for(lambda: events_for(server, 2) == ["received", "aborted"], "the abandoned call to be aborted")
    stuck = [e for e in server.requests() if e["seq"] == 2]
    assert [e["completed"] for e in stuck] == [False, False] and stuck[0]["conversation"] == "stuck"
    assert read_request_log(log_path) == server.requests()


def test_killed_client_leaves_its_call_uncompleted(
    messages_server: Callable[..., MessagesServer],
    anthropic_env: Callable[[str], None],
) -> None:
    script = {"conversations": [{"name": "held", "turns": [{"content": "never", "delay_s": 30}]}]}
    server = messages_server(script)
    anthropic_env(server.base_url)
    code = (
        "import anthropic; anthropic.Anthropic(max_retries=0).messages.create("
        f"model={MODEL!r}, max_tokens=5, messages=[{{'role': 'user', 'content': 'hi'}}])"
    )
    client = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: events_for(server, 1) == ["received"], "the client's call", timeout=15)
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait(5)
    wait_for(lambda: events_for(server, 1) == ["received", "aborted"], "the dead client's call to be aborted")
    assert completed_counts(server.requests(), status=None) == {}


def test_subprocess_server_restarts_on_its_port_and_keeps_one_log(
    messages_server_process: Callable[..., tuple[subprocess.Popen[bytes], str, Path]],
) -> None:
    request = {"model": MODEL, "max_tokens": 10, "messages": ATTEMPT}
    proc, url, log_path = messages_server_process(SCRIPT)
    first = anthropic.Anthropic(base_url=url, api_key="test", max_retries=0).messages.create(**request)
    assert stop_messages_server(proc) == 0  # SIGTERM is a clean exit

    port = int(url.rsplit(":", 1)[1])
    _, again_url, again_log = messages_server_process(SCRIPT, port=port)
    assert (again_url, again_log) == (url, log_path)
    with anthropic.Anthropic(base_url=url, api_key="test", max_retries=0).messages.stream(**request) as stream:
        second = stream.get_final_message()
    assert second.content[1].id == first.content[1].id

    entries = wait_for(lambda: len(log := read_request_log(log_path)) == 4 and log, "the second run's entries")
    assert [e["seq"] for e in entries] == [1, 1, 2, 2] and [e["stream"] for e in entries[::2]] == [False, True]
    assert list(completed_counts(entries).values()) == [2]  # the replay is visible across the restart


def test_scripts_are_validated_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="stop_reasn"):
        Script.from_dict({"conversations": [{"name": "a", "turns": [{"content": "x", "stop_reasn": "end_turn"}]}]})
    with pytest.raises(ScriptError, match=r"fail\.status"):
        Script.from_dict({"conversations": [{"name": "a", "turns": [{"content": "x", "fail": {"status": 418}}]}]})
    with pytest.raises(ScriptError, match="duplicate"):
        Script.from_dict({"conversations": [{"name": "a", "turns": [{}]}, {"name": "a", "turns": [{}]}]})
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    assert Script.load(path) == Script.load(SCRIPT) and Script.load(path).to_dict() == SCRIPT
