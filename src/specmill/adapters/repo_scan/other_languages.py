"""Symbols of non-Python files through tree-sitter, when a grammar happens to be installed.

tree-sitter is optional: specmill's users build Python services, and a hard dependency on
native grammar wheels would cost every one of them an install for what is, in their
repositories, a handful of front-end or script files. With the `tree_sitter` package and
either a grammar wheel (`tree_sitter_javascript`, ...) or `tree_sitter_language_pack`, those
files get their definitions listed like Python's; without them they are listed by name.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import lru_cache
from typing import Any

from specmill.adapters.repo_scan.symbols import PyFacts, Symbol, shorten
from specmill.adapters.repo_scan.words import term_set

LANGUAGES = {
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".rb": "ruby",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".cs": "csharp",
    ".php": "php",
    ".kt": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
}
DEFINITIONS = frozenset(
    """function_declaration generator_function_declaration function_definition function_item method_definition
    method_declaration constructor_declaration class_declaration abstract_class_declaration class_definition
    class_specifier struct_specifier interface_declaration type_alias_declaration enum_declaration
    record_declaration object_declaration protocol_declaration struct_item enum_item trait_item impl_item
    mod_item type_spec method singleton_method class module""".split()
)
"""Node types that define something, across the grammars above (they share most names)."""
CONTAINERS = frozenset(
    {
        "class_body",
        "declaration_list",
        "body_statement",
        "field_declaration_list",
        "class",
        "class_declaration",
        "impl_item",
        "trait_item",
        "interface_body",
        "enum_body",
        "module",
    }
)
FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function"})
MAX_DEPTH = 4
MAX_SYMBOLS = 60


def _grammar_module(language: str) -> str:
    return "tree_sitter_c_sharp" if language == "csharp" else f"tree_sitter_{language}"


@lru_cache(maxsize=1)
def installed() -> tuple[str, ...]:
    """Grammar packages importable here (found, not imported); part of the index's cache key."""
    if importlib.util.find_spec("tree_sitter") is None:
        return ()
    names = {_grammar_module(lang) for lang in LANGUAGES.values()} | {"tree_sitter_language_pack"}
    names.discard("tree_sitter_tsx")
    return tuple(sorted(n for n in names if importlib.util.find_spec(n) is not None))


@lru_cache(maxsize=None)
def _language(language: str) -> Any | None:
    if not installed():
        return None
    import tree_sitter

    module_name = "tree_sitter_typescript" if language in ("typescript", "tsx") else _grammar_module(language)
    if module_name in installed():
        module = importlib.import_module(module_name)
        loader = getattr(module, f"language_{language}", None) or getattr(module, "language", None)
        if loader is not None:
            return tree_sitter.Language(loader())
    if "tree_sitter_language_pack" in installed():
        try:
            return importlib.import_module("tree_sitter_language_pack").get_language(language)
        except Exception:  # an unknown name or a broken binding: fall back to the file name
            return None
    return None


def grammar_for(path: str) -> str | None:
    """The tree-sitter language of `path` when its grammar is installed, else None."""
    dot = path.rfind(".")
    language = LANGUAGES.get(path[dot:].lower()) if dot > path.rfind("/") else None
    if language is None or not installed():
        return None
    return language if _language(language) is not None else None


def _parser(language: str) -> Any:
    import tree_sitter

    grammar = _language(language)
    try:
        return tree_sitter.Parser(grammar)
    except TypeError:  # py-tree-sitter before 0.22
        parser = tree_sitter.Parser()
        parser.set_language(grammar)
        return parser


def _head(source: bytes, node: Any) -> str:
    """A definition up to its body, on one line: the closest thing to a signature every grammar has."""
    holder = node.child_by_field_name("value") if node.type == "variable_declarator" else node
    body = holder.child_by_field_name("body") if holder is not None else None
    end = body.start_byte if body is not None else node.end_byte
    text = source[node.start_byte : end].decode("utf-8", errors="replace")
    if body is None:
        text = text.split("\n", 1)[0].split("{", 1)[0]
    return shorten(text.replace("`", "'").rstrip(" ({:=\n"), 140)


def _symbols(source: bytes, root: Any) -> list[Symbol]:
    found: list[Symbol] = []
    stack: list[tuple[Any, int, str]] = [(child, 1, "") for child in reversed(root.children)]
    while stack and len(found) < MAX_SYMBOLS:
        node, depth, parent = stack.pop()
        if not node.is_named:  # keywords and punctuation (the `class` keyword is a node too)
            continue
        kind = node.type
        name_node = node.child_by_field_name("name")
        if kind == "variable_declarator" and name_node is not None:
            value = node.child_by_field_name("value")
            if value is None or value.type not in FUNCTION_VALUES:
                continue
        elif kind not in DEFINITIONS:
            if depth < MAX_DEPTH and (kind in CONTAINERS or not parent):
                stack.extend((c, depth + 1, parent) for c in reversed(node.children))
            continue
        name = name_node.text.decode("utf-8", errors="replace") if name_node is not None else ""
        kind = "class" if "class" in kind or kind in ("struct_item", "trait_item", "interface_declaration") else "def"
        found.append(Symbol(f"`{_head(source, node)}`", name, node.start_point[0] + 1, parent, kind))
        if depth < MAX_DEPTH:
            stack.extend((c, depth + 1, name or parent) for c in reversed(node.children))
    return found


def parse_other(path: str, text: str) -> PyFacts | None:
    """Definitions of a non-Python file, or None when no grammar is installed or the parse fails."""
    language = grammar_for(path)
    if language is None:
        return None
    source = text.encode("utf-8")
    try:
        symbols = _symbols(source, _parser(language).parse(source).root_node)
    except Exception:  # a grammar crash must not cost the whole brief; the file is listed by name
        return None
    return PyFacts(
        docstring="",
        imports=(),
        symbols=tuple(symbols),
        calls=(),
        decorators=(),
        classes=(),
        aliases=(),
        identifiers=frozenset(),
        words=term_set(text),
        signature_words=term_set("\n".join(s.text for s in symbols)),
    )
