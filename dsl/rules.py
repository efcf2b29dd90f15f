"""Shape and weight inference rules: one function per layer kind, registered with @rule.

A rule takes the op, its input shapes (canonical, no batch axis) and the node's name, and
returns the output shape, the canonical weights and any window padding. Rank checks come
from the op's `ranks` before a rule runs; shape arithmetic lives in nndsl/shapes.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nndsl import ir, shapes
from nndsl.errors import SpecError

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Result:
    shape: Shape
    weights: tuple[ir.Weight, ...] = ()
    padding: tuple[tuple[int, int], ...] = ()


Rule = Callable[[Any, tuple[Shape, ...], str], Result]
RULES: dict[str, Rule] = {}


def rule(*kinds: str) -> Callable[[Rule], Rule]:
    """Register a rule for the given kinds."""

    def register(fn: Rule) -> Rule:
        for kind in kinds:
            RULES[kind] = fn
        return fn

    return register


def fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _compact(values: Shape) -> str:
    """`(3, 3)` as written in a spec: `3` when every axis agrees."""
    return str(values[0]) if len(set(values)) == 1 else fmt(values)


def _w(name: str, shape: Shape, init: str, trainable: bool = True) -> ir.Weight:
    return ir.Weight(name=name, shape=shape, trainable=trainable, initializer=init)


def _bias(op: Any, name: str, size: int) -> list[ir.Weight]:
    return [_w(f"{name}.bias", (size,), op.bias_initializer)] if op.use_bias else []


# --- dense and convolutions ---


@rule("dense")
def _dense(op: ir.Dense, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    kernel = _w(f"{name}.kernel", (shape[-1], op.units), op.kernel_initializer)
    return Result((*shape[:-1], op.units), (kernel, *_bias(op, name, op.units)))


def _window(op: Any, shape: Shape, kernel: Shape, dilation: Shape | None = None) -> Result:
    """Output spatial shape and padding of a window op, refusing a window that cannot fit."""
    spatial = shape[:-1]
    dilation = dilation or (1,) * len(kernel)
    span = tuple(shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation))
    if op.padding == "valid" and any(s > n for s, n in zip(span, spatial)):
        need = "x".join(str(s) for s in span)
        got = "x".join(str(n) for n in spatial)
        args = [_compact(kernel)]
        if hasattr(op, "filters"):
            args.insert(0, str(op.filters))
        if max(dilation) > 1:
            args.append(f"dilation={_compact(dilation)}")
        raise SpecError(
            f"{op.kind}({', '.join(args)}) needs an input of at least {need}, got {got}", op.span
        )
    out = shapes.window_output(spatial, kernel, op.stride, op.padding, dilation)
    pad = shapes.window_padding(spatial, kernel, op.stride, op.padding, dilation)
    return Result(out, (), pad)


@rule("conv1d", "conv2d")
def _conv(op: ir._Conv, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    channels = shape[-1]
    if channels % op.groups or op.filters % op.groups:
        raise SpecError(
            f"{op.kind} groups={op.groups} must divide both the input channels ({channels})"
            f" and filters ({op.filters})",
            op.span,
        )
    window = _window(op, shape, op.kernel, op.dilation)
    kernel = _w(
        f"{name}.kernel", (*op.kernel, channels // op.groups, op.filters), op.kernel_initializer
    )
    weights = (kernel, *_bias(op, name, op.filters))
    return Result((*window.shape, op.filters), weights, window.padding)


@rule("conv2d_transpose")
def _conv_transpose(op: ir.Conv2DTranspose, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    out, crop = [], []
    for n, k, s in zip(shape[:-1], op.kernel, op.stride):
        length, before, after = shapes.transpose_output(n, k, s, op.padding)
        out.append(length)
        crop.append((before, after))
    kernel = _w(f"{name}.kernel", (*op.kernel, op.filters, shape[-1]), op.kernel_initializer)
    return Result((*out, op.filters), (kernel, *_bias(op, name, op.filters)), tuple(crop))


@rule("depthwise_conv2d")
def _depthwise(op: ir.DepthwiseConv2D, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    window = _window(op, shape, op.kernel)
    channels = shape[-1] * op.depth_multiplier
    kernel = _w(
        f"{name}.kernel", (*op.kernel, shape[-1], op.depth_multiplier), op.kernel_initializer
    )
    return Result((*window.shape, channels), (kernel, *_bias(op, name, channels)), window.padding)


@rule("separable_conv2d")
def _separable(op: ir.SeparableConv2D, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    window = _window(op, shape, op.kernel)
    middle = shape[-1] * op.depth_multiplier
    weights = (
        _w(
            f"{name}.depthwise_kernel",
            (*op.kernel, shape[-1], op.depth_multiplier),
            op.kernel_initializer,
        ),
        _w(f"{name}.pointwise_kernel", (1, 1, middle, op.filters), op.kernel_initializer),
        *_bias(op, name, op.filters),
    )
    return Result((*window.shape, op.filters), weights, window.padding)


# --- pooling, padding, resizing ---


@rule("maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d")
def _pool(op: ir._Pool, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    window = _window(op, shape, op.size)
    return Result((*window.shape, shape[-1]), (), window.padding)


@rule("global_avgpool1d", "global_maxpool1d", "global_avgpool2d", "global_maxpool2d")
def _global_pool(op: ir.Node, shapes_in: tuple[Shape, ...], name: str) -> Result:
    return Result((shapes_in[0][-1],))


@rule("zero_padding2d")
def _zero_padding(op: ir.ZeroPadding2D, shapes_in: tuple[Shape, ...], name: str) -> Result:
    h, w, c = shapes_in[0]
    (top, bottom), (left, right) = op.padding
    return Result((h + top + bottom, w + left + right, c), (), op.padding)


@rule("upsampling2d")
def _upsampling(op: ir.UpSampling2D, shapes_in: tuple[Shape, ...], name: str) -> Result:
    h, w, c = shapes_in[0]
    return Result((h * op.size[0], w * op.size[1], c))


# --- reshaping, normalisation, lookup ---


@rule("flatten")
def _flatten(op: ir.Flatten, shapes_in: tuple[Shape, ...], name: str) -> Result:
    return Result((math.prod(shapes_in[0]),))


@rule("reshape")
def _reshape(op: ir.Reshape, shapes_in: tuple[Shape, ...], name: str) -> Result:
    (shape,) = shapes_in
    target = list(op.shape)
    size = math.prod(shape)
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d == 0 or d < -1 for d in target):
        raise SpecError(
            f"reshape sizes must be positive, with at most one -1, got {fmt(op.shape)}", op.span
        )
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if size % known:
            raise SpecError(f"reshape cannot fit {size} values into {fmt(op.shape)}", op.span)
        target[unknown[0]] = size // known
    if math.prod(target) != size:
        raise SpecError(
            f"reshape to {fmt(tuple(target))} needs {math.prod(target)} values,"
            f" but the input {fmt(shape)} has {size}",
            op.span,
        )
    return Result(tuple(target))


@rule("batchnorm")
def _batchnorm(op: ir.BatchNorm, shapes_in: tuple[Shape, ...], name: str) -> Result:
    channels = (shapes_in[0][-1],)
    weights = []
    if op.scale:
        weights.append(_w(f"{name}.gamma", channels, "ones"))
    if op.center:
        weights.append(_w(f"{name}.beta", channels, "zeros"))
    weights.append(_w(f"{name}.moving_mean", channels, "zeros", trainable=False))
    weights.append(_w(f"{name}.moving_variance", channels, "ones", trainable=False))
    return Result(shapes_in[0], tuple(weights))


@rule("layernorm")
def _layernorm(op: ir.LayerNorm, shapes_in: tuple[Shape, ...], name: str) -> Result:
    channels = (shapes_in[0][-1],)
    weights = []
    if op.scale:
        weights.append(_w(f"{name}.gamma", channels, "ones"))
    if op.center:
        weights.append(_w(f"{name}.beta", channels, "zeros"))
    return Result(shapes_in[0], tuple(weights))


@rule("embedding")
def _embedding(op: ir.Embedding, shapes_in: tuple[Shape, ...], name: str) -> Result:
    table = _w(f"{name}.embeddings", (op.input_dim, op.output_dim), "uniform")
    return Result((*shapes_in[0], op.output_dim), (table,))


@rule("dropout", *ir.ACTIVATIONS)
def _same(op: ir.Node, shapes_in: tuple[Shape, ...], name: str) -> Result:
    return Result(shapes_in[0])


# --- recurrent ---


def recurrent_weights(op: ir._Recurrent, features: int, prefix: str) -> tuple[ir.Weight, ...]:
    """kernel (F, G·U), recurrent_kernel (U, G·U), bias (G·U,) or (2, 3·U) for the GRU."""
    units, gates = op.units, op.gates
    weights = [
        _w(f"{prefix}kernel", (features, gates * units), op.kernel_initializer),
        _w(f"{prefix}recurrent_kernel", (units, gates * units), op.recurrent_initializer),
    ]
    if op.use_bias:
        shape = (2, gates * units) if op.kind == "gru" else (gates * units,)
        init = (
            "unit_forget_bias" if getattr(op, "unit_forget_bias", False) else op.bias_initializer
        )
        weights.append(_w(f"{prefix}bias", shape, init))
    return tuple(weights)


@rule(*ir.RECURRENT)
def _recurrent(op: ir._Recurrent, shapes_in: tuple[Shape, ...], name: str) -> Result:
    steps, features = shapes_in[0]
    shape = (steps, op.units) if op.return_sequences else (op.units,)
    return Result(shape, recurrent_weights(op, features, f"{name}."))


@rule("bidirectional")
def _bidirectional(op: ir.Bidirectional, shapes_in: tuple[Shape, ...], name: str) -> Result:
    steps, features = shapes_in[0]
    layer = op.layer
    units = layer.units * (2 if op.merge == "concat" else 1)
    shape = (steps, units) if layer.return_sequences else (units,)
    weights = (
        *recurrent_weights(layer, features, f"{name}.forward_"),
        *recurrent_weights(layer, features, f"{name}.backward_"),
    )
    return Result(shape, weights)


# --- merges ---


def _merge_error(
    op: ir.Node, names: tuple[str, ...], shapes_in: tuple[Shape, ...], i: int
) -> SpecError:
    return SpecError(
        f"{op.kind} needs inputs of one shape, got {names[0]} {fmt(shapes_in[0])} and"
        f" {names[i]} {fmt(shapes_in[i])}",
        op.span,
    )


def check_merge(op: ir.MergeOp, shapes_in: tuple[Shape, ...], names: tuple[str, ...]) -> Result:
    """The merged shape, or an error naming two operands whose shapes do not fit."""
    first = shapes_in[0]
    if op.kind != "concatenate":
        for i, shape in enumerate(shapes_in[1:], 1):
            if shape != first:
                raise _merge_error(op, names, shapes_in, i)
        return Result(first)
    rank = len(first) + 1  # Keras counts the batch axis
    if not -rank < op.axis < rank or op.axis in (0, -rank):
        raise SpecError(
            f"concatenate axis must be 1 to {rank - 1} or -1 to -{rank - 1} (0 is the batch"
            f" axis), got {op.axis}",
            op.span,
        )
    axis = op.axis - 1 if op.axis > 0 else len(first) + op.axis
    for i, shape in enumerate(shapes_in[1:], 1):
        if len(shape) != len(first) or any(
            a != b for j, (a, b) in enumerate(zip(shape, first)) if j != axis
        ):
            raise SpecError(
                f"concatenate on axis {op.axis} needs the other axes equal, got {names[0]}"
                f" {fmt(first)} and {names[i]} {fmt(shape)}",
                op.span,
            )
    total = sum(shape[axis] for shape in shapes_in)
    return Result((*first[:axis], total, *first[axis + 1 :]))
