"""specmill.toml: the user's settings file, read beneath the environment.

The file lives at `$SPECMILL_CONFIG`, else `$XDG_CONFIG_HOME/specmill/specmill.toml`, else
`~/.config/specmill/specmill.toml`. Its keys are the settings' names without the `SPECMILL_`
prefix (`project = "specs"`); an environment variable wins over the file. A file that is not
TOML, or holds a key specmill does not know, stops every command with one line that names the
file and the line: a misspelt key silently ignored would be a setting that silently does nothing.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from specmill.errors import BadInput

CONFIG_ENV = "SPECMILL_CONFIG"
FILE_NAME = "specmill.toml"
_AT_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


class ConfigFileError(BadInput):
    """The settings file cannot be used as it is; the message names the file, the line and the fix."""


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the settings file is (it need not exist)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(CONFIG_ENV, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = environ.get("XDG_CONFIG_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path(environ.get("HOME") or Path.home()) / ".config"
    return base / "specmill" / FILE_NAME


def read_config(path: Path, fields: Mapping[str, FieldInfo], explicit: bool = False) -> dict[str, Any]:
    """The file's settings by field name; {} when there is no file (unless it was named explicitly)."""
    if not path.is_file():
        if explicit:
            raise ConfigFileError(f"{CONFIG_ENV} names {path}, which is not a file: fix the path, or unset it")
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _AT_LINE.search(message)
        reason = _AT_LINE.sub("", message)
        where = f"{path}, line {at.group(1)}" if at else str(path)
        column = f" (column {at.group(2)})" if at else ""
        raise ConfigFileError(f"{where}: not valid TOML: {reason}{column}") from None
    for key, value in data.items():
        if key not in fields:
            raise ConfigFileError(f"{path}, line {_line_of(text, key)}: unknown setting '{key}'{_hint(key, fields)}")
        if isinstance(value, str) and _is_path(fields[key]):
            data[key] = str(Path(value).expanduser())
    return data


def render_config(values: Mapping[str, Any]) -> str:
    """TOML for flat settings (strings, numbers, booleans); a JSON string is a TOML basic string."""
    import json

    lines = ["# specmill settings; environment variables (SPECMILL_*) win over this file."]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f"{key} = {json.dumps(str(value), ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


class ConfigFileSource(PydanticBaseSettingsSource):
    """The settings file as a pydantic-settings source, placed after the environment."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        explicit = bool(os.environ.get(CONFIG_ENV, "").strip())
        self.path = config_path()
        self.values = read_config(self.path, settings_cls.model_fields, explicit=explicit)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)


def _line_of(text: str, key: str) -> int | str:
    pattern = re.compile(rf"^\s*(\[\s*)?[\"']?{re.escape(key)}[\"']?\s*[=\].]")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return "?"


def _hint(key: str, fields: Mapping[str, FieldInfo]) -> str:
    plain = key.lower().removeprefix("specmill_")
    if plain in fields:
        return f": write '{plain}' (the setting's name without the SPECMILL_ prefix)"
    close = difflib.get_close_matches(plain, list(fields), n=1, cutoff=0.6)
    if close:
        return f": did you mean '{close[0]}'?"
    return ": remove it (the README lists the settings)"


def _is_path(field: FieldInfo) -> bool:
    annotation = field.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return Path in typing.get_args(annotation)
    return annotation is Path
