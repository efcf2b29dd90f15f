"""The syntax tree of a spec: values and statements as written, with their spans.

nndsl/syntax.py builds it from the text; nndsl/resolve.py types it into the IR and
nndsl/fmt.py prints it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lark import Token

from nndsl.errors import Span


@dataclass(frozen=True)
class Value:
    """A literal, name, list, tuple or call, as written."""

    span: Span


@dataclass(frozen=True)
class Literal(Value):
    value: Any
    text: str


@dataclass(frozen=True)
class Name(Value):
    value: str


@dataclass(frozen=True)
class Items(Value):
    items: tuple[Value, ...]
    brackets: str  # "[]" or "()"


@dataclass(frozen=True)
class Keyword:
    name: str
    span: Span
    value: Value


@dataclass(frozen=True)
class Call(Value):
    name: str
    name_span: Span
    positional: tuple[Value, ...] = ()
    keywords: tuple[Keyword, ...] = ()


# --- statements ---


@dataclass(frozen=True)
class Statement:
    span: Span


@dataclass(frozen=True)
class InputStmt(Statement):
    """`input [NAME =] type(...)`."""

    name: Name | None
    call: Call


@dataclass(frozen=True)
class LayerStmt(Statement):
    """`[NAME =] [source ->] call (-> call)*`."""

    target: Name | None
    source: Name | None
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class OutputStmt(Statement):
    names: tuple[Name, ...]


@dataclass(frozen=True)
class RepeatStmt(Statement):
    count: Literal
    body: tuple[Statement, ...]


@dataclass(frozen=True)
class Param:
    name: str
    span: Span
    default: Value | None


@dataclass(frozen=True)
class BlockDef:
    name: str
    name_span: Span
    params: tuple[Param, ...]
    body: tuple[Statement, ...]
    span: Span


@dataclass(frozen=True)
class Setting:
    name: str
    span: Span
    value: Value


@dataclass(frozen=True)
class Syntax:
    """The whole file as written, plus its comments (kept for `nndsl fmt`)."""

    span: Span
    blocks: tuple[BlockDef, ...]
    model_name: str
    model_name_span: Span
    model_span: Span
    body: tuple[Statement, ...]
    train: tuple[Setting, ...] | None
    train_span: Span | None
    comments: tuple[Token, ...] = field(default=())
