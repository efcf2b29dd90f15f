"""The base of every IR class: frozen Pydantic nodes that register themselves by kind.

A concrete class declares `kind: Literal["name"] = "name"`; defining it adds it to the
catalogue of its category (the `category` of its base), so the catalogues below are the one
list of kinds. A kind is the name written in a spec, the key of every table keyed by kind
(inference rules, target views, reference functions) and the name of the macro that renders it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from nndsl.errors import Span

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, lt=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
Padding = Literal["valid", "same"]
Initializer = Literal[
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "orthogonal", "zeros", "ones"
]

# category -> kind -> class, filled as classes are defined
CATALOGUES: dict[str, dict[str, type[Node]]] = {}


class ArgError(ValueError):
    """A validation error that belongs to one argument: the parser points its caret there.

    `message` reads after the call's name, e.g. `conv2d` + `kernel needs 2 values, got 3`.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class Node(BaseModel):
    """Base of every IR node: frozen, no unknown fields, a source span.

    `positional` names the fields a spec may pass without `name=`, in order; `category` is
    the catalogue a concrete subclass joins.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    positional: ClassVar[tuple[str, ...]] = ()
    category: ClassVar[str] = ""
    span: Span | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("kind")
        if field is not None and isinstance(field.default, str) and cls.category:
            CATALOGUES.setdefault(cls.category, {})[field.default] = cls

    @property
    def arguments(self) -> dict[str, Any]:
        """The node's semantic fields (no kind, no span), nested nodes as dicts."""
        return self.model_dump(exclude={"span", "kind"})


def catalogue(category: str) -> dict[str, type[Node]]:
    """Every registered kind of a category, in definition order."""
    return CATALOGUES.setdefault(category, {})


def union_of(classes: Iterable[type[Node]]) -> Any:
    """The discriminated union of IR classes: the type of a field that takes one of a
    catalogue's kinds (an activation, a wrapped layer)."""
    members = tuple(classes)
    return Annotated[Union[members], Field(discriminator="kind")]  # noqa: UP007


def widen_tuples(data: object, rank: int, fields: dict[str, str | int]) -> object:
    """Turn `kernel=3` into `(3, 3)` for a rank-2 layer and fill tuple defaults.

    `fields` maps each tuple field to its default: an int repeated `rank` times, or the
    name of another field to copy (a pool's stride defaults to its size).
    """
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for field, default in fields.items():
        value = out.get(field)
        if value is None:
            value = out.get(default) if isinstance(default, str) else default or None
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,) * rank
        if isinstance(value, (list, tuple)) and len(value) != rank:
            many = "1 value" if rank == 1 else f"one number or {rank} values"
            raise ArgError(field, f"{field} needs {many}, got {len(value)}")
        if value is not None:
            out[field] = value
    return out
