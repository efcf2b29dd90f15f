"""The target registry: one entry per framework.

A target is a view table `dsl/targets/<name>.py` defining `TARGET`, a template folder
`templates/<name>/` (`module.py.j2`, `layers.j2` with one macro per view), and one line in
`NAMES` below. What it renders is derived from its tables: every IR kind must be in one of
them or in `unsupported` with a reason (tests/test_registry.py names any that is neither).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from nndsl import ir
from nndsl.errors import NndslError, SpecError, did_you_mean
from nndsl.forward import Wants
from nndsl.views import LayerView, Site

NAMES = ("keras", "torch", "tf", "gluon", "flax", "theano", "tfjs")

ViewFn = Callable[[ir.NodeInfo, Site], LayerView]


@dataclass(frozen=True)
class Target:
    """What the code generator needs to know about one framework.

    layers: kind -> view function; losses and optimizers: kind -> the target's own entry;
    context: extra template variables; reserved: module-level names a local variable of the
    forward pass must not shadow; wants: the layout each node computes in (channels-first
    targets); unsupported: kind -> why the target cannot render it. runtime: "python" for
    modules with the Python module API (build_model, train, ...); any other runtime (the
    tfjs target's "node") has its own API and CLI, so the Python-module test suites and
    `nndsl compare` leave it out (see `python_targets`), and its tests run that runtime.
    """

    name: str
    framework: str
    description: str
    layers: Mapping[str, ViewFn]
    losses: Mapping[str, Any]
    optimizers: Mapping[str, Any]
    context: Callable[..., dict[str, Any]]
    reserved: frozenset[str] = frozenset()
    wants: Wants | None = None
    unsupported: Mapping[str, str] = field(default_factory=dict)
    extension: str = ".py"
    requires: tuple[str, ...] = ()  # other top-level packages its modules import
    support: bool = False  # a shared `_<name>_support<ext>` from `<name>/support<ext>.j2`
    runtime: str = "python"

    @property
    def template(self) -> str:
        return f"{self.name}/module{self.extension}.j2"

    @property
    def trains(self) -> bool:
        """Whether its modules have the Python API that trains (train, train_step)."""
        return self.runtime == "python"

    @property
    def support_module(self) -> str | None:
        """The stem of the package's shared module for this target, if it has one."""
        return f"_{self.name}_support" if self.support else None

    @property
    def imports(self) -> frozenset[str]:
        """The top-level packages a generated module may import besides the stdlib."""
        return frozenset({"numpy", self.framework, *self.requires})

    @property
    def kinds(self) -> frozenset[str]:
        """Every IR kind this target renders."""
        generic = {*ir.INPUTS, *ir.DATASETS}
        return frozenset({*self.layers, *self.losses, *self.optimizers, *generic})


@cache
def registry() -> dict[str, Target]:
    """All targets by name, in a fixed order."""
    return {name: importlib.import_module(f"nndsl.targets.{name}").TARGET for name in NAMES}


def python_targets() -> dict[str, Target]:
    """The targets whose modules have the Python module API (what compare trains)."""
    return {name: t for name, t in registry().items() if t.runtime == "python"}


def get(name: str) -> Target:
    """Look a target up by name, with a closest-match hint on a miss."""
    targets = registry()
    if name not in targets:
        hint = did_you_mean(name, targets)
        raise NndslError(f"unknown target '{name}'{hint}; choose from {', '.join(targets)} or all")
    return targets[name]


def select(names: str) -> list[Target]:
    """Parse `all` or a comma-separated list of target names."""
    if names == "all":
        return list(registry().values())
    chosen = [get(n.strip()) for n in names.split(",") if n.strip()]
    if not chosen:
        raise NndslError("no target named: use a name such as torch, or all")
    return chosen


def check_supported(target: Target, program: ir.Program) -> None:
    """Raise SpecError at the first node of `program` that `target` cannot render."""
    spec = program.spec
    nodes: list[ir.Node] = [*(i.type for i in spec.model.inputs), *(n.op for n in program.nodes)]
    for node in program.nodes:
        for value in node.op.__dict__.values():
            if isinstance(value, ir.Node):
                nodes.append(value)
    if spec.train is not None:
        nodes += [spec.train.dataset, spec.train.loss, spec.train.optimizer]
    for node in nodes:
        reason = target.unsupported.get(node.kind)
        if reason is not None or node.kind not in target.kinds:
            why = reason or "not implemented"
            raise SpecError(f"target {target.name} does not support {node.kind}: {why}", node.span)
