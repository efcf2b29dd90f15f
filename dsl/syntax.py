"""Spec text -> syntax tree: what the grammar says, with spans, before any typing.

nndsl/diagnostics.py turns Lark's syntax errors into labelled messages; nndsl/resolve.py
types the tree into the IR.
"""

from __future__ import annotations

import math
import sys
import threading
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError

from nndsl.errors import Span, SpecError
from nndsl.syntax_tree import (
    BlockDef,
    Call,
    InputStmt,
    Items,
    Keyword,
    LayerStmt,
    Literal,
    Name,
    OutputStmt,
    Param,
    RepeatStmt,
    Setting,
    Statement,
    Syntax,
    Value,
)

GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_INT = 2**31 - 1
MAX_DIGITS = 40  # longer numbers are refused before Python converts them
MAX_DEPTH = 32  # brackets and braces nested deeper than this are refused
MAX_BYTES = 1024 * 1024  # larger spec files are refused unread
KEYWORDS = ("model", "block", "input", "output", "repeat", "train")


_COLLECTED = threading.local()  # the comments the lexer meets during one parse


def _collect_comment(token: Token) -> Token:
    collected = getattr(_COLLECTED, "comments", None)
    if collected is not None:
        collected.append(token)
    return token


@cache
def lark() -> Lark:
    """The LALR parser, built once."""
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=False,
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def span_of(file: str, item: Any) -> Span:
    """The span of a tree (its meta) or a token."""
    meta = getattr(item, "meta", item)
    return Span(
        file=file,
        line=meta.line,
        column=meta.column,
        end_line=meta.end_line,
        end_column=meta.end_column,
    )


class _ToSyntax(Transformer):
    """Turn Lark's tree into the dataclasses above."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _s(self, item: Any) -> Span:
        return span_of(self.file, item)

    @v_args(meta=True)
    def number(self, meta: Any, children: list[Token]) -> Literal:
        text = str(children[0])
        span = self._s(meta)
        digits = sum(c.isdigit() for c in text)
        if digits > MAX_DIGITS:
            raise SpecError(
                f"number with {digits} digits is too long (the limit is {MAX_DIGITS})", span
            )
        value: int | float
        if any(c in text for c in ".eE"):
            value = float(text)
            if not math.isfinite(value):
                raise SpecError(f"number {text} is out of range (too large for a float)", span)
        else:
            value = int(text)
            if abs(value) > MAX_INT:
                raise SpecError(
                    f"number {text} is out of range (whole numbers up to {MAX_INT:,})", span
                )
        return Literal(span, value, text)

    @v_args(meta=True)
    def string(self, meta: Any, children: list[Token]) -> Literal:
        text = str(children[0])
        return Literal(self._s(meta), _unescape(text[1:-1]), text)

    @v_args(meta=True)
    def true(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(self._s(meta), True, "true")

    @v_args(meta=True)
    def false(self, meta: Any, children: list[Token]) -> Literal:
        return Literal(self._s(meta), False, "false")

    @v_args(meta=True)
    def name(self, meta: Any, children: list[Token]) -> Name:
        return Name(self._s(meta), str(children[0]))

    @v_args(meta=True)
    def list(self, meta: Any, children: list[Value]) -> Items:
        return Items(self._s(meta), tuple(c for c in children if c is not None), "[]")

    @v_args(meta=True)
    def tuple(self, meta: Any, children: list[Value]) -> Items:
        return Items(self._s(meta), tuple(c for c in children if c is not None), "()")

    def positional(self, children: list[Value]) -> Value:
        return children[0]

    def keyword(self, children: list[Any]) -> Keyword:
        token, value = children
        return Keyword(str(token), self._s(token), value)

    def arguments(self, children: list[Any]) -> list[Any]:
        return [c for c in children if c is not None]

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> Call:
        token, *rest = children
        args = rest[0] if rest else []
        positional: list[Value] = []
        keywords: list[Keyword] = []
        for arg in args:
            if isinstance(arg, Keyword):
                keywords.append(arg)
            elif keywords:
                raise SpecError(
                    "a positional argument cannot follow a keyword argument: write name=value",
                    arg.span,
                )
            else:
                positional.append(arg)
        return Call(self._s(meta), str(token), self._s(token), tuple(positional), tuple(keywords))

    def _name(self, token: Token) -> Name:
        return Name(self._s(token), str(token))

    @v_args(meta=True)
    def input_stmt(self, meta: Any, children: list[Any]) -> InputStmt:
        _keyword, *rest = children
        name = self._name(rest[0]) if len(rest) == 2 else None
        return InputStmt(self._s(meta), name, rest[-1])

    def source(self, children: list[Token]) -> Name:
        return self._name(children[0])

    @v_args(meta=True)
    def chain(self, meta: Any, children: list[Any]) -> tuple[Name | None, tuple[Call, ...]]:
        source = children[0] if isinstance(children[0], Name) else None
        calls = tuple(c for c in children if isinstance(c, Call))
        return source, calls

    @v_args(meta=True)
    def layer_stmt(self, meta: Any, children: list[Any]) -> LayerStmt:
        target = self._name(children[0]) if len(children) == 2 else None
        source, calls = children[-1]
        return LayerStmt(self._s(meta), target, source, calls)

    @v_args(meta=True)
    def output_stmt(self, meta: Any, children: list[Token]) -> OutputStmt:
        return OutputStmt(self._s(meta), tuple(self._name(t) for t in children[1:]))

    @v_args(meta=True)
    def repeat_stmt(self, meta: Any, children: list[Any]) -> RepeatStmt:
        _keyword, count, *body = children
        return RepeatStmt(self._s(meta), count, tuple(body))

    def param(self, children: list[Any]) -> Param:
        token, *default = children
        return Param(str(token), self._s(token), default[0] if default else None)

    def params(self, children: list[Param]) -> tuple[Param, ...]:
        return tuple(children)

    @v_args(meta=True)
    def block_def(self, meta: Any, children: list[Any]) -> BlockDef:
        _keyword, token, *rest = children
        params = rest[0] if rest and isinstance(rest[0], tuple) else ()
        body = tuple(r for r in rest if isinstance(r, Statement))
        return BlockDef(str(token), self._s(token), params, body, self._s(meta))

    @v_args(meta=True)
    def setting(self, meta: Any, children: list[Any]) -> Setting:
        token, value = children
        return Setting(str(token), self._s(token), value)

    @v_args(meta=True)
    def model(self, meta: Any, children: list[Any]) -> tuple:
        _keyword, token, *body = children
        return (str(token), self._s(token), self._s(meta), tuple(body))

    @v_args(meta=True)
    def train(self, meta: Any, children: list[Any]) -> tuple:
        return (tuple(children[1:]), self._s(meta))  # after the TRAIN keyword

    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> Syntax:
        blocks = tuple(c for c in children if isinstance(c, BlockDef))
        rest = [c for c in children if not isinstance(c, BlockDef)]
        (name, name_span, model_span, body), *train = rest
        settings, train_span = train[0] if train else (None, None)
        return Syntax(
            self._s(meta), blocks, name, name_span, model_span, body, settings, train_span
        )


def _unescape(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(escapes[text[i + 1]])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _check_depth(text: str, file: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the (recursive) tree walk meets it."""
    depth, line, column, in_string, in_comment = 0, 1, 0, False, False
    for ch in text:
        column += 1
        if ch == "\n":
            line, column, in_string, in_comment = line + 1, 0, False, False
        elif in_comment:
            continue
        elif in_string:
            in_string = ch != '"'
        elif ch == '"':
            in_string = True
        elif ch == "#":
            in_comment = True
        elif ch in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                span = Span(
                    file=file, line=line, column=column, end_line=line, end_column=column + 1
                )
                raise SpecError(
                    f"brackets nested deeper than {MAX_DEPTH} levels", span, code="limit"
                )
        elif ch in ")]}":
            depth = max(0, depth - 1)


def parse_syntax(text: str, file: str) -> Syntax:
    """Parse text into the syntax tree, raising SpecError for syntax errors."""
    from nndsl.diagnostics import syntax_error

    _check_depth(text, file)
    _COLLECTED.comments = []
    try:
        tree: Tree = lark().parse(text)
    except UnexpectedInput as err:
        raise syntax_error(err, text, file) from None
    finally:
        comments = tuple(_COLLECTED.comments)
        _COLLECTED.comments = []
    try:
        syntax = _ToSyntax(file).transform(tree)
    except VisitError as err:
        if isinstance(err.orig_exc, SpecError):
            raise err.orig_exc from None
        raise
    return replace(syntax, comments=comments)


def read_spec(path: Path) -> tuple[str, str]:
    """Read a spec file (`-`: standard input) as text, or raise SpecError naming the file."""
    file = str(path)
    if file == "-":
        return "<stdin>", _decode(sys.stdin.buffer.read(MAX_BYTES + 1), "<stdin>")
    try:
        if path.is_file() and path.stat().st_size > MAX_BYTES:
            raise SpecError(
                f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB", file=file, code="limit"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError("no such file", file=file, code="file") from None
    except IsADirectoryError:
        raise SpecError("is a directory", file=file, code="file") from None
    except OSError as err:
        raise SpecError(f"cannot read: {err.strerror}", file=file, code="file") from None
    return file, _decode(data, file)


def _decode(data: bytes, file: str) -> str:
    if len(data) > MAX_BYTES:
        raise SpecError(
            f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB", file=file, code="limit"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        shown = data.decode("utf-8", errors="replace")
        prefix = data[: err.start].decode("utf-8", errors="replace")
        raise _located(
            f"not UTF-8 text: byte 0x{data[err.start]:02x} cannot be decoded (save it as UTF-8)",
            file,
            shown,
            len(prefix),
        ) from None
    if "\0" in text:
        raise _located("NUL byte in the file: is it a text file?", file, text, text.index("\0"))
    return text


def _located(message: str, file: str, text: str, pos: int) -> SpecError:
    from nndsl.diagnostics import _offset_span

    err = SpecError(message, _offset_span(file, text, pos), code="file")
    err.source = text
    return err
