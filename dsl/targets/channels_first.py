"""What the channels-first targets (torch, Gluon) share: layouts, paddings, weight layouts.

Inside such a target, conv/pool-like layers compute in NCHW / NCL; dense, flatten, reshape,
layer normalisation and recurrent layers need the canonical channels-last order; the rest
work in whatever layout their input has. Canonical arrays (HWIO kernels, (in, out) dense,
Keras' gate order) become the framework's by a transpose, a reorder of gate blocks and a
reshape, described by one `WeightView` each.
"""

from __future__ import annotations

import math

from nndsl import ir
from nndsl.forward import ANY, FIRST, LAST
from nndsl.views import WeightView

_FIRST = {
    "conv1d",
    "conv2d",
    "conv2d_transpose",
    "depthwise_conv2d",
    "separable_conv2d",
    "maxpool1d",
    "maxpool2d",
    "avgpool1d",
    "avgpool2d",
    "zero_padding2d",
    "upsampling2d",
    "batchnorm",
}
_LAST = {"dense", "flatten", "reshape", "embedding", "layernorm", "bidirectional", *ir.RECURRENT}

# Keras' gate order -> the framework's, per recurrent kind (block indices along the gates)
GATE_ORDER = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "simple_rnn": (0,)}


def wants(node: ir.NodeInfo) -> str:
    """The layout a node computes in."""
    kind = node.op.kind
    if kind in _FIRST:
        return FIRST
    if kind in _LAST:
        return LAST
    return ANY


def channels_axis(channels_first: bool, shape: tuple[int, ...]) -> int:
    """The channels axis of a batch of canonical `shape` in the given layout."""
    return 1 if channels_first and len(shape) >= 2 else -1


def concat_axis(op: ir.Concatenate, shape: tuple[int, ...], channels_first: bool) -> int:
    """The axis (counting the batch axis) a canonical concatenate axis becomes."""
    rank = len(shape) + 1
    axis = op.axis % rank  # 1..rank-1 in channels-last terms
    if not channels_first or len(shape) < 2:
        return axis
    return 1 if axis == rank - 1 else axis + 1


def pad_widths(padding: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """(before, after) per spatial axis -> `F.pad` widths, last axis first."""
    return tuple(width for axis in reversed(padding) for width in axis)


def symmetric(padding: tuple[tuple[int, int], ...]) -> bool:
    return all(before == after for before, after in padding)


def compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """`(3, 3)` -> `3` (an int stands for every spatial axis), else the tuple."""
    return values[0] if len(set(values)) == 1 else values


def module_padding(padding: tuple[tuple[int, int], ...]) -> int | tuple[int, ...]:
    """The layer's own (symmetric) padding; 0 when an explicit pad does it instead."""
    return compact(tuple(before for before, _ in padding)) if symmetric(padding) else 0


def transpose_padding(
    node: ir.NodeInfo,
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[tuple[int, int], ...]]:
    """A transposed convolution's crop (`node.padding`, TF's rule) as a channels-first
    framework computes it: (`padding`, cropped from both ends; `output_padding`, appended at
    the end; the (start, stop) slice per spatial axis that crops the rest, () when none)."""
    padding = tuple(min(before, after) if after >= 0 else 0 for before, after in node.padding)
    extra = tuple(-after if after < 0 else 0 for _, after in node.padding)
    crop = tuple((b - p, a - p) if a >= 0 else (0, 0) for (b, a), p in zip(node.padding, padding))
    slices: tuple[tuple[int, int], ...] = ()
    if any(b or a for b, a in crop):
        slices = tuple((b, b + n) for (b, _), n in zip(crop, node.output_shape[:2]))
    return padding, extra, slices


def weight_layout(
    node: ir.NodeInfo, weight: ir.Weight
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(axes, gates, shape): transpose the canonical array by `axes`, reorder its gate
    blocks along axis 0 by `gates` (empty: none), reshape to the framework's `shape`."""
    kind, param, shape = node.op.kind, weight.param, weight.shape
    rank = len(shape)
    if kind == "bidirectional":
        kind, param = node.op.layer.kind, param.split("_", 1)[1]
    if kind in ir.RECURRENT:
        gates = GATE_ORDER[kind] if GATE_ORDER[kind] != tuple(range(len(GATE_ORDER[kind]))) else ()
        if param == "bias" and rank == 2:  # the GRU's (2, 3U): one row per framework bias
            return (0,), gates, (shape[1],)
        axes = (1, 0) if rank == 2 else (0,)
        return axes, gates, tuple(shape[a] for a in axes)
    if param in ("kernel", "pointwise_kernel") and rank == 2:
        return (1, 0), (), shape[::-1]
    if kind == "conv2d_transpose" and param == "kernel":
        return (3, 2, 0, 1), (), (shape[3], shape[2], shape[0], shape[1])
    if param in ("kernel", "depthwise_kernel") and kind in (
        "depthwise_conv2d",
        "separable_conv2d",
    ):
        kh, kw, channels, multiplier = shape
        return (2, 3, 0, 1), (), (channels * multiplier, 1, kh, kw)
    if param in ("kernel", "pointwise_kernel"):
        spatial = rank - 2  # (*k, in, out) -> (out, in, *k)
        axes = (spatial + 1, spatial, *range(spatial))
        return axes, (), tuple(shape[a] for a in axes)
    return tuple(range(rank)), (), shape


def weight_view(node: ir.NodeInfo, weight: ir.Weight, key: str | tuple[str, ...]) -> WeightView:
    """`key` is a tuple when the framework keeps each row of the canonical array apart (the
    GRU's input and recurrent biases): the layout then describes one row."""
    axes, gates, shape = weight_layout(node, weight)
    return WeightView(weight.name, weight.shape, key, axes, gates, shape)


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) as torch and MXNet compute them for an (out, in, *k) tensor."""
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    if len(shape) < 2:
        return shape[0], shape[0]
    return shape[1] * receptive, shape[0] * receptive
