"""One Protocol per port. Phases depend on these, never on an adapter."""

from specmill.ports.environments import Environments
from specmill.ports.model import Model
from specmill.ports.note_index import NoteIndex, NoteRef
from specmill.ports.repo_analysis import RepoAnalyzer
from specmill.ports.spec_store import SpecStore
from specmill.ports.test_runner import TestRunner
from specmill.ports.workspace import Workspace

__all__ = ["Environments", "Model", "NoteIndex", "NoteRef", "RepoAnalyzer", "SpecStore", "TestRunner", "Workspace"]
