"""The composition root: settings in, one adapter per port out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from specmill.config import Settings
from specmill.ports import Environments, Model, NoteIndex, RepoAnalyzer, SpecStore, TestRunner, Workspace
from specmill.ports.code_host import CodeHosts, MemoryCodeHosts
from specmill.ports.environments import FixedEnvironments
from specmill.ports.remote import MemoryRemote, Remote
from specmill.redaction import Redactor


@dataclass
class Container:
    settings: Settings
    spec_store: SpecStore
    model: Model
    workspace: Workspace
    tests: TestRunner
    analyzer: RepoAnalyzer
    # Keyword-only, so a construction that predates it fails loudly instead of shifting arguments.
    note_index: NoteIndex = field(kw_only=True)
    """Basic Memory's index, for sweeps; the real one shares the spec store's MCP session."""
    clock: Callable[[], float] = field(default=time.time, kw_only=True)
    """Epoch seconds, read only inside steps: the deadlines of a run's waits (tests move it)."""
    environments: Environments = field(kw_only=True, default_factory=FixedEnvironments)
    """The repository's own environment for test runs; build_container sets the real one. The default
    (no environment: specmill's interpreter) keeps containers built by hand in tests as they were."""
    remote: Remote = field(kw_only=True, default_factory=MemoryRemote)
    """Where published branches are pushed; in memory unless built by `build_container`."""
    code_hosts: CodeHosts = field(kw_only=True, default_factory=MemoryCodeHosts)
    """Pull requests of published runs; in memory unless built by `build_container`."""

    @cached_property
    def redactor(self) -> Redactor:
        """Built once from the settings, so every step of this process removes the same secrets."""
        return Redactor.from_settings(self.settings)

    def close(self) -> None:
        close = getattr(self.spec_store, "close", None)
        if callable(close):
            close()


def build_container(settings: Settings) -> Container:
    """The real adapters. The Basic Memory session starts lazily, on first use."""
    from specmill.adapters.anthropic_model import AnthropicModel
    from specmill.adapters.basic_memory import BasicMemoryClient, BasicMemoryNoteIndex, BasicMemorySpecStore
    from specmill.adapters.brief_counter import MessagesTokenCounter
    from specmill.adapters.git_remote import GitRemote
    from specmill.adapters.git_worktree import GitWorktreeWorkspace
    from specmill.adapters.github import GitHubCodeHosts
    from specmill.adapters.pytest_runner import SubprocessTestRunner
    from specmill.adapters.repo_environments import RepoEnvironments
    from specmill.adapters.repo_map import RepoMapAnalyzer

    basic_memory = BasicMemoryClient.from_settings(settings)
    return Container(
        settings=settings,
        spec_store=BasicMemorySpecStore(basic_memory),
        note_index=BasicMemoryNoteIndex(basic_memory),
        model=AnthropicModel(),
        workspace=GitWorktreeWorkspace(settings.data_dir),
        tests=SubprocessTestRunner.from_settings(settings),
        analyzer=RepoMapAnalyzer(settings.data_dir / "index", MessagesTokenCounter.from_settings(settings)),
        environments=RepoEnvironments.from_settings(settings),
        remote=GitRemote(),
        code_hosts=GitHubCodeHosts.from_settings(settings),
    )
