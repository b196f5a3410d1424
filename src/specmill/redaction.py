"""Keep secrets out of everything specmill writes down or shows a model.

specmill holds an Anthropic key and database credentials while it runs code and reads
files a model chose. Anything that crosses a boundary (a tool result the model reads,
a step output DBOS records, a spec note, an artifact, a progress event, a log line)
passes through a `Redactor` first. It removes two kinds of text:

- the values of configured secrets (`Settings.secret_values()`: the Anthropic key,
  database passwords, API tokens, variables named like credentials, and whatever
  `SPECMILL_SECRET_ENV` lists), replaced by `[REDACTED:NAME]` so a reader can tell
  which secret it was without seeing it;
- text shaped like a credential (provider key prefixes, PEM private keys, JWTs,
  `user:password@` in URLs, `password=`/`token=` assignments), replaced by `[REDACTED]`.

Redaction is deliberately conservative about code: `token=token` or
`password=self.password` are left alone, because a model that sees its file views
rewritten cannot edit them.
"""

from __future__ import annotations

import logging
import re
import traceback
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

MARK = "[REDACTED]"
MIN_SECRET_LENGTH = 8  # shorter configured values ("true", "1", "dev") would blank out ordinary words
M = TypeVar("M", bound=BaseModel)

# Every repetition is bounded: these run over text a model or a test chose, and an unbounded
# `[...]*` before a literal turns a long crafted line into quadratic (or worse) backtracking.
# Whole-match patterns: the match itself is the secret.
_KEY_SHAPES = [
    re.compile(
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]|(?:Proc-Type|DEK-Info):[^\n]{0,200}){0,8000}"
        r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY-----)?"
    ),  # a cut-off key goes too
    re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{16,400}"),  # Anthropic
    re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,400}"),  # OpenAI-style
    re.compile(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,400}"),  # Stripe
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,400}"),  # GitHub
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,400}"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,400}"),  # GitLab
    re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,400}"),  # Slack
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}"),  # Google
    re.compile(r"\beyJ[A-Za-z0-9_\-]{8,4000}\.eyJ[A-Za-z0-9_\-]{8,4000}\.[A-Za-z0-9_\-]{8,4000}"),  # JWT
]
# Labelled patterns: group "keep" stays, group "secret" goes.
_URL_PASSWORD = re.compile(
    r"(?P<keep>\b[a-zA-Z][a-zA-Z0-9+.\-]{0,30}://[^/\s:@]{0,200}:)(?P<secret>[^@\s/]{1,400})(?=@)"
)
_ASSIGNMENT = re.compile(  # starts at the keyword: the rest of the name stays as it is anyway
    r"(?i)(?P<keep>(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key)[A-Za-z0-9_.\-]{0,40}"
    r"[\"']?[ \t]{0,5}[=:][ \t]{0,5}[\"']?)(?P<secret>[^\s\"'&;,<>()\[\]{}]{4,400})"
)
_BEARER = re.compile(r"(?i)(?P<keep>\b(?:bearer|basic)[ \t]{1,5})(?P<secret>[A-Za-z0-9._~+/\-]{16,4000}={0,2})")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z_.]*")


def _looks_like_a_value(text: str) -> bool:
    """`token=abc123`, yes; `token=token` or `password=self.password` (code), no."""
    return text != MARK and (not _PLAIN_NAME.fullmatch(text) or len(text) >= 24)


class Redactor:
    """Removes configured secret values and credential-shaped text; cheap enough for every write."""

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        named: dict[str, str] = {}
        for name, value in (secrets or {}).items():
            for form in {value, value.strip(), urllib.parse.quote(value, safe="")}:
                if len(form) >= MIN_SECRET_LENGTH:
                    named.setdefault(form, name)
        self._names = named
        ordered = sorted(named, key=len, reverse=True)  # a secret that contains another goes first
        self._known = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    @classmethod
    def from_settings(cls, settings: Any) -> Redactor:
        """`settings` is a `Settings`; typed loosely so this module stays below config."""
        return cls(settings.secret_values())

    @property
    def secret_count(self) -> int:
        return len(set(self._names.values()))

    def redact(self, text: str) -> str:
        if not text:
            return text
        if self._known is not None:
            text = self._known.sub(lambda m: f"[REDACTED:{self._names[m.group(0)]}]", text)
        for pattern in _KEY_SHAPES:
            text = pattern.sub(MARK, text)
        text = _URL_PASSWORD.sub(lambda m: m.group("keep") + MARK, text)
        text = _BEARER.sub(lambda m: m.group("keep") + MARK, text)
        return _ASSIGNMENT.sub(
            lambda m: m.group("keep") + MARK if _looks_like_a_value(m.group("secret")) else m.group(0), text
        )

    def redact_value(self, value: Any) -> Any:
        """Strings anywhere inside dicts, lists, tuples and pydantic models; other values as they are."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, BaseModel):
            return type(value).model_validate(self.redact_value(value.model_dump()))
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.redact_value(item) for item in value)
        return value

    def redact_blocks(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Messages API content blocks as the model wrote them: the text and the tool inputs redacted;
        ids, names and signed blocks (thinking) left as they are, since a changed signed block is
        refused when the conversation is sent back."""
        redacted = []
        for block in blocks:
            if block.get("type") == "text":
                block = {**block, "text": self.redact(str(block.get("text", "")))}
            elif block.get("type") == "tool_use":
                block = {**block, "input": self.redact_value(block.get("input"))}
            redacted.append(block)
        return redacted

    def scrub(self, model: M, *fields: str) -> M:
        """A copy of `model` with the named fields redacted; ids and commit hashes stay untouched."""
        changed = {name: self.redact_value(getattr(model, name)) for name in fields}
        return model.model_copy(update=changed)

    def scrub_exception(self, exc: BaseException) -> BaseException:
        """Redact an exception's message arguments and notes in place, before DBOS records it.

        Only string arguments are rewritten, so the exception still pickles and unpickles
        the way its class expects.
        """
        exc.args = tuple(self.redact(a) if isinstance(a, str) else a for a in exc.args)
        notes = getattr(exc, "__notes__", None)
        if isinstance(notes, list):
            notes[:] = [self.redact(n) if isinstance(n, str) else n for n in notes]
        return exc


def redact_log_records(redactor: Redactor) -> Callable[[], None]:
    """Redact every log record this process creates, whichever logger or handler it goes to.

    A filter on the root handlers would miss loggers with handlers of their own that do
    not propagate (DBOS adds one at launch), so this wraps the record factory instead.
    The message is formatted and redacted at once; an exception's traceback is formatted
    into `exc_text` (which `logging.Formatter` prints as it is) and redacted too.
    Returns a function that puts the previous factory back.
    """
    previous = logging.getLogRecordFactory()

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not a leak
            return record
        record.msg, record.args = redactor.redact(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = redactor.redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        return record

    logging.setLogRecordFactory(make)

    def restore() -> None:
        if logging.getLogRecordFactory() is make:
            logging.setLogRecordFactory(previous)

    return restore
