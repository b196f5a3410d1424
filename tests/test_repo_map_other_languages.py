"""Non-Python files: symbols through tree-sitter when a grammar is installed, the file name otherwise."""

from __future__ import annotations

from pathlib import Path

from specmill.adapters.repo_map import RepoMapAnalyzer
from specmill.adapters.repo_scan import other_languages
from tests.repo_map_samples import make_spec, write_repo

FRONTEND = {
    "web/store.js": "export function loadCart(userId) {\n  return fetch(`/carts/${userId}`)\n}\n\n"
    "class CartStore extends Base {\n  constructor(api) { this.api = api }\n"
    "  checkout(cartId) { return this.api.post(cartId) }\n}\n\n"
    "const formatPrice = (cents) => `${cents / 100}`\nconst LIMIT = 3\n",
    "web/readme.md": "# Cart\n",
}
SPEC = make_spec("Checkout the cart", "The cart store's checkout should post the cart.")


def test_without_a_grammar_files_are_listed_by_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(other_languages, "installed", lambda: ())
    brief = RepoMapAnalyzer().analyze(write_repo(tmp_path, FRONTEND), SPEC, 1000)
    store = next(f for f in brief.files if f.path == "web/store.js")
    assert store.symbols == []
    assert "- `web/store.js`" in brief.markdown


def test_with_a_grammar_definitions_are_listed(tmp_path: Path) -> None:
    # scripts/bootstrap installs the `treesitter` extra, so the grammar is there in CI
    assert other_languages.grammar_for("web/store.js") is not None, "install specmill[treesitter]"
    brief = RepoMapAnalyzer().analyze(write_repo(tmp_path, FRONTEND), SPEC, 1000)
    assert brief.files[0].path == "web/store.js"
    assert brief.files[0].symbols[0] == "`checkout(cartId)`"
    section = brief.markdown.split("- `web/store.js`")[1]
    for line in (
        "  - `function loadCart(userId)`",
        "  - `class CartStore extends Base`",
        "    - `checkout(cartId)`",
        "  - `formatPrice = (cents) =>`",
    ):
        assert line in section
    assert "LIMIT" not in section


def test_a_grammar_crash_leaves_the_file_listed_by_name(monkeypatch) -> None:
    monkeypatch.setattr(other_languages, "grammar_for", lambda path: "javascript")
    monkeypatch.setattr(other_languages, "_parser", lambda language: (_ for _ in ()).throw(RuntimeError("boom")))
    assert other_languages.parse_other("a.js", "function f() {}") is None
