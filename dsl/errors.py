"""User-facing errors: one gcc-style line, the source line and a caret, then notes.

Every error the tool reports on purpose is an `NndslError`; the command line prints it and
exits 2. `SpecError` is located in a spec file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

# the echoed source line is clipped to this many characters around the caret
ECHO_WIDTH = 100


class Span(BaseModel):
    """A region of a spec file; lines and columns count from 1 (lines end at '\\n' only)."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: int
    end_line: int
    end_column: int


class NndslError(Exception):
    """An expected failure with a one-line message for the user (exit code 2)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def format(self, source: str | None = None) -> str:
        return f"nndsl: error: {printable(self.message)}"


class SpecError(NndslError):
    """An error in a spec, located at a span (or at the whole file).

    `notes` are further (message, span) pairs: the use sites of the blocks an error sits in.
    """

    def __init__(
        self,
        message: str,
        span: Span | None = None,
        file: str = "<spec>",
        notes: tuple[tuple[str, Span], ...] = (),
        code: str | None = None,
    ):
        super().__init__(message)
        self.span = span
        self.file = span.file if span else file
        self.notes = notes
        self.code = code  # file, syntax, limit, meaning or shape (see docs/language.md)
        self.source: str | None = None

    @property
    def errors(self) -> list[SpecError]:
        """Every error this one reports (itself, or each of several)."""
        return [self]

    def with_note(self, message: str, span: Span) -> SpecError:
        """A copy with one more note."""
        err = SpecError(
            self.message, self.span, self.file, (*self.notes, (message, span)), self.code
        )
        err.source = self.source
        return err

    def as_dict(self) -> dict[str, object]:
        """The error for machines (`nndsl check --format json`)."""
        where = self.span.model_dump() if self.span else {"file": self.file}
        notes = [{"message": m, **s.model_dump()} for m, s in self.notes]
        return {**where, "code": self.code, "message": self.message, "notes": notes}

    def format(self, source: str | None = None) -> str:
        """`file:line:col: error: message`, the line and a caret, then each note alike."""
        source = source if source is not None else self.source
        if self.span is None:
            return f"{printable(self.file)}: error: {printable(self.message)}"
        parts = [_located("error", self.message, self.span, source)]
        parts += [_located("note", message, span, source) for message, span in self.notes]
        return "\n".join(parts)


class SpecErrors(SpecError):
    """Several independent errors of one spec, in source order (at most MAX_ERRORS)."""

    def __init__(self, errors: list[SpecError]):
        first = errors[0]
        super().__init__(first.message, first.span, first.file, first.notes, first.code)
        self._errors = list(errors)

    @property
    def errors(self) -> list[SpecError]:
        return self._errors

    def format(self, source: str | None = None) -> str:
        source = source if source is not None else self.source
        return "\n".join(err.format(source) for err in self._errors)


MAX_ERRORS = 20  # a check reports at most this many errors per spec


def coded(err: SpecError, code: str) -> SpecError:
    """`err` (and each error it holds) with `code` where none was set."""
    for one in err.errors:
        one.code = one.code or code
    err.code = err.code or code
    return err


DslError = SpecError  # the name the first wave used


def _located(level: str, message: str, span: Span, source: str | None) -> str:
    head = f"{printable(span.file)}:{span.line}:{span.column}: {level}: {printable(message)}"
    if source is None:
        return head
    lines = source.split("\n")  # the parser counts lines at '\n' only
    if not 0 < span.line <= len(lines) or not lines[span.line - 1].strip():
        return head
    width = 1
    if span.end_line == span.line:
        width = max(1, span.end_column - span.column)
    text, start = _clip(lines[span.line - 1], span.column - 1, width)
    shown = printable(text[:start])
    caret = " " * len(shown) + "^" + "~" * (min(width, ECHO_WIDTH) - 1)
    return f"{head}\n    {printable(text)}\n    {caret}"


def _clip(line: str, column: int, width: int) -> tuple[str, int]:
    """At most ECHO_WIDTH characters of `line` around `column`; (text, caret offset)."""
    line = line.rstrip("\r")
    if len(line) <= ECHO_WIDTH:
        return line, column
    start = max(0, min(column - ECHO_WIDTH // 3, len(line) - ECHO_WIDTH))
    text = line[start : start + ECHO_WIDTH]
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + ECHO_WIDTH < len(line) else ""
    return prefix + text + suffix, len(prefix) + column - start


def printable(text: str) -> str:
    """Escape control and other non-printable characters so output cannot rewrite the
    terminal or split a `file:line:col` line (a newline becomes `\\n`)."""
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch == "\t":
        return " "
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def with_trace(err: SpecError, trace: tuple[tuple[str, Span], ...]) -> SpecError:
    """Add a note per enclosing block use site (trace is outermost first), innermost first."""
    for name, span in reversed(trace):
        err = err.with_note(f"in block '{name}' used here", span)
    return err


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest choice, naming a second one when it is nearly as
    close (`crossentropy`: categorical_ or binary_crossentropy); '' when none is close."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    if not close:
        return ""

    def score(choice: str) -> float:
        return difflib.SequenceMatcher(None, word, choice).ratio()

    best = score(close[0])
    near = [c for c in close if best < 0.85 and best - score(c) <= 0.12][:2] or close[:1]
    return " (did you mean " + " or ".join(f"'{c}'" for c in near) + "?)"
