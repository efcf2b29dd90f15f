"""The target registry: one entry per framework.

A target is a view table `dsl/targets/<name>.py` defining `TARGET`, a template folder
`templates/<name>/`, and one line in `_NAMES` below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from nndsl import ir
from nndsl.errors import DslError, did_you_mean

_NAMES = ("keras", "torch", "tf", "gluon")


@dataclass(frozen=True)
class Target:
    """What the code generator needs to know about one framework."""

    name: str
    framework: str  # the top-level package the generated module imports
    description: str
    context: Callable[[ir.Program], dict[str, Any]]  # extra template variables
    kinds: frozenset[str]  # IR kinds this target renders
    unsupported: Mapping[str, str] = field(default_factory=dict)  # kind -> reason

    @property
    def template(self) -> str:
        return f"{self.name}/module.py.j2"


@cache
def registry() -> dict[str, Target]:
    """All targets by name, in a fixed order."""
    return {name: importlib.import_module(f"nndsl.targets.{name}").TARGET for name in _NAMES}


def get(name: str) -> Target:
    """Look a target up by name, with a closest-match hint on a miss."""
    targets = registry()
    if name not in targets:
        hint = did_you_mean(name, targets)
        raise DslError(f"unknown target '{name}'{hint}; choose from {', '.join(targets)} or all")
    return targets[name]


def select(names: str) -> list[Target]:
    """Parse `all` or a comma-separated list of target names."""
    if names == "all":
        return list(registry().values())
    return [get(n.strip()) for n in names.split(",") if n.strip()]


def ir_kinds() -> set[str]:
    """Every kind a target must render or list as unsupported."""
    catalogues = (ir.LAYERS, ir.INPUTS, ir.DATASETS, ir.LOSSES, ir.OPTIMIZERS)
    return {kind for catalogue in catalogues for kind in catalogue}


def check_supported(target: Target, program: ir.Program) -> None:
    """Raise DslError at the first node of `program` that `target` cannot render."""
    spec = program.spec
    nodes: list[ir.Node] = [spec.model.input, *(layer.op for layer in program.layers)]
    for layer in program.layers:
        activation = getattr(layer.op, "activation", None)
        if activation is not None:
            nodes.append(activation)
    if spec.train is not None:
        nodes += [spec.train.dataset, spec.train.loss, spec.train.optimizer]
    for node in nodes:
        reason = target.unsupported.get(node.kind)
        if reason is not None or node.kind not in target.kinds:
            why = reason or "not implemented"
            raise DslError(f"target {target.name} does not support {node.kind}: {why}", node.span)
