"""PyTorch target: an `nn.Module` per spec, channels-first inside, canonical at the edges.

Everything the template needs is computed here from the IR and handed over as small view
objects: the template only places them. Layout rule: a tensor whose canonical shape (no batch
axis) has rank >= 2 is kept channels-first (NCL / NCHW); rank-1 tensors are the same in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nndsl import ir
from nndsl.targets import Target


@dataclass(frozen=True)
class Call:
    """`fn(<first>, *args, **kwargs)`; args and kwargs are rendered with `lit`/`kwargs`."""

    fn: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Init:
    """One initialiser call on `self.<layer>.<attr>`."""

    attr: str
    call: Call


@dataclass(frozen=True)
class LayerView:
    """What the template needs for one layer.

    module: constructor of the `self.<name>` submodule (None for functional layers).
    activation: applied to the layer's result (fused activation, or the layer itself).
    pad: `F.pad` widths (last axis first) for asymmetric TF `same` padding, else ().
    to_last / to_first: permutations applied before / after the layer to move the
    channels axis last (canonical) / back to axis 1.
    shape: reshape target including the batch axis as -1.
    """

    name: str
    kind: str
    module: Call | None = None
    activation: Call | None = None
    pad: tuple[int, ...] = ()
    to_last: tuple[int, ...] = ()
    to_first: tuple[int, ...] = ()
    shape: tuple[int, ...] = ()
    inits: tuple[Init, ...] = ()


@dataclass(frozen=True)
class WeightView:
    """A canonical array and where it lives in the torch model."""

    name: str
    shape: tuple[int, ...]
    key: str  # state_dict key
    axes: tuple[int, ...]  # np.transpose axes taking the canonical layout to torch's


@dataclass(frozen=True)
class LossView:
    """The loss: its module, the activation applied before it, the target encoding."""

    kind: str
    criterion: Call
    activation: Call | None  # output activation for mse/mae, None when the loss takes logits
    targets: str  # "classes" (int64 indices), "column" ((N, 1) floats) or "one_hot"
    threshold: float | None  # one output unit: predicted class = logit > threshold


# --- small helpers ---


def _compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """`(3, 3)` -> `3` (torch accepts an int for every spatial axis), else the tuple."""
    return values[0] if len(set(values)) == 1 else values


def _to_first(rank: int) -> tuple[int, ...]:
    """Permutation (batch, *spatial, C) -> (batch, C, *spatial) for a canonical rank."""
    return (0, rank, *range(1, rank))


def _to_last(rank: int) -> tuple[int, ...]:
    """Permutation (batch, C, *spatial) -> (batch, *spatial, C)."""
    return (0, *range(2, rank + 1), 1)


def _channels_first(shape: tuple[int, ...]) -> bool:
    return len(shape) >= 2


def _pad_widths(padding: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """TF (before, after) per spatial axis -> `F.pad` widths, last axis first."""
    return tuple(width for axis in reversed(padding) for width in axis)


def _symmetric(padding: tuple[tuple[int, int], ...]) -> bool:
    return all(before == after for before, after in padding)


def _module_padding(padding: tuple[tuple[int, int], ...]) -> int | tuple[int, ...]:
    """The module's own (symmetric) padding; 0 when an explicit F.pad does it instead."""
    return _compact(tuple(before for before, _ in padding)) if _symmetric(padding) else 0


def _activation(op: ir.Node, channels_first: bool = True) -> Call | None:
    """The functional call for an activation node, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind == "softmax":
        return Call("F.softmax", kwargs={"dim": 1 if channels_first else -1})
    if kind == "leaky_relu":
        return Call("F.leaky_relu", kwargs={"negative_slope": op.negative_slope})
    if kind == "elu":
        return Call("F.elu", kwargs={"alpha": op.alpha})
    if kind == "gelu":
        return Call("F.gelu", kwargs={"approximate": "tanh" if op.approximate else "none"})
    if kind in ("sigmoid", "tanh"):
        return Call(f"torch.{kind}")
    return Call(f"F.{kind}")  # relu, selu, silu: no parameters


def _init_call(weight: ir.Weight) -> Call:
    """The torch initialiser equal to the IR's (Keras') for this canonical shape."""
    init, shape = weight.initializer, weight.shape
    fan_in, fan_out = weight.fans
    if init in ("zeros", "ones"):
        return Call(f"nn.init.{init}_")
    if init == "uniform":
        limit = ir.EMBEDDING_UNIFORM_LIMIT
        return Call("nn.init.uniform_", kwargs={"a": -limit, "b": limit})
    if init.endswith("_normal"):
        fans = fan_in if init == "he_normal" else (fan_in + fan_out) / 2
        scale = 2.0 if init == "he_normal" else 1.0
        std = math.sqrt(scale / fans) / ir.TRUNCATED_NORMAL_STDDEV
        return Call("nn.init.trunc_normal_", kwargs={"std": std, "a": -2 * std, "b": 2 * std})
    if len(shape) >= 2:  # torch's fans equal Keras' for (out, in, *spatial) tensors
        if init == "glorot_uniform":
            return Call("nn.init.xavier_uniform_", kwargs={"gain": 1.0})
        return Call("nn.init.kaiming_uniform_", kwargs={"mode": "fan_in", "nonlinearity": "relu"})
    # torch computes no fans for 1-D tensors: give the limit Keras uses
    limit = math.sqrt(6.0 / (fan_in + fan_out) if init == "glorot_uniform" else 6.0 / fan_in)
    return Call("nn.init.uniform_", kwargs={"a": -limit, "b": limit})


# canonical parameter name -> torch attribute of the layer
_TORCH_PARAM = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
    "embeddings": "weight",
}


def _torch_axes(weight: ir.Weight) -> tuple[int, ...]:
    """Transpose axes from the canonical layout to torch's."""
    rank = len(weight.shape)
    if weight.name.endswith(".kernel") and rank == 2:
        return (1, 0)  # dense (in, out) -> (out, in)
    if weight.name.endswith(".kernel"):
        spatial = rank - 2  # conv (*spatial, in, out) -> (out, in, *spatial)
        return (spatial + 1, spatial, *range(spatial))
    return tuple(range(rank))


def _inits(layer: ir.LayerInfo) -> tuple[Init, ...]:
    return tuple(
        Init(_TORCH_PARAM[w.name.rsplit(".", 1)[1]], _init_call(w)) for w in layer.weights
    )


# --- one view function per IR layer kind ---


def _dense(layer: ir.LayerInfo) -> LayerView:
    op: ir.Dense = layer.op
    rank = len(layer.input_shape)
    kwargs = {} if op.use_bias else {"bias": False}
    # a dense layer acts on the canonical last axis: move channels last around it
    around = _channels_first(layer.input_shape)
    return LayerView(
        name=layer.name,
        kind=op.kind,
        module=Call("nn.Linear", (layer.input_shape[-1], op.units), kwargs),
        activation=_activation(op.activation, channels_first=not around),
        to_last=_to_last(rank) if around else (),
        to_first=_to_first(rank) if around else (),
        inits=_inits(layer),
    )


def _conv(layer: ir.LayerInfo) -> LayerView:
    op: ir._Conv = layer.op
    symmetric = _symmetric(layer.padding)
    kwargs: dict[str, Any] = {
        "kernel_size": _compact(op.kernel),
        "stride": _compact(op.stride),
        "padding": _module_padding(layer.padding),
    }
    if max(op.dilation) > 1:
        kwargs["dilation"] = _compact(op.dilation)
    if op.groups > 1:
        kwargs["groups"] = op.groups
    if not op.use_bias:
        kwargs["bias"] = False
    cls = f"nn.Conv{op.rank}d"
    return LayerView(
        name=layer.name,
        kind=op.kind,
        module=Call(cls, (layer.input_shape[-1], op.filters), kwargs),
        activation=_activation(op.activation),
        pad=() if symmetric else _pad_widths(layer.padding),
        inits=_inits(layer),
    )


def _pool(layer: ir.LayerInfo) -> LayerView:
    """Max and average pools. Symmetric padding goes into the module (max pools pad with
    -inf; average pools get count_include_pad=False); asymmetric padding becomes an explicit
    F.pad in the template (-inf for max; for average, zeros and a division by each window's
    share of real cells), so padding never wins a max nor counts in a mean."""
    op: ir._Pool = layer.op
    symmetric = _symmetric(layer.padding)
    average = op.kind.startswith("avg")
    kwargs: dict[str, Any] = {
        "kernel_size": _compact(op.size),
        "stride": _compact(op.stride),
        "padding": _module_padding(layer.padding),
    }
    if average and symmetric:
        kwargs["count_include_pad"] = False
    cls = f"nn.{'AvgPool' if average else 'MaxPool'}{op.rank}d"
    return LayerView(
        name=layer.name,
        kind=op.kind,
        module=Call(cls, kwargs=kwargs),
        pad=() if symmetric else _pad_widths(layer.padding),
    )


def _plain(layer: ir.LayerInfo) -> LayerView:
    """Layers written inline in forward with no parameters (global pools)."""
    return LayerView(name=layer.name, kind=layer.op.kind)


def _flatten(layer: ir.LayerInfo) -> LayerView:
    rank = len(layer.input_shape)
    to_last = _to_last(rank) if _channels_first(layer.input_shape) else ()
    return LayerView(name=layer.name, kind=layer.op.kind, to_last=to_last)


def _reshape(layer: ir.LayerInfo) -> LayerView:
    rank_in, rank_out = len(layer.input_shape), len(layer.output_shape)
    return LayerView(
        name=layer.name,
        kind=layer.op.kind,
        to_last=_to_last(rank_in) if _channels_first(layer.input_shape) else (),
        to_first=_to_first(rank_out) if _channels_first(layer.output_shape) else (),
        shape=(-1, *layer.output_shape),
    )


def _dropout(layer: ir.LayerInfo) -> LayerView:
    return LayerView(
        name=layer.name, kind=layer.op.kind, module=Call("nn.Dropout", kwargs={"p": layer.op.rate})
    )


def _batchnorm(layer: ir.LayerInfo) -> LayerView:
    op: ir.BatchNorm = layer.op
    kwargs = {
        # torch's momentum weighs the new batch statistic: 1 - the IR's (Keras') momentum
        "momentum": round(1.0 - op.momentum, 12),
        "eps": op.epsilon,
        "center": op.center,
        "scale": op.scale,
    }
    return LayerView(
        name=layer.name,
        kind=op.kind,
        module=Call("BatchNorm", (layer.input_shape[-1],), kwargs),
        inits=_inits(layer),
    )


def _embedding(layer: ir.LayerInfo) -> LayerView:
    op: ir.Embedding = layer.op
    return LayerView(
        name=layer.name,
        kind=op.kind,
        module=Call("nn.Embedding", (op.input_dim, op.output_dim)),
        to_first=_to_first(len(layer.output_shape)),
        inits=_inits(layer),
    )


def _activation_layer(layer: ir.LayerInfo) -> LayerView:
    return LayerView(name=layer.name, kind=layer.op.kind, activation=_activation(layer.op))


LAYERS: dict[str, Callable[[ir.LayerInfo], LayerView]] = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "maxpool1d": _pool,
    "maxpool2d": _pool,
    "avgpool1d": _pool,
    "avgpool2d": _pool,
    "global_avgpool2d": _plain,
    "global_maxpool2d": _plain,
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "embedding": _embedding,
    **{kind: _activation_layer for kind in ir.ACTIVATIONS},
}

# --- losses ---

_CRITERIA = {
    "categorical_crossentropy": "nn.CrossEntropyLoss",
    "sparse_categorical_crossentropy": "nn.CrossEntropyLoss",
    "binary_crossentropy": "nn.BCEWithLogitsLoss",
    "mse": "nn.MSELoss",
    "mae": "nn.L1Loss",
}


def _loss(program: ir.Program) -> LossView | None:
    train = program.spec.train
    if train is None:
        return None
    loss = train.loss
    one_unit = program.output_shape == (1,)
    # cross-entropy on class indices equals cross-entropy on one-hot rows: no conversion
    from_classes = loss.kind in ("categorical_crossentropy", "sparse_categorical_crossentropy")
    activation = None
    if not program.loss_from_logits and program.output_activation != "linear":
        activation = _activation(ir.ACTIVATIONS[program.output_activation]())
    return LossView(
        kind=loss.kind,
        criterion=Call(_CRITERIA[loss.kind], kwargs={"reduction": loss.reduction}),
        activation=activation,
        targets="classes" if from_classes else "column" if one_unit else "one_hot",
        threshold=(
            (0.0 if program.output_activation == "sigmoid" else 0.5)
            if one_unit and not from_classes
            else None
        ),
    )


# --- the template context ---


def _weights(program: ir.Program) -> list[WeightView]:
    views = []
    for weight in program.weights:
        layer, param = weight.name.rsplit(".", 1)
        views.append(
            WeightView(
                weight.name, weight.shape, f"{layer}.{_TORCH_PARAM[param]}", _torch_axes(weight)
            )
        )
    return views


def context(program: ir.Program) -> dict[str, Any]:
    """Template variables for the torch target."""
    views = [LAYERS[layer.op.kind](layer) for layer in program.layers if layer.op.kind != "linear"]
    input_rank = len(program.input_shape)
    image_like = program.spec.model.input.kind != "tokens" and input_rank >= 2
    loss = _loss(program)
    output_rank = len(program.output_shape)
    calls = [v.activation for v in views] + [loss.activation if loss else None]
    uses_functional = (
        any(call is not None and call.fn.startswith("F.") for call in calls)
        or any(v.pad or v.kind == "batchnorm" for v in views)
        or (loss is not None and loss.targets == "one_hot")
    )
    return {
        "layer_views": views,
        "input_to_first": _to_first(input_rank) if image_like else (),
        "output_to_last": _to_last(output_rank) if output_rank >= 2 else (),
        "has_batchnorm": any(v.kind == "batchnorm" for v in views),
        "uses_functional": uses_functional,
        "loss": loss,
        "weights": _weights(program),
    }


TARGET = Target(
    name="torch",
    framework="torch",
    description="PyTorch: an nn.Module with an explicit forward, NCHW inside",
    context=context,
    kinds=frozenset({*LAYERS, *ir.INPUTS, *ir.DATASETS, *_CRITERIA, *ir.OPTIMIZERS}),
    unsupported={},
)
