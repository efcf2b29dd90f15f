"""A plain-numpy reference implementation of the IR's inference (float64, no framework).

Every layer kind has a function in LAYERS taking (node, params, *inputs): `params` maps the
parameter's own name ("kernel", "forward_bias") to its canonical array and the inputs carry
a leading batch axis. Semantics are Keras 3's; window padding comes from `node.padding`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from nndsl import ir
from nndsl.reference_activations import activate, sigmoid, softmax
from nndsl.reference_recurrent import bidirectional, recurrent

Array = np.ndarray
Params = dict[str, Array]
Layer = Callable[..., Array]


def activation(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """An activation used as a layer."""
    return activate(node.op, x)


# --- windows: helpers shared by convolutions and pools ---


def _pad(x: Array, padding: tuple[tuple[int, int], ...], value: float = 0.0) -> Array:
    """Pad the spatial axes of (batch, *spatial, channels) by (before, after) each."""
    return np.pad(x, ((0, 0), *padding, (0, 0)), constant_values=value)


def _windows(
    x: Array, node: ir.NodeInfo, size: tuple[int, ...], dilation: tuple[int, ...] | None = None
) -> Iterator[tuple[tuple[int, ...], Array]]:
    """(kernel offset, the input cells it meets at every output position) for each offset.

    `x` is already padded; each slice has shape (batch, *output spatial, channels).
    """
    stride = node.op.stride
    dilation = dilation or (1,) * len(size)
    out = node.output_shape[:-1]
    for offset in np.ndindex(*size):
        cells = tuple(
            slice(o * d, o * d + (n - 1) * s + 1, s)
            for o, d, n, s in zip(offset, dilation, out, stride)
        )
        yield offset, x[(slice(None), *cells, slice(None))]


def _bias_and_activation(node: ir.NodeInfo, params: Params, y: Array) -> Array:
    if "bias" in params:
        y = y + params["bias"]
    return activate(node.op.activation, y)


# --- dense and convolutions ---


def dense(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """activation(x · kernel + bias) on the last axis."""
    return _bias_and_activation(node, params, x @ params["kernel"])


def conv(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """conv1d/conv2d: sum over kernel offsets of window · kernel[offset], per group."""
    op, kernel = node.op, params["kernel"]
    per_group_in, per_group_out = kernel.shape[-2], op.filters // op.groups
    y = np.zeros((x.shape[0], *node.output_shape))
    for offset, cells in _windows(_pad(x, node.padding), node, op.kernel, op.dilation):
        for g in range(op.groups):
            cin = slice(g * per_group_in, (g + 1) * per_group_in)
            cout = slice(g * per_group_out, (g + 1) * per_group_out)
            y[..., cout] += cells[..., cin] @ kernel[offset][:, cout]
    return _bias_and_activation(node, params, y)


def conv2d_transpose(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Scatter x[i] · kernel[a]ᵀ onto the full (n - 1)·s + k result at i·s + a, then crop.

    `node.padding` holds (crop before, crop after) per axis; a negative crop after means
    zeros appended to the full result.
    """
    op, kernel = node.op, params["kernel"]
    (h, w), (sh, sw) = x.shape[1:3], op.stride
    sizes = [
        (n - 1) * s + k + max(-after, 0)
        for n, s, k, (_, after) in zip((h, w), op.stride, op.kernel, node.padding)
    ]
    full = np.zeros((x.shape[0], *sizes, op.filters))
    for a, b in np.ndindex(*op.kernel):
        rows = slice(a, a + (h - 1) * sh + 1, sh)
        cols = slice(b, b + (w - 1) * sw + 1, sw)
        full[:, rows, cols] += x @ kernel[a, b].T
    (top, _), (left, _) = node.padding
    out_h, out_w = node.output_shape[:2]
    y = full[:, top : top + out_h, left : left + out_w]
    return _bias_and_activation(node, params, y)


def _depthwise(node: ir.NodeInfo, kernel: Array, x: Array) -> Array:
    """Output channel c·m + j = sum over offsets of window[c] · kernel[offset][c, j]."""
    batch, (*spatial, _) = x.shape[0], node.output_shape
    channels, multiplier = kernel.shape[-2:]
    y = np.zeros((batch, *spatial, channels, multiplier))
    for offset, cells in _windows(_pad(x, node.padding), node, node.op.kernel):
        y += cells[..., :, None] * kernel[offset]
    return y.reshape(batch, *spatial, channels * multiplier)


def depthwise_conv2d(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """One filter per input channel and multiplier, then bias and activation."""
    return _bias_and_activation(node, params, _depthwise(node, params["kernel"], x))


def separable_conv2d(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """depthwise (no bias) then a 1x1 conv with the bias and activation."""
    middle = _depthwise(node, params["depthwise_kernel"], x)
    return _bias_and_activation(node, params, middle @ params["pointwise_kernel"][0, 0])


# --- pooling, padding, resizing ---


def max_pool(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Max over each window; padded cells are -inf."""
    windows = _windows(_pad(x, node.padding, -np.inf), node, node.op.size)
    return np.max([cells for _, cells in windows], axis=0)


def avg_pool(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Mean over the real (unpadded) cells of each window."""
    total = sum(cells for _, cells in _windows(_pad(x, node.padding), node, node.op.size))
    real = _pad(np.ones_like(x[:1]), node.padding)
    count = sum(cells for _, cells in _windows(real, node, node.op.size))
    return total / count


def global_pool(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Mean (global_avgpool) or max (global_maxpool) over every axis but batch and channels."""
    axes = tuple(range(1, x.ndim - 1))
    return x.max(axis=axes) if node.op.kind.startswith("global_max") else x.mean(axis=axes)


def zero_padding2d(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Zeros around the image: ((top, bottom), (left, right))."""
    return _pad(x, node.op.padding)


def upsampling2d(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Nearest neighbour: each row repeated size_h times, each column size_w times."""
    rows, cols = node.op.size
    return x.repeat(rows, axis=1).repeat(cols, axis=2)


# --- reshaping, regularisation, normalisation, lookup ---


def reshape(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """flatten/reshape: row-major (channels-last) reshape to the node's output shape."""
    return x.reshape(x.shape[0], *node.output_shape)


def identity(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """dropout at inference."""
    return x


def _normalise(x: Array, mean: Array, variance: Array, epsilon: float, params: Params) -> Array:
    y = (x - mean) / np.sqrt(variance + epsilon)
    return y * params.get("gamma", 1.0) + params.get("beta", 0.0)


def batchnorm(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """gamma · (x - moving_mean) / sqrt(moving_variance + epsilon) + beta."""
    mean, variance = params["moving_mean"], params["moving_variance"]
    return _normalise(x, mean, variance, node.op.epsilon, params)


def layernorm(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """gamma · (x - mean) / sqrt(biased variance + epsilon) + beta over the last axis."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return _normalise(x, mean, variance, node.op.epsilon, params)


def embedding(node: ir.NodeInfo, params: Params, x: Array) -> Array:
    """Row x of the (input_dim, output_dim) table for every token."""
    return params["embeddings"][x.astype(np.int64)]


# --- merges ---


def merge(node: ir.NodeInfo, params: Params, *xs: Array) -> Array:
    """add, subtract (first minus second), multiply, average, maximum, or concatenate on
    `axis`, counted with the batch axis as 0 (as the arrays here carry it)."""
    match node.op.kind:
        case "add":
            return np.sum(xs, axis=0)
        case "subtract":
            return xs[0] - xs[1]
        case "multiply":
            return np.prod(xs, axis=0)
        case "average":
            return np.mean(xs, axis=0)
        case "maximum":
            return np.max(xs, axis=0)
        case "concatenate":
            return np.concatenate(xs, axis=node.op.axis)
    raise ValueError(f"unknown merge {node.op.kind}")


LAYERS: dict[str, Layer] = {
    **dict.fromkeys(ir.ACTIVATIONS, activation),
    "dense": dense,
    **dict.fromkeys(("conv1d", "conv2d"), conv),
    "conv2d_transpose": conv2d_transpose,
    "depthwise_conv2d": depthwise_conv2d,
    "separable_conv2d": separable_conv2d,
    **dict.fromkeys(("maxpool1d", "maxpool2d"), max_pool),
    **dict.fromkeys(("avgpool1d", "avgpool2d"), avg_pool),
    "global_avgpool1d": global_pool,
    "global_avgpool2d": global_pool,
    "global_maxpool1d": global_pool,
    "global_maxpool2d": global_pool,
    "zero_padding2d": zero_padding2d,
    "upsampling2d": upsampling2d,
    **dict.fromkeys(("flatten", "reshape"), reshape),
    "dropout": identity,
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "embedding": embedding,
    **dict.fromkeys(ir.RECURRENT, recurrent),
    "bidirectional": bidirectional,
    **dict.fromkeys(("add", "subtract", "multiply", "average", "maximum", "concatenate"), merge),
}


# --- whole programs ---


def _params(node: ir.NodeInfo, weights: Mapping[str, Array]) -> Params:
    params = {}
    for weight in node.weights:
        array = np.asarray(weights[weight.name], dtype=np.float64)
        if array.shape != weight.shape:
            raise ValueError(f"{weight.name} has shape {array.shape}, expected {weight.shape}")
        params[weight.param] = array
    return params


def run(
    program: ir.Program, weights: Mapping[str, Array], inputs: Array | Mapping[str, Array]
) -> tuple[Array, ...]:
    """The outputs' logits, in program.outputs order, for a batch of inputs.

    `inputs` is one array (a one-input model) or a dict keyed by input name; `weights` maps
    canonical weight names ("conv2d_1.kernel") to arrays.
    """
    if not isinstance(inputs, Mapping):
        if len(program.inputs) != 1:
            raise ValueError(f"{program.name} has {len(program.inputs)} inputs: pass a dict")
        inputs = {program.inputs[0].name: inputs}
    tensors: dict[str, Array] = {}
    for info in program.inputs:
        dtype = np.int64 if info.dtype == "int64" else np.float64
        array = np.asarray(inputs[info.name], dtype=dtype)
        if array.shape[1:] != info.shape:
            expected = ("batch", *info.shape)
            raise ValueError(f"input {info.name!r} has shape {array.shape}, expected {expected}")
        tensors[info.name] = array
    for node in program.nodes:
        args = (tensors[name] for name in node.inputs)
        tensors[node.name] = LAYERS[node.op.kind](node, _params(node, weights), *args)
    return tuple(tensors[output.name] for output in program.outputs)


def predict(
    program: ir.Program,
    weights: Mapping[str, Array],
    x: Array | Mapping[str, Array],
    probabilities: bool = False,
) -> Array:
    """The one output of a one-output model: logits, or with `probabilities` the output
    activation (softmax/sigmoid) applied."""
    if len(program.outputs) != 1:
        raise ValueError(f"{program.name} has {len(program.outputs)} outputs: use run()")
    (y,) = run(program, weights, x)
    if probabilities and program.output_activation == "softmax":
        return softmax(y)
    if probabilities and program.output_activation == "sigmoid":
        return sigmoid(y)
    return y
