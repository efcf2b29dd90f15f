"""Typing one call (`conv2d(32, 3, padding=same)`) as the IR class its name selects.

Arguments are matched to fields by position (the class's `positional`) or name; pydantic
validates them, and its errors become one message pointing at the argument written.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import ValidationError

from nndsl import ir
from nndsl.errors import Span, SpecError, did_you_mean
from nndsl.syntax_tree import Call, Items, Literal, Name, Value

# field name -> the word used for it in messages (and in EXAMPLES)
NESTED_WORDS = {"layer": "recurrent layer"}


def nested_catalogue(cls: type[ir.Node], field: str) -> dict[str, type[ir.Node]] | None:
    """For a field typed as a union of IR nodes (an activation, a wrapped layer), the
    catalogue of the kinds it accepts; None for plain values."""
    info = cls.model_fields.get(field)
    if info is None:
        return None
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = typing.get_args(annotation) or (annotation,)
    kinds = {
        member.model_fields["kind"].default: member
        for member in members
        if isinstance(member, type)
        and issubclass(member, ir.Node)
        and "kind" in member.model_fields
    }
    return kinds or None


EXAMPLES = {
    "layer": "dense(10)",
    "recurrent layer": "lstm(64)",
    "input": "image(28, 28, 1)",
    "activation": "relu or leaky_relu(0.1)",
    "dataset": "mnist",
    "loss": "categorical_crossentropy",
    "optimizer": "adam(0.001)",
}
_ORDINALS = ("1st", "2nd", "3rd")


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _ordinal(index: int) -> str:
    return _ORDINALS[index] if index < len(_ORDINALS) else f"{index + 1}th"


def _python(value: Value, nested: dict[str, type[ir.Node]] | None, owner: str, arg: str) -> Any:
    """Turn a written value into the Python value a field gets."""
    if nested is not None:
        what = NESTED_WORDS.get(arg, arg)
        if isinstance(value, (Name, Call)):
            return resolve(value, nested, what)
        raise SpecError(
            f"{owner} {arg} must be {_article(what)} such as {EXAMPLES[what]},"
            f" got {_text(value)}",
            value.span,
        )
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, Items):
        return tuple(_python(v, None, owner, arg) for v in value.items)
    if isinstance(value, Name):
        return value.value
    raise SpecError(f"{owner} {arg} cannot be a call, got {_text(value)}", value.span)


def resolve(value: Value, catalogue: dict[str, type[ir.Node]], what: str) -> ir.Node:
    """Type a call (or bare name) as the IR class its name selects."""
    if isinstance(value, Name):
        value = Call(value.span, value.value, value.span)
    if not isinstance(value, Call):
        example = EXAMPLES.get(what, "")
        raise SpecError(
            f"{what} must be {_article(what)} name such as {example}, got {_text(value)}",
            value.span,
        )
    cls = catalogue.get(value.name)
    if cls is None:
        hint = did_you_mean(value.name, catalogue)
        if not hint and len(catalogue) <= 10:
            hint = f"; choose from {', '.join(catalogue)}"
        raise SpecError(f"unknown {what} '{value.name}'{hint}", value.name_span)
    name = value.name
    fields = [f for f in cls.model_fields if f not in ("kind", "span")]
    if len(value.positional) > len(cls.positional):
        extra = value.positional[len(cls.positional)]
        if not fields:
            message = f"{name} takes no arguments"
        elif not cls.positional:
            message = f"{name} takes no positional arguments: write name=value"
        else:
            allowed = ", ".join(cls.positional)
            message = (
                f"{name} takes {_plural(len(cls.positional), 'positional argument')}"
                f" ({allowed}), got {len(value.positional)}: write the others as name=value"
            )
        raise SpecError(message, extra.span)
    data: dict[str, Any] = {}
    written: dict[str, Value] = {}
    named = [(n, v.span, v, i) for i, (n, v) in enumerate(zip(cls.positional, value.positional))]
    named += [(k.name, k.span, k.value, None) for k in value.keywords]
    first_positional: dict[str, int] = {}
    for arg, span, arg_value, index in named:
        if arg not in fields:
            hint = did_you_mean(arg, fields)
            if not hint:
                hint = f"; its arguments are {', '.join(fields)}" if fields else ""
            raise SpecError(f"{name} has no argument '{arg}'{hint}", span)
        if arg in data:
            also = ""
            if arg in first_positional:
                also = f": it is also the {_ordinal(first_positional[arg])} positional argument"
            raise SpecError(f"{name} got '{arg}' twice{also}", span)
        if index is not None:
            first_positional[arg] = index
        data[arg] = _python(arg_value, nested_catalogue(cls, arg), name, arg)
        written[arg] = arg_value
    try:
        return cls.model_validate({**data, "span": value.span})
    except ValidationError as err:
        raise _validation_error(err, cls, name, written, value.span) from None


def _choices(cls: type[ir.Node], field: str) -> tuple[Any, ...]:
    info = cls.model_fields.get(field)
    if info is None:
        return ()
    args = typing.get_args(info.annotation)
    return args if all(isinstance(a, (str, int)) for a in args) else ()


def _explain(error: Any, cls: type[ir.Node], field: str) -> str:
    """pydantic's error type, as a phrase that follows `<call> <argument>`."""
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false"
    if kind == "string_type":
        return 'must be a string in double quotes, e.g. "data/train.csv"'
    if kind in ("tuple_type", "list_type"):
        rank = getattr(cls, "rank", None)
        if field in ("kernel", "stride", "dilation", "size") and rank is not None:
            return "must be a whole number or a tuple of them"
        return "must be a tuple of whole numbers, e.g. (7, 7, 16)"
    if kind == "greater_than":
        return f"must be greater than {_number(ctx['gt'])}"
    if kind == "greater_than_equal":
        return f"must be at least {_number(ctx['ge'])}"
    if kind == "less_than":
        return f"must be less than {_number(ctx['lt'])}"
    if kind == "less_than_equal":
        return f"must be at most {_number(ctx['le'])}"
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "literal_error":
        choices = [str(c) for c in _choices(cls, field)]
        if len(choices) == 1:
            return f"must be {choices[0]}"
        if len(choices) == 2:
            return f"must be {choices[0]} or {choices[1]}"
        return f"must be one of {', '.join(choices)}"
    message = str(error.get("msg", "is not valid"))
    message = message.removeprefix("Value error, ").replace("Input should", "should")
    return message[:1].lower() + message[1:]


def _number(value: Any) -> str:
    """`1.0` as a reader writes it: `1`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _item(value: Value | None, path: list[Any]) -> Value | None:
    """The written value at `path` inside lists and tuples, if it is there."""
    for step in path:
        if not (isinstance(value, Items) and isinstance(step, int) and step < len(value.items)):
            return None
        value = value.items[step]
    return value


def _validation_error(
    err: ValidationError,
    cls: type[ir.Node],
    owner: str,
    written: dict[str, Value],
    span: Span,
) -> SpecError:
    first = err.errors()[0]
    loc = list(first["loc"])
    cause = first.get("ctx", {}).get("error")
    prefix = f"{owner} " if owner else ""
    if isinstance(cause, ir.ArgError):
        arg_value = written.get(cause.field)
        return SpecError(f"{prefix}{cause.message}", arg_value.span if arg_value else span)
    if not loc:
        return SpecError(f"{prefix}{_explain(first, cls, '')}".strip(), span)
    field = str(loc[0])
    if first["type"] == "missing":
        return SpecError(f"{prefix}is missing the required argument '{field}'", span)
    arg_value = written.get(field)
    item = _item(arg_value, loc[1:])
    what = field if item is arg_value else f"{field} values"
    message = f"{prefix}{what} {_explain(first, cls, field)}"
    if item is not None:
        message += f", got {_text(item)}"
        if first["type"] == "literal_error" and isinstance(item, Name):
            message += did_you_mean(item.value, [str(c) for c in _choices(cls, field)])
    return SpecError(message, item.span if item is not None else span)


def _text(value: Value) -> str:
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, Name):
        return value.value
    if isinstance(value, Call):
        return f"{value.name}(...)"
    inner = ", ".join(_text(v) for v in value.items)
    if value.brackets == "[]":
        return f"[{inner}]"
    return f"({inner},)" if len(value.items) == 1 else f"({inner})"
