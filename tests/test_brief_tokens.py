"""The brief's local token estimate: never below a real tokenizer's count on a whole brief, yet close to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import bpe_openai
import pydantic
import pytest
import typer

import specmill
from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan.tokens import brief_cost, brief_tokens
from tests.repo_map_samples import SERVICE, make_spec, write_repo

CL100K = bpe_openai.get_encoding("cl100k_base")
BUDGETS = (1000, 2500, 4000, 8000)
SPECS = (
    make_spec("Retry a failed model step", "The workflow retries `call_model` on transient model errors."),
    make_spec("Validate settings from the environment", "`BaseSettings` reads `SPECMILL_DATA_DIR` and JSON fields."),
    make_spec("Export notes as CSV", "A new `export` command writes every note of a project to a folder."),
)


def _unusual(root: Path) -> Path:
    """Text the estimate has seen least: non-English docstrings, constants, long names, numbers and paths."""
    lines = ['"""Verwaltung der Übersetzungen: 日本語のドキュメント, naïve café façade."""\n\n']
    for i in range(60):
        lines.append(f"MAX_RETRY_ATTEMPTS_FOR_HTTP_{i}_XYZ = {i * 104729}\n")
        lines.append(
            f"def compute_{i}_kubernetes_deserialization_orchestrator(payloadBytes: bytes, xmlHTTPRequestId: str) "
            f"-> dict[str, list[tuple[int, ...]]]:\n    '''Сохраняет {i} объектов; ¿qué pasa? ✓'''\n\n\n"
        )
        lines.append(f"class QWERTYZXCV{i}Backend(AbstractAsyncIOEventLoopPolicyMixin):\n    '''x{i}/y/z.'''\n\n\n")
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "unusual.py").write_text("".join(lines), encoding="utf-8")
    for i in range(30):
        (root / "pkg" / f"module_{i:03d}_überblick.py").write_text(f"def f_{i}() -> int:\n    return {i}\n")
    return root


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Briefs of specmill, pydantic, typer, a small service and an unusual tree, at several budgets and specs."""
    base = tmp_path_factory.mktemp("briefs")
    trees = {"service": write_repo(base / "service", SERVICE), "unusual": _unusual(base / "unusual")}
    for package in (specmill, pydantic, typer):
        source = Path(package.__file__).parent
        trees[source.name] = Path(shutil.copytree(source, base / source.name / "src" / source.name)).parent.parent
    analyzer = RepoMapAnalyzer(base / "index")
    return {
        name: [analyzer.analyze(tree, spec, budget).markdown for spec in SPECS for budget in BUDGETS]
        for name, tree in trees.items()
    }


def test_the_estimate_is_never_below_cl100k_on_a_whole_brief(corpus: dict[str, list[str]]) -> None:
    for markdown in (markdown for briefs in corpus.values() for markdown in briefs):
        counted = len(CL100K.encode(markdown))
        assert brief_tokens(markdown) >= counted, f"{brief_tokens(markdown)} < {counted} on:\n{markdown[:600]}"


def test_the_estimate_stays_close_to_cl100k(corpus: dict[str, list[str]]) -> None:
    """A brief sized by it fills its budget: within 20% of a real count on the briefs of real code.
    (Non-ASCII text is counted by its bytes, a bound rather than an estimate, so the unusual tree is left out.)"""
    for markdown in (markdown for name, briefs in corpus.items() if name != "unusual" for markdown in briefs):
        counted = len(CL100K.encode(markdown))
        if counted > 300:
            assert brief_tokens(markdown) <= 1.2 * counted, f"{brief_tokens(markdown)} for {counted}"


def test_the_estimate_adds_up_over_lines() -> None:
    a = "- `src/pkg/ÜberModule.py` - Verwaltung: 123456 HTTPServerError"
    b = "  - `async def fetch_all(self, urls: list[str]) -> dict[str, bytes]`"
    assert brief_cost(a + "\n" + b) == pytest.approx(brief_cost(a) + 1 + brief_cost(b))
    assert brief_tokens(a + "\n" + b) <= brief_tokens(a) + 1 + brief_tokens(b)
    assert brief_tokens("") == 0
    assert brief_tokens("日本") >= len(CL100K.encode("日本"))
