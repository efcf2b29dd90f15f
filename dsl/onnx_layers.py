"""The ONNX nodes of each layer kind (opset 17): one builder per kind, used by onnx_export.

A builder takes a `Layer` (the node, its canonical arrays, the layout its inputs are in)
and the names of its input tensors, emits ONNX nodes through `Layer.op`, and returns the
tensor holding the result; onnx_export.Graph.finish then names that tensor and its node after the IR
node. Layouts come from nndsl.forward's plan with the channels-first targets' `wants`:
Conv, ConvTranspose, the pools, Pad, Resize and BatchNormalization run in NCHW / NCL, the
rest where the plan puts them. Kernels are converted with channels_first.weight_layout;
recurrent gates are reordered from Keras' i,f,c,o / z,r,h to ONNX's i,o,f,c / z,r,h.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nndsl import ir
from nndsl.reference_activations import SELU_ALPHA, SELU_SCALE
from nndsl.targets.channels_first import channels_axis, concat_axis, weight_layout

if TYPE_CHECKING:
    from nndsl.onnx_export import Graph

OPSET = 17

# Keras' gate blocks -> ONNX's: LSTM i,f,c,o -> i,o,f,c; GRU z,r,h is already ONNX's order
ONNX_GATES = {"lstm": (0, 3, 1, 2), "gru": (0, 1, 2), "simple_rnn": (0,)}
ONNX_RECURRENT = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "RNN"}
CONVERTED = ".onnx"  # the suffix of an initializer holding a canonical array in ONNX's layout


@dataclass
class Layer:
    """One IR node being built: `params` maps a parameter name ("kernel") to its float32
    canonical array; `first` says whether the inputs are channels-first."""

    graph: Graph
    node: ir.NodeInfo
    params: dict[str, np.ndarray]
    first: bool

    @property
    def name(self) -> str:
        return self.node.name

    def op(
        self,
        op_type: str,
        inputs: list[str],
        step: str = "",
        outputs: tuple[str, ...] | None = None,
        **attrs,
    ):
        """Emit a helper node `<node>/<step>` and return its output tensor, named alike; with
        `outputs`, one tensor `<node>/<step>:<output>` per name ("" for an unused output)."""
        base = self.graph.fresh(f"{self.name}/{step or op_type.lower()}")
        names = [base] if outputs is None else [f"{base}:{o}" if o else "" for o in outputs]
        while names and not names[-1]:
            names.pop()
        self.graph.names.update(n for n in names if n)
        self.graph.node(op_type, inputs, names, name=base, **attrs)
        return names[0] if outputs is None else names

    def const(self, what: str, values, dtype=np.float32) -> str:
        """A constant that is no weight (a shape, pads, a scalar): `<node>/<what>`."""
        return self.graph.initializer(f"{self.name}/{what}", np.asarray(values, dtype=dtype))

    def weight(self, param: str, array: np.ndarray | None = None) -> str:
        """A canonical array: `<node>.<param>` when stored as is, `<node>.<param>.onnx` when
        `array` is its conversion to the ONNX operator's layout."""
        if array is None:
            return self.graph.initializer(f"{self.name}.{param}", self.params[param])
        return self.graph.initializer(f"{self.name}.{param}{CONVERTED}", array)

    def kernel(self, param: str) -> str:
        """A conv kernel in ONNX's layout (OIHW / OIW; IOHW for conv2d_transpose)."""
        weight = next(w for w in self.node.weights if w.param == param)
        axes, _, shape = weight_layout(self.node, weight)
        return self.weight(param, self.params[param].transpose(axes).reshape(shape))

    def shape(self, tensor: str, shape: tuple[int, ...]) -> str:
        """Reshape a batch to (batch, *shape)."""
        return self.op("Reshape", [tensor, self.const("shape", (0, *shape), np.int64)])

    def bias_and_activation(self, y: str) -> str:
        if "bias" in self.params:
            y = self.op("Add", [y, self.weight("bias")], "bias")
        return activate(self, self.node.op.activation, y)


# --- activations ---

_PLAIN = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def _gelu(layer: Layer, x: str, approximate: bool) -> str:
    """0.5·x·(1 + erf(x/√2)), or with `approximate` 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    (opset 17 has no Gelu operator)."""
    if approximate:
        cube = layer.op("Mul", [layer.op("Mul", [x, x], "square"), x], "cube")
        inner = layer.op("Add", [x, layer.op("Mul", [cube, layer.const("cubic", 0.044715)])])
        scaled = layer.op("Mul", [inner, layer.const("sqrt_2_over_pi", math.sqrt(2.0 / math.pi))])
        curve = layer.op("Tanh", [scaled])
    else:
        curve = layer.op("Erf", [layer.op("Div", [x, layer.const("sqrt2", math.sqrt(2.0))])])
    one_plus = layer.op("Add", [curve, layer.const("one", 1.0)])
    return layer.op("Mul", [layer.op("Mul", [x, one_plus]), layer.const("half", 0.5)])


def activate(layer: Layer, op: ir.ActivationOp, x: str) -> str:
    """Apply an activation (softmax over the channels axis of the current layout)."""
    kind = op.kind
    if kind == "linear":
        return x
    if kind in _PLAIN:
        return layer.op(_PLAIN[kind], [x])
    if kind == "relu6":
        return layer.op("Clip", [x, layer.const("min", 0.0), layer.const("max", 6.0)], "relu6")
    if kind == "softmax":
        axis = channels_axis(layer.first, layer.node.output_shape)
        return layer.op("Softmax", [x], axis=axis)
    if kind == "leaky_relu":
        return layer.op("LeakyRelu", [x], alpha=op.negative_slope)
    if kind == "elu":
        return layer.op("Elu", [x], alpha=op.alpha)
    if kind == "selu":
        return layer.op("Selu", [x], alpha=SELU_ALPHA, gamma=SELU_SCALE)
    if kind == "gelu":
        return _gelu(layer, x, op.approximate)
    assert kind == "silu", kind
    return layer.op("Mul", [x, layer.op("Sigmoid", [x])], "silu")


def _activation(layer: Layer, x: str) -> str:
    return activate(layer, layer.node.op, x)


# --- dense and convolutions ---


def _dense(layer: Layer, x: str) -> str:
    return layer.bias_and_activation(layer.op("MatMul", [x, layer.weight("kernel")]))


def _pads(padding: tuple[tuple[int, int], ...]) -> list[int]:
    """(before, after) per spatial axis -> ONNX's [x1_begin, x2_begin, ..., x1_end, ...]."""
    return [before for before, _ in padding] + [after for _, after in padding]


def _conv_node(layer: Layer, x: str, kernel: str, bias: list[str], **attrs) -> str:
    op = layer.node.op
    return layer.op(
        "Conv",
        [x, kernel, *bias],
        "conv",
        kernel_shape=list(op.kernel),
        strides=list(op.stride),
        pads=_pads(layer.node.padding),
        **attrs,
    )


def _conv(layer: Layer, x: str) -> str:
    op: ir._Conv = layer.node.op
    bias = [layer.weight("bias")] if "bias" in layer.params else []
    y = _conv_node(
        layer, x, layer.kernel("kernel"), bias, dilations=list(op.dilation), group=op.groups
    )
    return activate(layer, op.activation, y)


def _depthwise(layer: Layer, x: str) -> str:
    channels = layer.node.input_shape[-1]
    bias = [layer.weight("bias")] if "bias" in layer.params else []
    y = _conv_node(layer, x, layer.kernel("kernel"), bias, group=channels)
    return activate(layer, layer.node.op.activation, y)


def _separable(layer: Layer, x: str) -> str:
    op: ir.SeparableConv2D = layer.node.op
    channels = layer.node.input_shape[-1]
    middle = _conv_node(layer, x, layer.kernel("depthwise_kernel"), [], group=channels)
    bias = [layer.weight("bias")] if "bias" in layer.params else []
    y = layer.op("Conv", [middle, layer.kernel("pointwise_kernel"), *bias], "pointwise")
    return activate(layer, op.activation, y)


def _conv_transpose(layer: Layer, x: str) -> str:
    """The full (n-1)·s + k result cropped by the IR's (before, after); a negative after
    (k < s) becomes output_padding: cells appended at the end, zeros plus the bias."""
    op: ir.Conv2DTranspose = layer.node.op
    padding = layer.node.padding
    bias = [layer.weight("bias")] if "bias" in layer.params else []
    y = layer.op(
        "ConvTranspose",
        [x, layer.kernel("kernel"), *bias],
        "conv_transpose",
        kernel_shape=list(op.kernel),
        strides=list(op.stride),
        pads=_pads(tuple((before, max(after, 0)) for before, after in padding)),
        output_padding=[max(-after, 0) for _, after in padding],
    )
    return activate(layer, op.activation, y)


# --- pooling, padding, resizing ---


def _pool(layer: Layer, x: str) -> str:
    """MaxPool never lets padding win; AveragePool with count_include_pad=0 divides by the
    real cells only."""
    op: ir._Pool = layer.node.op
    attrs = {
        "kernel_shape": list(op.size),
        "strides": list(op.stride),
        "pads": _pads(layer.node.padding),
    }
    if op.kind.startswith("max"):
        return layer.op("MaxPool", [x], **attrs)
    return layer.op("AveragePool", [x], count_include_pad=0, **attrs)


def _global_pool(layer: Layer, x: str) -> str:
    spatial = len(layer.node.input_shape) - 1
    start = 2 if layer.first else 1
    axes = list(range(start, start + spatial))
    reduce = "ReduceMax" if layer.node.op.kind.startswith("global_max") else "ReduceMean"
    return layer.op(reduce, [x], axes=axes, keepdims=0)


def _zero_padding(layer: Layer, x: str) -> str:
    (top, bottom), (left, right) = layer.node.padding
    if layer.first:
        pads = [0, 0, top, left, 0, 0, bottom, right]
    else:
        pads = [0, top, left, 0, 0, bottom, right, 0]
    return layer.op("Pad", [x, layer.const("pads", pads, np.int64)], mode="constant")


def _upsampling(layer: Layer, x: str) -> str:
    """Resize nearest with asymmetric coordinates and floor: output i reads input i // s."""
    rows, cols = layer.node.op.size
    scales = [1, 1, rows, cols] if layer.first else [1, rows, cols, 1]
    return layer.op(
        "Resize",
        [x, "", layer.const("scales", scales)],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


# --- reshaping, regularisation, normalisation, lookup ---


def _reshape(layer: Layer, x: str) -> str:
    """flatten and reshape: row-major over the channels-last axes (the plan puts them there)."""
    return layer.shape(x, layer.node.output_shape)


def _identity(layer: Layer, x: str) -> str:
    return x


def _scale_and_offset(layer: Layer, channels: int) -> list[str]:
    """gamma and beta, or the ones / zeros they stand for when scale / center is off."""
    gamma = layer.weight("gamma") if "gamma" in layer.params else None
    beta = layer.weight("beta") if "beta" in layer.params else None
    return [
        gamma or layer.const("ones", np.ones(channels)),
        beta or layer.const("zeros", np.zeros(channels)),
    ]


def _batchnorm(layer: Layer, x: str) -> str:
    """Inference: the moving statistics."""
    channels = layer.node.output_shape[-1]
    inputs = [x, *_scale_and_offset(layer, channels)]
    inputs += [layer.weight("moving_mean"), layer.weight("moving_variance")]
    return layer.op("BatchNormalization", inputs, epsilon=layer.node.op.epsilon)


def _layernorm(layer: Layer, x: str) -> str:
    channels = layer.node.output_shape[-1]
    inputs = [x, *_scale_and_offset(layer, channels)]
    return layer.op("LayerNormalization", inputs, axis=-1, epsilon=layer.node.op.epsilon)


def _embedding(layer: Layer, x: str) -> str:
    return layer.op("Gather", [layer.weight("embeddings"), x], axis=0)


# --- recurrent ---


def _gates(array: np.ndarray, kind: str) -> np.ndarray:
    """Reorder the gate blocks of axis 0 from Keras' order to ONNX's."""
    order = ONNX_GATES[kind]
    blocks = np.split(array, len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _direction(layer: Layer, op: ir._Recurrent, prefix: str) -> list[str]:
    """W (1, G·U, F), R (1, G·U, U) and, with a bias, B (1, 2·G·U) of one direction: the IR's
    one LSTM / simple-RNN bias is Wb (Rb zero); the GRU's two rows are Wb and Rb."""
    params = layer.params
    out = []
    for param in ("kernel", "recurrent_kernel"):
        weight = next(w for w in layer.node.weights if w.param == prefix + param)
        axes, _, shape = weight_layout(layer.node, weight)
        array = _gates(params[prefix + param].transpose(axes).reshape(shape), op.kind)
        out.append(layer.weight(prefix + param, array[None]))
    if prefix + "bias" in params:
        bias = params[prefix + "bias"]
        rows = bias if op.kind == "gru" else (bias, np.zeros_like(bias))
        array = np.concatenate([_gates(row, op.kind) for row in rows])
        out.append(layer.weight(prefix + "bias", array[None]))
    return out


def _run_recurrent(layer: Layer, op: ir._Recurrent, x: str, prefixes: tuple[str, ...]) -> str:
    """The ONNX RNN/LSTM/GRU over (batch, T, F); (batch, T, directions, U) with
    return_sequences, else (batch, directions, U)."""
    parts = [_direction(layer, op, prefix) for prefix in prefixes]
    inputs = parts[0]
    if len(parts) == 2:  # forward then backward along the directions axis
        keys = ("W", "R", "B")
        inputs = [layer.op("Concat", list(pair), k, axis=0) for pair, k in zip(zip(*parts), keys)]
    attrs: dict = {"hidden_size": op.units}
    attrs["direction"] = "bidirectional" if len(parts) == 2 else "forward"
    if op.kind == "simple_rnn":
        attrs["activations"] = [op.activation.kind.capitalize()] * len(parts)
    if op.kind == "gru":
        attrs["linear_before_reset"] = 1  # Keras 3's reset_after
    steps = layer.op("Transpose", [x], "time_major", perm=[1, 0, 2])
    if op.return_sequences:  # Y (T, D, batch, U) -> (batch, T, D, U)
        (y,) = layer.op(ONNX_RECURRENT[op.kind], [steps, *inputs], op.kind, ("Y",), **attrs)
        return layer.op("Transpose", [y], "batch_major", perm=[2, 0, 1, 3])
    # Y_h (D, batch, U) -> (batch, D, U)
    _, y_h = layer.op(ONNX_RECURRENT[op.kind], [steps, *inputs], op.kind, ("", "Y_h"), **attrs)
    return layer.op("Transpose", [y_h], "batch_major", perm=[1, 0, 2])


def _recurrent(layer: Layer, x: str) -> str:
    op: ir._Recurrent = layer.node.op
    y = _run_recurrent(layer, op, x, ("",))
    return layer.shape(y, layer.node.output_shape)


def _bidirectional(layer: Layer, x: str) -> str:
    """ONNX's reverse direction already lines its outputs up with the input steps, and its
    last state is the one after step 0: the IR's re-reversed backward outputs."""
    op: ir.Bidirectional = layer.node.op
    y = _run_recurrent(layer, op.layer, x, ("forward_", "backward_"))
    if op.merge == "concat":  # forward units then backward units
        return layer.shape(y, layer.node.output_shape)
    axis = 2 if op.layer.return_sequences else 1
    halves = layer.op("Split", [y], "directions", ("forward", "backward"), axis=axis)
    squeeze = layer.const("axis", [axis], np.int64)
    forward, backward = (layer.op("Squeeze", [half, squeeze], "squeeze") for half in halves)
    if op.merge == "sum":
        return layer.op("Add", [forward, backward], "sum")
    if op.merge == "mul":
        return layer.op("Mul", [forward, backward], "mul")
    total = layer.op("Add", [forward, backward], "sum")
    return layer.op("Div", [total, layer.const("two", 2.0)], "ave")


# --- merges ---


def _merge(layer: Layer, *xs: str) -> str:
    kind = layer.node.op.kind
    if kind == "add":
        return layer.op("Sum", list(xs), "add")
    if kind == "subtract":
        return layer.op("Sub", list(xs), "subtract")
    if kind == "maximum":
        return layer.op("Max", list(xs), "maximum")
    if kind == "concatenate":
        axis = concat_axis(layer.node.op, layer.node.input_shape, layer.first)
        return layer.op("Concat", list(xs), "concatenate", axis=axis)
    if kind == "multiply":
        y = xs[0]
        for other in xs[1:]:
            y = layer.op("Mul", [y, other], "multiply")
        return y
    assert kind == "average", kind
    total = layer.op("Sum", list(xs), "sum")
    return layer.op("Div", [total, layer.const("count", float(len(xs)))], "average")


Builder = Callable[..., str]

LAYERS: dict[str, Builder] = {
    **dict.fromkeys(ir.ACTIVATIONS, _activation),
    "dense": _dense,
    **dict.fromkeys(("conv1d", "conv2d"), _conv),
    "conv2d_transpose": _conv_transpose,
    "depthwise_conv2d": _depthwise,
    "separable_conv2d": _separable,
    **dict.fromkeys(("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"), _pool),
    **dict.fromkeys(
        ("global_avgpool1d", "global_avgpool2d", "global_maxpool1d", "global_maxpool2d"),
        _global_pool,
    ),
    "zero_padding2d": _zero_padding,
    "upsampling2d": _upsampling,
    **dict.fromkeys(("flatten", "reshape"), _reshape),
    "dropout": _identity,
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "embedding": _embedding,
    **dict.fromkeys(ir.RECURRENT, _recurrent),
    "bidirectional": _bidirectional,
    **dict.fromkeys(("add", "subtract", "multiply", "average", "maximum", "concatenate"), _merge),
}
