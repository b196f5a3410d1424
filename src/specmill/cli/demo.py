"""`specmill demo`: the bundled example spec implemented in the bundled example repository."""

from __future__ import annotations

import contextlib
import os
import uuid

import typer

from specmill.config import Settings
from specmill.models import RunRequest


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo() -> None:
    """Implement the example 'Goodbye endpoint' spec in a fresh copy of the example service."""
    from specmill import example, runtime
    from specmill.cli.errors import fail
    from specmill.cli.run import execute
    from specmill.errors import SpecmillError
    from specmill.names import branch_name

    settings = Settings()
    root = (settings.data_dir / "demo").resolve()
    try:
        repo = example.prepare_repository(root)
        typer.echo(f"example repository: {repo}", err=True)
        example.isolate_basic_memory(root, settings.basic_memory_command)
        typer.echo(f"spec note: {example.SPEC_PERMALINK} in Basic Memory project '{example.PROJECT}'", err=True)
    except SpecmillError as exc:
        fail(exc)
    request = RunRequest(spec=example.SPEC_PERMALINK, repo=str(repo), project=example.PROJECT)
    run_id = f"demo-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as stack:
        if not os.environ.get("ANTHROPIC_API_KEY"):
            stack.enter_context(example.offline_model(root))
            typer.echo("No ANTHROPIC_API_KEY set: the model is an OFFLINE REPLAY of a recorded session.", err=True)
        stack.callback(
            typer.echo,
            f"inspect the result: git -C {repo} log --stat {branch_name(example.SPEC_PERMALINK, run_id)}",
            err=True,
        )
        execute(settings, run_id, lambda queue: runtime.start_run(request, run_id, queue), as_json=False)
