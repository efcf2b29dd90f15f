"""The forward pass every target renders: steps in topological order, with layouts and names.

Channels-first frameworks (torch, Gluon) declare per node which layout it computes in;
`plan` inserts a transpose wherever a tensor is needed in the other layout (once per tensor
and layout). `variables` then gives every tensor a local variable name: the spec's own name
where it has one, else the name of an input that dies at that step, else `x`, `h`, `h2`...
so a plain stack reads `x = ...` all the way down, as an expert writes it.
"""

from __future__ import annotations

import builtins
import itertools
import keyword
from collections.abc import Callable
from dataclasses import dataclass

from nndsl import ir
from nndsl.views import Site

FIRST, LAST, ANY = "first", "last", "any"
Wants = Callable[[ir.NodeInfo], str]


@dataclass(frozen=True)
class Step:
    """One node (or, with node None, a transpose) reading tensors and writing one."""

    node: ir.NodeInfo | None
    inputs: tuple[str, ...]
    output: str
    channels_first: bool = False
    axes: tuple[int, ...] = ()


@dataclass(frozen=True)
class Forward:
    """The planned forward pass: steps with their sites, and the variables of the model's
    inputs and outputs."""

    steps: tuple[tuple[Step, Site], ...]
    inputs: tuple[tuple[ir.InputInfo, str], ...]
    outputs: tuple[str, ...]


def to_first(rank: int) -> tuple[int, ...]:
    """Transpose axes (batch, *spatial, C) -> (batch, C, *spatial) for a canonical rank."""
    return (0, rank, *range(1, rank))


def to_last(rank: int) -> tuple[int, ...]:
    """Transpose axes (batch, C, *spatial) -> (batch, *spatial, C)."""
    return (0, *range(2, rank + 1), 1)


def _plan(program: ir.Program, wants: Wants | None) -> tuple[list[Step], list[str]]:
    shapes = {i.name: i.shape for i in program.inputs}
    stored = {i.name: LAST for i in program.inputs}
    copies: dict[tuple[str, str], str] = {}
    steps: list[Step] = []

    def version(tensor: str, layout: str) -> str:
        rank = len(shapes[tensor])
        if rank < 2 or stored[tensor] == layout:
            return tensor
        key = (tensor, layout)
        if key not in copies:
            copy = f"{tensor}@{layout}"
            axes = to_first(rank) if layout == FIRST else to_last(rank)
            steps.append(Step(None, (tensor,), copy, layout == LAST, axes))
            shapes[copy], stored[copy] = shapes[tensor], layout
            copies[key] = copy
        return copies[key]

    for node in program.nodes:
        want = wants(node) if wants else LAST
        first = node.inputs[0]
        if want == ANY:
            want = stored[first] if len(shapes[first]) >= 2 else LAST
        inputs = tuple(version(t, want) for t in node.inputs)
        steps.append(Step(node, inputs, node.name, want == FIRST))
        shapes[node.name] = node.output_shape
        stored[node.name] = want if len(node.output_shape) >= 2 else LAST
    outputs = [version(o.name, LAST) for o in program.outputs]
    return steps, outputs


def _clean(name: str, reserved: set[str]) -> str:
    """A spec name usable as a local: reserved names, capitals and `_` get a trailing `_`."""
    while name in reserved or not name[:1].islower():
        if not name[:1].isalpha():
            name = "t" + name
        name += "_"
        if name[:1].isupper():
            name = name.lower()
    return name


def _variables(
    program: ir.Program, steps: list[Step], outputs: list[str], reserved: set[str]
) -> dict[str, str]:
    last_use: dict[str, int] = {}
    for index, step in enumerate(steps):
        for tensor in step.inputs:
            last_use[tensor] = index
    for tensor in outputs:
        last_use[tensor] = len(steps)
    live: dict[str, str] = {}  # variable -> tensor
    var: dict[str, str] = {}
    single = len(program.inputs) == 1 and program.inputs[0].name == "input"
    for info in program.inputs:
        var[info.name] = "x" if single else _clean(info.name, reserved)
        live[var[info.name]] = info.name
    for index, step in enumerate(steps):
        dying = {t for t in step.inputs if last_use.get(t, -1) <= index}
        candidates = []
        if step.node is not None and step.node.var:
            candidates.append(_clean(step.node.var, reserved))
        if step.node is not None and isinstance(step.node.op, ir.MergeOp):
            candidates.append("x")
        if step.inputs and step.inputs[0] in dying:
            candidates.append(var[step.inputs[0]])
        if step.node is None:
            candidates.append(var[step.inputs[0]] + "_t")
        fresh = (f"h{i}" for i in itertools.count(2))
        for name in itertools.chain(candidates, ["x", "h"], fresh):
            holder = live.get(name)
            if name not in reserved and (holder is None or holder in dying):
                break
        for tensor in dying:
            live.pop(var[tensor], None)
        live[name] = step.output
        var[step.output] = name
    return var


def plan(program: ir.Program, reserved: set[str], wants: Wants | None = None) -> Forward:
    """The forward pass of `program`: each step with the variables it reads and writes."""
    steps, outputs = _plan(program, wants)
    taken = reserved | set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}
    var = _variables(program, steps, outputs, taken)
    sited = tuple(
        (step, Site(tuple(var[t] for t in step.inputs), var[step.output], step.channels_first))
        for step in steps
    )
    return Forward(
        steps=sited,
        inputs=tuple((info, var[info.name]) for info in program.inputs),
        outputs=tuple(var[t] for t in outputs),
    )
