"""Blocks: checking their definitions, binding a use site's arguments, substituting them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from nndsl import ir
from nndsl.errors import SpecError, did_you_mean
from nndsl.syntax_tree import (
    BlockDef,
    Call,
    InputStmt,
    Items,
    Keyword,
    LayerStmt,
    Name,
    Statement,
    Value,
)


def check_blocks(defs: tuple[BlockDef, ...]) -> dict[str, BlockDef]:
    """The block definitions by name: no layer kind, no second definition, no repeated parameter."""
    blocks: dict[str, BlockDef] = {}
    for block in defs:
        if block.name in ir.LAYERS:
            raise SpecError(
                f"block name '{block.name}' is a layer kind: choose another", block.name_span
            )
        if block.name in blocks:
            first = blocks[block.name].name_span.line
            raise SpecError(
                f"block '{block.name}' is defined twice (first on line {first})", block.name_span
            )
        seen: set[str] = set()
        for param in block.params:
            if param.name in seen:
                raise SpecError(f"parameter '{param.name}' is listed twice", param.span)
            seen.add(param.name)
        blocks[block.name] = block
    return blocks


def bind(block: BlockDef, call: Call) -> dict[str, Value]:
    """The use site's arguments bound to the block's parameters (defaults filled in)."""
    names = [p.name for p in block.params]
    if len(call.positional) > len(names):
        extra = call.positional[len(names)]
        raise SpecError(
            f"{block.name} takes {len(names)} arguments, got {len(call.positional)}", extra.span
        )
    bound: dict[str, Value] = dict(zip(names, call.positional))
    for kw in call.keywords:
        if kw.name not in names:
            hint = did_you_mean(kw.name, names) or f"; its parameters are {', '.join(names)}"
            raise SpecError(f"{block.name} has no parameter '{kw.name}'{hint}", kw.span)
        if kw.name in bound:
            raise SpecError(f"{block.name} got '{kw.name}' twice", kw.span)
        bound[kw.name] = kw.value
    for param in block.params:
        if param.name not in bound:
            if param.default is None:
                raise SpecError(
                    f"{block.name} is missing the required argument '{param.name}'", call.span
                )
            bound[param.name] = param.default
    return bound


def substitute(value: Any, params: dict[str, Value]) -> Any:
    """A value with every name of a block parameter replaced by the bound value."""
    if not params:
        return value
    if isinstance(value, Name) and value.value in params:
        return params[value.value]
    if isinstance(value, Items):
        return replace(value, items=tuple(substitute(v, params) for v in value.items))
    if isinstance(value, Call):
        return replace(
            value,
            positional=tuple(substitute(v, params) for v in value.positional),
            keywords=tuple(
                Keyword(k.name, k.span, substitute(k.value, params)) for k in value.keywords
            ),
        )
    return value


def bound_later(statements: tuple[Statement, ...]) -> dict[str, int]:
    """The names the statements bind, with the line of the first binding."""
    later: dict[str, int] = {}
    for statement in statements:
        if isinstance(statement, LayerStmt) and statement.target is not None:
            later.setdefault(statement.target.value, statement.span.line)
        elif isinstance(statement, InputStmt) and statement.name is not None:
            later.setdefault(statement.name.value, statement.span.line)
    return later
