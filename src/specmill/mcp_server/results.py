"""What every tool shares: the run service of the process, structured results with a short text,
and errors turned into tool errors (`isError`) that name the input and the fix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from specmill.api.errors import ApiError
from specmill.api.service import RunService
from specmill.errors import SpecmillError
from specmill.playbooks import available


def runs_of(ctx: Context) -> RunService:
    """The service the server's lifespan yielded: built at launch (stdio) or the API's own (HTTP)."""
    return ctx.request_context.lifespan_context


def result(value: BaseModel, text: str) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=value.model_dump(mode="json")
    )


@contextmanager
def tool_errors() -> Iterator[None]:
    """The service's refusals (unknown run, a run that cannot be resumed...) and bad input become
    tool errors the model can read and act on; anything else stays a crash the server logs."""
    try:
        yield
    except ApiError as exc:
        raise ToolError(exc.message) from None
    except SpecmillError as exc:
        raise ToolError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()[:5]]
        raise ToolError("; ".join(problems)) from None


def playbook_name(value: str | None, runs: RunService) -> str | None:
    """Playbooks are chosen by name: a client must not point the server at a file of its choosing."""
    if value is None:
        return None
    if any(mark in value for mark in ("/", "\\", "\x00")) or value.endswith(".md") or value.startswith("."):
        names = ", ".join(sorted(available(runs.settings.playbooks_dir))) or "none"
        raise ToolError(f"playbook '{value}' is a path: name one of the server's playbooks ({names})")
    return value
