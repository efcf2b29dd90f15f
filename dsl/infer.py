"""Shape and parameter inference: no framework, only the IR and dsl.shapes."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nndsl import ir, shapes
from nndsl.errors import DslError

Shape = tuple[int, ...]
Weights = tuple[ir.Weight, ...]


def _fmt(shape: Shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def _needs_rank(op: ir.Node, shape: Shape, rank: int, what: str) -> None:
    if len(shape) != rank:
        raise DslError(f"{op.kind} needs {what} input, got shape {_fmt(shape)}", op.span)


def _w(name: str, shape: Shape, trainable: bool, init: str) -> ir.Weight:
    return ir.Weight(name=name, shape=shape, trainable=trainable, initializer=init)


def _dense(op: ir.Dense, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    if len(shape) == 0:
        raise DslError("dense needs an input with a feature axis", op.span)
    weights = [_w(f"{name}.kernel", (shape[-1], op.units), True, op.kernel_initializer)]
    if op.use_bias:
        weights.append(_w(f"{name}.bias", (op.units,), True, op.bias_initializer))
    return (*shape[:-1], op.units), tuple(weights), ()


def _conv(op: ir._Conv, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    what = "an image (height, width, channels)" if op.rank == 2 else "a (steps, channels)"
    _needs_rank(op, shape, op.rank + 1, what)
    spatial, channels = shape[:-1], shape[-1]
    if channels % op.groups or op.filters % op.groups:
        raise DslError(
            f"{op.kind} groups={op.groups} must divide both the input channels ({channels})"
            f" and filters ({op.filters})",
            op.span,
        )
    _window_fits(op, spatial, op.kernel, op.padding, op.dilation)
    out = shapes.window_output(spatial, op.kernel, op.stride, op.padding, op.dilation)
    pad = shapes.window_padding(spatial, op.kernel, op.stride, op.padding, op.dilation)
    kernel = (*op.kernel, channels // op.groups, op.filters)
    weights = [_w(f"{name}.kernel", kernel, True, op.kernel_initializer)]
    if op.use_bias:
        weights.append(_w(f"{name}.bias", (op.filters,), True, op.bias_initializer))
    return (*out, op.filters), tuple(weights), pad


def _compact(values: Shape) -> str:
    """`(3, 3)` as written in a spec: `3` when every axis agrees."""
    if len(set(values)) == 1:
        return str(values[0])
    return _fmt(values)


def _window_fits(
    op: ir.Node, spatial: Shape, kernel: Shape, padding: str, dilation: Shape | None = None
) -> None:
    dilation = dilation or (1,) * len(kernel)
    span = tuple(shapes.effective_kernel(k, d) for k, d in zip(kernel, dilation))
    if padding == "valid" and any(s > n for s, n in zip(span, spatial)):
        need = "x".join(str(s) for s in span)
        got = "x".join(str(n) for n in spatial)
        args = [_compact(kernel)]
        if isinstance(op, ir._Conv):
            args.insert(0, str(op.filters))
            if max(dilation) > 1:
                args.append(f"dilation={_compact(dilation)}")
        raise DslError(
            f"{op.kind}({', '.join(args)}) needs an input of at least {need}, got {got}", op.span
        )


def _pool(op: ir._Pool, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    what = "an image (height, width, channels)" if op.rank == 2 else "a (steps, channels)"
    _needs_rank(op, shape, op.rank + 1, what)
    spatial = shape[:-1]
    _window_fits(op, spatial, op.size, op.padding)
    out = shapes.window_output(spatial, op.size, op.stride, op.padding)
    pad = shapes.window_padding(spatial, op.size, op.stride, op.padding)
    return (*out, shape[-1]), (), pad


def _global_pool(op: ir.Node, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    _needs_rank(op, shape, 3, "an image (height, width, channels)")
    return (shape[-1],), (), ()


def _flatten(op: ir.Flatten, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    return (math.prod(shape),), (), ()


def _reshape(op: ir.Reshape, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    target = list(op.shape)
    size = math.prod(shape)
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1 or any(d == 0 or d < -1 for d in target):
        raise DslError(
            f"reshape sizes must be positive, with at most one -1, got {_fmt(op.shape)}", op.span
        )
    known = math.prod(d for d in target if d != -1)
    if unknown:
        if size % known:
            raise DslError(f"reshape cannot fit {size} values into {_fmt(op.shape)}", op.span)
        target[unknown[0]] = size // known
    if math.prod(target) != size:
        raise DslError(
            f"reshape to {_fmt(tuple(target))} needs {math.prod(target)} values,"
            f" but the input {_fmt(shape)} has {size}",
            op.span,
        )
    return tuple(target), (), ()


def _batchnorm(op: ir.BatchNorm, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    channels = (shape[-1],)
    weights = []
    if op.scale:
        weights.append(_w(f"{name}.gamma", channels, True, "ones"))
    if op.center:
        weights.append(_w(f"{name}.beta", channels, True, "zeros"))
    weights.append(_w(f"{name}.moving_mean", channels, False, "zeros"))
    weights.append(_w(f"{name}.moving_variance", channels, False, "ones"))
    return shape, tuple(weights), ()


def _embedding(op: ir.Embedding, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    table = (op.input_dim, op.output_dim)
    return (*shape, op.output_dim), (_w(f"{name}.embeddings", table, True, "uniform"),), ()


def _same(op: ir.Node, shape: Shape, name: str) -> tuple[Shape, Weights, tuple]:
    return shape, (), ()


RULES: dict[type[ir.Node], Callable[[Any, Shape, str], tuple[Shape, Weights, tuple]]] = {
    ir.Dense: _dense,
    ir.Conv1D: _conv,
    ir.Conv2D: _conv,
    ir.MaxPool1D: _pool,
    ir.MaxPool2D: _pool,
    ir.AvgPool1D: _pool,
    ir.AvgPool2D: _pool,
    ir.GlobalAvgPool2D: _global_pool,
    ir.GlobalMaxPool2D: _global_pool,
    ir.Flatten: _flatten,
    ir.Reshape: _reshape,
    ir.Dropout: _same,
    ir.BatchNorm: _batchnorm,
    ir.Embedding: _embedding,
    **{cls: _same for cls in ir.ACTIVATION_CLASSES},
}


def _split_output_activation(layers: tuple, train: ir.Train | None) -> tuple[tuple, str]:
    """Move a final softmax/sigmoid out of the network so it computes logits."""
    if not layers:
        return layers, "linear"
    last = layers[-1]
    if last.kind in ("softmax", "sigmoid"):
        return layers[:-1], last.kind
    activation = getattr(last, "activation", None)
    if activation is not None and activation.kind in ("softmax", "sigmoid"):
        return (*layers[:-1], last.model_copy(update={"activation": ir.Linear()})), activation.kind
    return layers, "linear"


LOGIT_LOSSES = {
    "categorical_crossentropy": ("softmax", "linear"),
    "sparse_categorical_crossentropy": ("softmax", "linear"),
    "binary_crossentropy": ("sigmoid", "linear"),
}


def _check_training(train: ir.Train, model: ir.Model, output: Shape, activation: str) -> None:
    loss = train.loss
    allowed = LOGIT_LOSSES.get(loss.kind)
    if allowed and activation not in allowed:
        raise DslError(
            f"{loss.kind} needs a {allowed[0]} or linear output, but the model ends in"
            f" {activation}",
            loss.span,
        )
    if loss.kind == "binary_crossentropy" and output != (1,):
        hint = ""
        if len(output) == 1:
            hint = f" (for {output[0]} classes use categorical_crossentropy)"
        raise DslError(
            f"binary_crossentropy needs a model with 1 output, got shape {_fmt(output)}{hint}",
            loss.span,
        )
    if loss.kind != "binary_crossentropy" and len(output) != 1:
        raise DslError(
            f"{loss.kind} needs a model output of shape (classes,), got {_fmt(output)}"
            " (missing flatten()?)",
            loss.span,
        )
    dataset = train.dataset
    if isinstance(dataset, ir.Mnist):
        size = math.prod(model.input.shape)
        if isinstance(model.input, ir.Tokens) or size != 784:
            written = ", ".join(str(d) for d in model.input.shape)
            raise DslError(
                f"mnist gives 28x28x1 images (784 values), but input"
                f" {model.input.kind}({written}) holds {size}",
                dataset.span,
            )
        if output != (dataset.classes,):
            raise DslError(
                f"mnist has {dataset.classes} classes, but the model outputs shape {_fmt(output)}"
                f" (end with dense({dataset.classes}))",
                dataset.span,
            )


def analyse(spec: ir.Spec, source: str = "<spec>") -> ir.Program:
    """Infer every layer's shapes and weights; raise DslError where a layer does not fit."""
    model = spec.model
    shape: Shape = model.input.shape
    is_tokens = isinstance(model.input, ir.Tokens)
    layers, output_activation = _split_output_activation(model.layers, spec.train)
    counts: dict[str, int] = {}
    infos = []
    for index, op in enumerate(layers):
        if is_tokens and index == 0 and not isinstance(op, ir.Embedding):
            raise DslError(f"tokens input must feed an embedding, not {op.kind}", op.span)
        if isinstance(op, ir.Embedding) and not (is_tokens and index == 0):
            raise DslError("embedding must be the first layer after a tokens input", op.span)
        counts[op.kind] = counts.get(op.kind, 0) + 1
        name = f"{op.kind}_{counts[op.kind]}"
        out, weights, padding = RULES[type(op)](op, shape, name)
        if any(d <= 0 for d in out):
            raise DslError(f"{op.kind} leaves no output: shape {_fmt(out)}", op.span)
        infos.append(
            ir.LayerInfo(
                name=name,
                op=op,
                input_shape=shape,
                output_shape=out,
                weights=weights,
                padding=padding,
            )
        )
        shape = out
    if spec.train is not None:
        _check_training(spec.train, model, shape, output_activation)
    from_logits = spec.train is not None and spec.train.loss.kind in LOGIT_LOSSES
    return ir.Program(
        source=source,
        spec=spec,
        layers=tuple(infos),
        output_activation=output_activation,
        loss_from_logits=from_logits,
    )
