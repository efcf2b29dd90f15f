"""The typed IR: one frozen Pydantic class per concept of the language.

Each class's `kind` is the name written in a spec, the key of its catalogue and of every
table keyed by kind (inference rules, target views, reference functions). Every default that
changes the math is a field default, so it is written into the IR and never left to a
framework. Defining a class registers its kind: the catalogues below are the one list.
"""

from nndsl.ir.base import (
    CATALOGUES,
    ArgError,
    Initializer,
    Node,
    catalogue,
)
from nndsl.ir.graph import (
    EMBEDDING_UNIFORM_LIMIT,
    INPUTS,
    LAYERS,
    TRUNCATED_NORMAL_STDDEV,
    GraphNode,
    InputDecl,
    InputInfo,
    Model,
    NodeInfo,
    OutputInfo,
    Program,
    Shape,
    Spec,
    Weight,
)
from nndsl.ir.graph_ops import *  # noqa: F403
from nndsl.ir.graph_ops import RECURRENT, MergeOp, _Recurrent
from nndsl.ir.layers import *  # noqa: F403
from nndsl.ir.layers import ACTIVATIONS, ActivationOp, Op, _Conv, _GlobalPool, _Kernel, _Pool
from nndsl.ir.training import *  # noqa: F403
from nndsl.ir.training import DATASETS, LOSSES, METRICS, OPTIMIZERS, InputType, _Loss

# every kind a target renders or lists as unsupported, by catalogue
KIND_CATALOGUES = {
    "layer": LAYERS,
    "input": INPUTS,
    "dataset": DATASETS,
    "loss": LOSSES,
    "optimizer": OPTIMIZERS,
}


def all_kinds() -> set[str]:
    """Every kind of every catalogue."""
    return {kind for table in KIND_CATALOGUES.values() for kind in table}


__all__ = [
    "ACTIVATIONS",
    "CATALOGUES",
    "DATASETS",
    "EMBEDDING_UNIFORM_LIMIT",
    "INPUTS",
    "KIND_CATALOGUES",
    "LAYERS",
    "LOSSES",
    "METRICS",
    "OPTIMIZERS",
    "RECURRENT",
    "TRUNCATED_NORMAL_STDDEV",
    "ActivationOp",
    "ArgError",
    "GraphNode",
    "Initializer",
    "InputDecl",
    "InputInfo",
    "InputType",
    "MergeOp",
    "Model",
    "Node",
    "NodeInfo",
    "Op",
    "OutputInfo",
    "Program",
    "Shape",
    "Spec",
    "Weight",
    "_Conv",
    "_GlobalPool",
    "_Kernel",
    "_Loss",
    "_Pool",
    "_Recurrent",
    "all_kinds",
    "catalogue",
]
