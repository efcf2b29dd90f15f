"""User-facing errors: one gcc-style line, the source line and a caret."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


class Span(BaseModel):
    """A region of a spec file; lines and columns count from 1."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: int
    end_line: int
    end_column: int


class DslError(Exception):
    """An error in a spec, located at a span (or at the whole file)."""

    def __init__(self, message: str, span: Span | None = None, file: str = "<spec>"):
        super().__init__(message)
        self.message = message
        self.span = span
        self.file = span.file if span else file
        self.source: str | None = None

    def format(self, source: str | None = None) -> str:
        """Render as `file:line:col: error: message`, then the line and a caret."""
        source = source if source is not None else self.source
        message = _printable(self.message)
        if self.span is None:
            return f"{self.file}: error: {message}"
        head = f"{self.span.file}:{self.span.line}:{self.span.column}: error: {message}"
        if source is None:
            return head
        lines = source.splitlines()
        if not 0 < self.span.line <= len(lines):
            return head
        text = lines[self.span.line - 1].expandtabs(1)
        width = 1
        if self.span.end_line == self.span.line:
            width = max(1, self.span.end_column - self.span.column)
        caret = " " * (self.span.column - 1) + "^" + "~" * (width - 1)
        return f"{head}\n    {_printable(text)}\n    {caret}"


def _printable(text: str) -> str:
    """Escape control characters so a hostile line cannot rewrite the terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
