"""The spec as a graph (what the parser builds) and the analysed Program (what targets render).

Tensors are named: a model input by its declared name, every other tensor by the name of the
node that computes it. Blocks are expanded before this point: a node inside a block instance
is named `<block>_<i>_<kind>_<n>` and carries the use sites of its blocks in `trace`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from nndsl.errors import Span
from nndsl.ir import graph_ops, layers, training  # noqa: F401  (every kind registered first)
from nndsl.ir.base import Node, catalogue, union_of
from nndsl.ir.training import Train

LAYERS = {**catalogue("layer"), **catalogue("activation"), **catalogue("recurrent")}
INPUTS = catalogue("input")
Layer = union_of(LAYERS.values())
InputType = union_of(INPUTS.values())

Shape = tuple[int, ...]


class InputDecl(Node):
    """`input NAME = image(28, 28, 1)`; an unnamed input is called `input`."""

    name: str
    type: InputType


class GraphNode(Node):
    """One layer applied to named tensors.

    `var` is the tensor name the spec bound the result to (a hint for readable generated
    code); `trace` holds (block, use site) of the blocks it was expanded from, outermost
    first.
    """

    name: str
    op: Layer
    inputs: tuple[str, ...]
    var: str | None = None
    trace: tuple[tuple[str, Span], ...] = ()
    block: str = ""  # the outermost block instance it belongs to, e.g. `basic_1`


class Model(Node):
    """The network: named inputs, nodes in topological (statement) order, named outputs."""

    name: str
    inputs: tuple[InputDecl, ...]
    nodes: tuple[GraphNode, ...]
    outputs: tuple[str, ...]


class Spec(Node):
    """A parsed spec file: one model and an optional train section."""

    model: Model
    train: Train | None = None


# --- the analysed program (output of nndsl.infer) ---


# What the IR's initialisers mean (Keras' definitions): "uniform" (embedding tables) draws
# from U(-EMBEDDING_UNIFORM_LIMIT, EMBEDDING_UNIFORM_LIMIT); glorot_normal/he_normal draw from
# a normal truncated at 2 standard deviations, whose stddev is divided by
# TRUNCATED_NORMAL_STDDEV (the stddev of a unit normal truncated at +-2) to keep the variance;
# "orthogonal" is a uniformly random orthogonal matrix of the kernel's 2-D shape (gain 1).
EMBEDDING_UNIFORM_LIMIT = 0.05
TRUNCATED_NORMAL_STDDEV = 0.87962566103423978


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Weight(_Frozen):
    """One parameter array in the canonical layout (channels-last, HWIO, (in, out))."""

    name: str
    shape: Shape
    trainable: bool
    initializer: str

    @property
    def param(self) -> str:
        """The parameter's own name: `conv2d_1.kernel` -> `kernel`."""
        return self.name.rsplit(".", 1)[1]

    @property
    def size(self) -> int:
        size = 1
        for dim in self.shape:
            size *= dim
        return size

    @property
    def fans(self) -> tuple[int, int]:
        """(fan_in, fan_out) as Keras counts them: a kernel's spatial size multiplies both."""
        if len(self.shape) == 1:
            return self.shape[0], self.shape[0]
        receptive = 1
        for dim in self.shape[:-2]:
            receptive *= dim
        return self.shape[-2] * receptive, self.shape[-1] * receptive


class NodeInfo(_Frozen):
    """A node with its inferred shapes and canonical weights.

    `padding` is, per spatial axis, the (before, after) padding of a window op (TF's `same`
    rule) or of zero_padding2d, or for conv2d_transpose the (before, after) crop of its full
    result (a negative after: cells appended). `block` is the outermost block instance the
    node was expanded from (empty at the top level).
    """

    name: str
    op: Layer
    inputs: tuple[str, ...]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    weights: tuple[Weight, ...] = ()
    padding: tuple[tuple[int, int], ...] = ()
    var: str | None = None
    block: str = ""

    @property
    def input_shape(self) -> Shape:
        return self.input_shapes[0]

    @property
    def trainable_params(self) -> int:
        return sum(w.size for w in self.weights if w.trainable)

    @property
    def non_trainable_params(self) -> int:
        return sum(w.size for w in self.weights if not w.trainable)


class InputInfo(_Frozen):
    """A model input: its tensor name, type kind, canonical shape and dtype."""

    name: str
    kind: str
    shape: Shape
    dtype: Literal["float32", "int64"]


class OutputInfo(_Frozen):
    """A model output: the tensor computing logits and the activation moved out of the net."""

    name: str
    shape: Shape
    activation: Literal["linear", "softmax", "sigmoid"]


class Program(_Frozen):
    """A spec after shape inference: what every target renders.

    Nodes compute logits: a final softmax/sigmoid of an output is moved to its
    `OutputInfo.activation`, and `loss_from_logits` says whether the loss takes the logits
    directly (cross-entropies) or the activated outputs (mse, mae).
    """

    source: str
    spec: Spec
    inputs: tuple[InputInfo, ...]
    nodes: tuple[NodeInfo, ...]
    outputs: tuple[OutputInfo, ...]
    loss_from_logits: bool

    @property
    def name(self) -> str:
        return self.spec.model.name

    @property
    def train(self) -> Train | None:
        return self.spec.train

    @property
    def input_shape(self) -> Shape:
        """The shape of the first input (the only one in most models)."""
        return self.inputs[0].shape

    @property
    def output_shape(self) -> Shape:
        """The shape of the first output (the only one in most models)."""
        return self.outputs[0].shape

    @property
    def output_activation(self) -> str:
        return self.outputs[0].activation

    @property
    def is_chain(self) -> bool:
        """One input, one output, and every node consumes exactly the one before it."""
        previous = self.inputs[0].name
        for node in self.nodes:
            if node.inputs != (previous,):
                return False
            previous = node.name
        return len(self.inputs) == 1 and self.outputs[0].name == previous

    @property
    def weights(self) -> tuple[Weight, ...]:
        return tuple(w for node in self.nodes for w in node.weights)

    @property
    def trainable_params(self) -> int:
        return sum(node.trainable_params for node in self.nodes)

    @property
    def non_trainable_params(self) -> int:
        return sum(node.non_trainable_params for node in self.nodes)

    def shape_of(self, tensor: str) -> Shape:
        """The canonical shape of a named tensor (an input or a node's output)."""
        for info in self.inputs:
            if info.name == tensor:
                return info.shape
        for node in self.nodes:
            if node.name == tensor:
                return node.output_shape
        raise KeyError(tensor)

    def consumers(self) -> dict[str, list[NodeInfo]]:
        """Tensor name -> the nodes reading it, in order."""
        out: dict[str, list[NodeInfo]] = {}
        for node in self.nodes:
            for name in node.inputs:
                out.setdefault(name, []).append(node)
        return out
