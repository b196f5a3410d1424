"""`specmill doctor`: each part specmill needs, checked the way a run uses it, with the fix when it is not ok.

Every check returns a `Finding`; none raises. The order is the order a newcomer meets the parts in:
git, the settings, the database, Basic Memory and its project, the model key, the test sandbox.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from specmill.config import Settings

DOCTOR_MODEL = "claude-sonnet-5"


class Finding(BaseModel):
    part: str
    state: Literal["ok", "problem"]
    detail: str
    fix: str = ""


def ok(part: str, detail: str) -> Finding:
    return Finding(part=part, state="ok", detail=detail)


def problem(part: str, detail: str, fix: str) -> Finding:
    return Finding(part=part, state="problem", detail=detail, fix=fix)


def check_git() -> Finding:
    git = shutil.which("git")
    if git is None:
        return problem("git", "git is not on PATH", "install git (Debian: apt-get install git)")
    version = subprocess.run([git, "--version"], capture_output=True, text=True).stdout.strip()
    return ok("git", version)


def check_database(settings: Settings) -> Finding:
    url = settings.database_url()
    if url.startswith("sqlite"):
        from specmill.runtime import check_sqlite_support

        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            probe = settings.data_dir / ".doctor-probe"
            probe.write_text("ok")
            probe.unlink()
            check_sqlite_support(url)
        except Exception as exc:
            return problem(
                "database", f"SQLite in {settings.data_dir}: {exc}", "set SPECMILL_DATA_DIR to a writable folder"
            )
        return ok("database", f"SQLite in {settings.data_dir.resolve()}")
    import psycopg

    from specmill.records import masked

    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except Exception as exc:
        return problem(
            "database", f"{masked(url)}: {str(exc).strip().splitlines()[0]}", "check DBOS_SYSTEM_DATABASE_URL"
        )
    return ok("database", f"PostgreSQL {version[0] if version else '?'} at {masked(url)}")


def check_basic_memory(settings: Settings, project: str | None) -> Finding:
    command = settings.basic_memory_command.split()[0] if settings.basic_memory_command else ""
    if not settings.basic_memory_url and not (shutil.which(command) or os.path.isfile(command)):
        return problem(
            "basic memory",
            f"command {command!r} not found",
            "install it (pip install basic-memory, Python >= 3.12) or set SPECMILL_BASIC_MEMORY_COMMAND",
        )
    from specmill.adapters.basic_memory import BasicMemoryClient, BasicMemoryNoteIndex
    from specmill.errors import BadInput, ProjectNotFound

    client = BasicMemoryClient.from_settings(settings)
    where = settings.basic_memory_url or settings.basic_memory_command
    try:
        client.list_tools()
        if not project:
            return problem(
                "basic memory",
                f"{where} answers, but no project is set for specs",
                "set SPECMILL_PROJECT (basic-memory project list shows the projects; "
                "basic-memory project add NAME DIR adds one)",
            )
        specs = BasicMemoryNoteIndex(client).search(project, note_types=["spec"])
    except ProjectNotFound:
        return problem("basic memory", f"no project {project!r}", f"basic-memory project add {project} DIR")
    except BadInput:  # a project Basic Memory has never indexed: it exists, and holds nothing yet
        return ok("basic memory", f"project {project!r}: no notes yet (write a spec note there; see the README)")
    except Exception as exc:
        return problem("basic memory", f"{where}: {str(exc).splitlines()[0]}", "check SPECMILL_BASIC_MEMORY_COMMAND")
    finally:
        client.close()
    return ok("basic memory", f"project {project!r}: {len(specs)} note(s) with type: spec")


def check_model(count: Callable[[], int] | None = None) -> Finding:
    if not any(os.environ.get(name, "").strip() for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")):
        return problem(
            "model",
            "ANTHROPIC_API_KEY is not set",
            "export ANTHROPIC_API_KEY=... (`specmill run --offline` replays the sample spec without one)",
        )
    try:
        tokens = (count or _count_tokens)()
    except Exception as exc:
        return problem("model", f"the Messages API refused a token count: {str(exc).splitlines()[0]}", _key_fix())
    return ok("model", f"the key works (a token count answered {tokens})")


def _count_tokens() -> int:
    import anthropic

    client = anthropic.Anthropic(max_retries=0, timeout=20.0)
    answer = client.messages.count_tokens(model=DOCTOR_MODEL, messages=[{"role": "user", "content": "ping"}])
    return answer.input_tokens


def _key_fix() -> str:
    base = os.environ.get("ANTHROPIC_BASE_URL")
    return f"check ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL ({base})" if base else "check ANTHROPIC_API_KEY"


def check_sandbox(settings: Settings) -> Finding:
    """The exact wrapper a test run uses, tried once (the sandbox module's own probe)."""
    from specmill.adapters.sandbox import detect_sandbox
    from specmill.errors import EnvironmentProblem

    if settings.test_sandbox == "none":
        return ok("sandbox", "off (SPECMILL_TEST_SANDBOX=none): tests run without isolation")
    try:
        detect_sandbox(settings.test_sandbox)
    except EnvironmentProblem as exc:
        return problem(
            "sandbox",
            str(exc).split(". ", 1)[0],
            "apt-get install bubblewrap, and allow it to create namespaces (in a container: the README's "
            "Security model); or opt out with SPECMILL_TEST_SANDBOX=none",
        )
    return ok("sandbox", f"bubblewrap works ({shutil.which('bwrap')})")


def diagnose(settings: Settings) -> list[Finding]:
    project = settings.project
    return [
        check_git(),
        ok("settings", f"data dir {settings.data_dir.resolve()}"),
        check_database(settings),
        check_basic_memory(settings, project),
        check_model(),
        check_sandbox(settings),
    ]
