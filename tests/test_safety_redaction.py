"""Secrets never leave: the Redactor, the settings it is built from, and the log wiring."""

from __future__ import annotations

import logging
import pickle
import time

import pytest

from specmill.cli import app as cli_app
from specmill.config import Settings
from specmill.errors import BasicMemoryUnavailable
from specmill.models import TestCaseFailure as CaseFailure
from specmill.models import TestReport, ToolOutcome
from specmill.redaction import MARK, Redactor, redact_log_records

ANTHROPIC = "sk-ant-api03-" + "Q" * 40 + "-abcdefAA"
SHAPES = {
    "anthropic": ANTHROPIC,
    "openai": "sk-proj-abcdefghijklmnopqrstuvwxyz012345",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "a1B2c3D4e5" * 4,
    "slack": "xoxb-123456789012-abcdefghijkl",
    "google": "AIza" + "S" * 35,
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}


@pytest.mark.parametrize("kind", sorted(SHAPES))
def test_key_shaped_strings_are_removed_wherever_they_sit(kind: str) -> None:
    secret = SHAPES[kind]
    text = f'API = "{secret}"\nprint({secret!r})\nurl?k={secret}&x=1'
    out = Redactor().redact(text)
    assert secret not in out and MARK in out


def test_pem_keys_url_passwords_assignments_and_bearer_tokens() -> None:
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"
    text = "\n".join(
        [
            f"key:\n{pem}\nafter",
            "postgresql://specmill:hunter2-prod@db.internal:5432/runs",
            "DATABASE_PASSWORD=s3cr3t-value",
            'client_secret: "0a9b8c7d6e5f"',
            "https://api.example.com/v1?access_token=9f8e7d6c5b4a&page=2",
            "Authorization: Bearer abcdefghijklmnop0123456789",
        ]
    )
    out = Redactor().redact(text)
    for secret in (
        "MIIEowIBAAKCAQEA7",
        "hunter2-prod",
        "s3cr3t-value",
        "0a9b8c7d6e5f",
        "9f8e7d6c5b4a",
        "abcdefghijklmnop0123456789",
    ):
        assert secret not in out, secret
    assert "postgresql://specmill:[REDACTED]@db.internal:5432/runs" in out  # where it pointed stays readable
    assert out.startswith("key:\n[REDACTED]\nafter")


def test_ordinary_code_is_left_alone_so_the_model_can_still_edit_it() -> None:
    code = (
        "def login(user, password):\n"
        "    token = make_token(user)\n"
        "    return client.post(url, token=token, password=self.password, api_key=settings.api_key)\n"
        "sk = 'short'\n"
        "commit 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49\n"
    )
    assert Redactor().redact(code) == code


def test_configured_secret_values_are_named_not_shown() -> None:
    redactor = Redactor({"ANTHROPIC_API_KEY": "plain-looking-value-123", "SHORT": "abc"})
    out = redactor.redact("key=plain-looking-value-123 and plain-looking-value-123%, abc stays")
    assert out.count("[REDACTED:ANTHROPIC_API_KEY]") == 2 and "plain-looking" not in out
    assert "abc stays" in out  # too short to be told apart from ordinary words
    assert redactor.secret_count == 1


def test_settings_collect_the_secrets_this_process_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "anthropic-value-1")
    monkeypatch.setenv("GITHUB_TOKEN", "github-value-22")
    monkeypatch.setenv("CUSTOM_THING", "custom-value-333")
    monkeypatch.setenv("SPECMILL_SECRET_ENV", "CUSTOM_THING")
    monkeypatch.setenv("DBOS_SYSTEM_DATABASE_URL", "postgresql://app:db%2Fpassword-4444@localhost/x")
    monkeypatch.setenv("SPECMILL_API_TOKENS", "api-token-55555, api-token-666666")
    monkeypatch.setenv("HARMLESS", "not-a-secret-at-all")
    values = Settings().secret_values()
    assert {
        "anthropic-value-1",
        "github-value-22",
        "custom-value-333",
        "db/password-4444",
        "api-token-55555",
        "api-token-666666",
    } <= set(values.values())
    assert "not-a-secret-at-all" not in values.values()
    assert "[REDACTED:ANTHROPIC_API_KEY]" in Redactor.from_settings(Settings()).redact("x anthropic-value-1 y")


def test_models_are_scrubbed_field_by_field_and_ids_stay() -> None:
    redactor = Redactor({"K": "the-secret-value"})
    report = TestReport(
        command="pytest",
        exit_code=1,
        output_tail="env: the-secret-value",
        failures=[CaseFailure(test="t", message=f"saw {ANTHROPIC}")],
    )
    outcome = ToolOutcome(tool_use_id="toolu_1", content="the-secret-value", commit="a" * 40, test_report=report)
    clean = redactor.scrub(outcome, "content", "test_report")
    dumped = clean.model_dump_json()
    assert "the-secret-value" not in dumped and ANTHROPIC not in dumped
    assert clean.commit == "a" * 40 and clean.tool_use_id == "toolu_1"
    assert isinstance(clean.test_report, TestReport) and clean.test_report.exit_code == 1


def test_exceptions_are_scrubbed_in_place_and_still_pickle() -> None:
    exc = BasicMemoryUnavailable(f"server said {ANTHROPIC}")
    exc.add_note(f"Traceback ... token={ANTHROPIC}")
    Redactor().scrub_exception(exc)
    again = pickle.loads(pickle.dumps(exc))
    assert ANTHROPIC not in str(again) and ANTHROPIC not in "".join(exc.__notes__)
    assert isinstance(again, BasicMemoryUnavailable)


def test_log_records_are_redacted_before_any_handler_sees_them(caplog: pytest.LogCaptureFixture) -> None:
    restore = redact_log_records(Redactor({"DB": "database-password-1"}))
    try:
        logger = logging.getLogger("specmill.test.redaction")
        with caplog.at_level(logging.INFO, logger="specmill.test.redaction"):
            logger.info("connecting with %s and %s", "database-password-1", ANTHROPIC)
            try:
                raise RuntimeError(f"failed with {ANTHROPIC}")
            except RuntimeError:
                logger.exception("boom %s", "database-password-1")
        text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
        assert "database-password-1" not in text and ANTHROPIC not in text
        assert "[REDACTED:DB]" in text and "RuntimeError" in text
    finally:
        restore()
    assert logging.getLogRecordFactory() is logging.LogRecord


def test_the_cli_installs_log_redaction(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "cli-planted-key-value")
    monkeypatch.setattr(
        cli_app, "app", lambda: logging.getLogger("specmill.cli.test").warning("key cli-planted-key-value")
    )
    before = logging.getLogRecordFactory()
    try:
        with caplog.at_level(logging.WARNING):
            cli_app.main()
        assert "cli-planted-key-value" not in caplog.text and "[REDACTED:ANTHROPIC_API_KEY]" in caplog.text
    finally:
        logging.setLogRecordFactory(before)


def test_crafted_text_cannot_make_redaction_slow() -> None:
    """Redaction runs over text a model or a test chose; no pattern may backtrack badly on it."""
    crafted = [
        "a." * 50_000,
        "sk-" * 30_000,
        "token" * 20_000,
        "token=" * 20_000,
        "a://b:" * 20_000,
        "bearer " * 20_000,
        "-----BEGIN PRIVATE KEY-----\n" * 3_000,
        "eyJ" * 30_000,
    ]
    redactor = Redactor({"X": "some-secret-value"})
    started = time.monotonic()
    for text in crafted:
        redactor.redact(text)
    assert time.monotonic() - started < 3.0
