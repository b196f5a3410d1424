"""Run aider's repository map on one tree, for the benchmarks; runs in aider's own virtualenv.

Usage: python aider_map_driver.py REQUEST.json RESULT.json
REQUEST: {"root", "files" (relative paths), "budgets", "spec" (text), "cache_dir"}
RESULT:  {"maps": {budget: text}, "seconds": {budget: s}, "scan_seconds": s, "tokens": {budget: n}}

The hints are the ones aider's own Coder derives from a chat message (`get_file_mentions`,
`get_ident_mentions`, `get_ident_filename_matches`, copied below), with the spec as the message
and no files in the chat. Tokens are counted with specmill's conservative estimate (loaded
from its file), so both maps are held to the same budget by the same ruler, and nothing downloads a
tokenizer. The tags cache goes to `cache_dir`, never into the mapped tree.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path


def _load_estimator():
    """specmill's own estimator, loaded from its file: this script runs in aider's venv, where
    specmill is not installed, and the module needs nothing but the standard library."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "src" / "specmill" / "adapters" / "repo_scan" / "tokens.py"
    spec = importlib.util.spec_from_file_location("specmill_tokens", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.brief_tokens


estimate_tokens = _load_estimator()


class EstimateModel:
    """All RepoMap asks of a model is `token_count`."""

    def token_count(self, text: str) -> int:
        return estimate_tokens(text if isinstance(text, str) else json.dumps(text))


class QuietIO:
    def read_text(self, filename: str, silent: bool = False) -> str | None:
        try:
            return Path(filename).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def tool_output(self, *args: object, **kwargs: object) -> None: ...
    def tool_warning(self, *args: object, **kwargs: object) -> None: ...
    def tool_error(self, *args: object, **kwargs: object) -> None: ...


def file_mentions(content: str, rel_fnames: list[str]) -> set[str]:
    """aider Coder.get_file_mentions with no files in the chat."""
    words = {word.rstrip(",.!;:?").strip("\"'`*_") for word in content.split()}
    mentioned = {f for f in rel_fnames if f in words}
    by_name: dict[str, list[str]] = {}
    for rel in rel_fnames:
        name = os.path.basename(rel)
        if "/" in name or "\\" in name or "." in name or "_" in name or "-" in name:
            by_name.setdefault(name, []).append(rel)
    mentioned.update(rels[0] for name, rels in by_name.items() if len(rels) == 1 and name in words)
    return mentioned


def ident_filename_matches(idents: set[str], rel_fnames: list[str]) -> set[str]:
    """aider Coder.get_ident_filename_matches."""
    stems: dict[str, set[str]] = defaultdict(set)
    for rel in rel_fnames:
        base = Path(rel).stem.lower()
        if len(base) >= 5:
            stems[base].add(rel)
    return {f for ident in idents if len(ident) >= 5 for f in stems[ident.lower()]}


def main() -> None:
    request = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    sys.stdout = sys.stderr  # aider's spinner and tqdm must not reach our caller's pipe
    from aider.repomap import RepoMap

    RepoMap.TAGS_CACHE_DIR = str(Path(request["cache_dir"]).resolve())
    root = str(Path(request["root"]).resolve())
    rel = request["files"]
    absolute = [os.path.join(root, f) for f in rel]
    idents = set(re.split(r"\W+", request["spec"]))
    fnames = file_mentions(request["spec"], rel) | ident_filename_matches(idents, rel)
    result: dict[str, dict[str, object]] = {"maps": {}, "seconds": {}, "tokens": {}}
    for budget in request["budgets"]:
        repo_map = RepoMap(map_tokens=budget, root=root, main_model=EstimateModel(), io=QuietIO(), refresh="always")
        started = time.perf_counter()
        text = repo_map.get_repo_map([], absolute, mentioned_fnames=fnames, mentioned_idents=idents) or ""
        result["seconds"][str(budget)] = time.perf_counter() - started
        result["maps"][str(budget)] = text
        result["tokens"][str(budget)] = estimate_tokens(text)
    Path(sys.argv[2]).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
