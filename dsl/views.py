"""The view types every target shares: what a target's table hands its templates.

A target module (nndsl/targets/<name>.py) turns IR nodes into these small frozen objects;
its templates only place them. One vocabulary across targets: a layer is a `LayerView`
(rendered by the macro it names in `<target>/layers.j2`), a framework call is a `Call`, a
canonical array is a `WeightView`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """`fn(<first>, *args, **kwargs)`; args and kwargs are rendered with `lit`/`kwargs`."""

    fn: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.fn, self.args, tuple(sorted(self.kwargs.items()))))


@dataclass(frozen=True)
class Site:
    """Where a step's values live: the local variables it reads and the one it writes, and
    whether its inputs are channels-first (NCHW/NCL) in a target that uses that layout."""

    inputs: tuple[str, ...]
    output: str
    channels_first: bool = False

    @property
    def x(self) -> str:
        """The first (usually only) input variable."""
        return self.inputs[0]


@dataclass(frozen=True)
class LayerView:
    """One step of the forward pass.

    macro: the macro of `<target>/layers.j2` that renders it (an IR kind, or a shared one
    such as `conv` for conv1d/conv2d). name: the node's name (attribute or layer name, and
    the prefix of its canonical weights). build: the constructor of the framework's layer
    object, if it has one. activation: applied to the result. args: whatever else the
    macro needs (paddings, axes, shapes), computed in the target module.
    """

    macro: str
    name: str
    site: Site
    build: Call | None = None
    activation: Call | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WeightView:
    """A canonical array and where it lives in the framework's model.

    key: the framework's name for it (state_dict key, variable path, parameter name), or
    one name per row of axis 0 where the framework keeps the rows apart.
    From the canonical array to the framework's: transpose by `axes`, reorder the blocks of
    axis 0 by `gates` (recurrent gate order; empty when the order is the same), reshape to
    `framework_shape`.
    """

    name: str
    shape: tuple[int, ...]
    key: str | tuple[str, ...]
    axes: tuple[int, ...]
    gates: tuple[int, ...] = ()
    framework_shape: tuple[int, ...] = ()

    @property
    def plain(self) -> bool:
        """Whether a transpose alone converts it."""
        transposed = tuple(self.shape[a] for a in self.axes)
        same = not self.framework_shape or self.framework_shape == transposed
        return isinstance(self.key, str) and not self.gates and same
