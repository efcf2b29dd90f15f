"""The MXNet Gluon target: views of the IR that `module.py.j2` renders.

Gluon computes convolutions and pools channels-first (NCHW / NCW: its NHWC layout fails on
CPU), so the forward pass is planned here as a flat list of steps: the layers plus the
transposes between the canonical channels-last layout and Gluon's. Everything a template
needs (argument dicts, paddings, axes, parameter layouts) is computed in this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nndsl import ir
from nndsl.targets import Target, ir_kinds

View = dict[str, Any]

# Layers that compute channels-first in Gluon, and those that need the canonical
# channels-last order (dense acts on the last axis; flatten/reshape keep (H, W, C) order).
CHANNELS_FIRST = {"conv1d", "conv2d", "maxpool1d", "maxpool2d", "avgpool1d", "avgpool2d"}
CHANNELS_LAST = {"dense", "flatten", "reshape", "embedding"}

# Activations a Gluon Dense/Conv block applies itself (its `activation=` goes to F.Activation).
FUSED_ACTIVATIONS = {"relu", "sigmoid", "tanh"}

# IR initialiser -> (module constant, mx.init class, arguments). Keras' glorot/he normal draw
# from a truncated normal of the same standard deviation; mx.init.Xavier's is untruncated.
INITIALIZERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "glorot_uniform": (
        "GLOROT_UNIFORM",
        "Xavier",
        {"rnd_type": "uniform", "factor_type": "avg", "magnitude": 3},
    ),
    "glorot_normal": (
        "GLOROT_NORMAL",
        "Xavier",
        {"rnd_type": "gaussian", "factor_type": "avg", "magnitude": 1},
    ),
    "he_uniform": (
        "HE_UNIFORM",
        "Xavier",
        {"rnd_type": "uniform", "factor_type": "in", "magnitude": 6},
    ),
    "he_normal": (
        "HE_NORMAL",
        "Xavier",
        {"rnd_type": "gaussian", "factor_type": "in", "magnitude": 2},
    ),
    "zeros": ("ZEROS", "Zero", {}),
    "ones": ("ONES", "One", {}),
    "uniform": ("UNIFORM", "Uniform", {"scale": ir.EMBEDDING_UNIFORM_LIMIT}),
}

# canonical parameter -> (Gluon Parameter attribute, constructor keyword of its initialiser)
PARAMETERS = {
    "kernel": ("weight", "weight_initializer"),
    "bias": ("bias", "bias_initializer"),
    "gamma": ("gamma", "gamma_initializer"),
    "beta": ("beta", "beta_initializer"),
    "moving_mean": ("running_mean", "running_mean_initializer"),
    "moving_variance": ("running_var", "running_variance_initializer"),
    "embeddings": ("weight", "weight_initializer"),
}


def _to_gluon_axes(layer: ir.LayerInfo, param: str, rank: int) -> tuple[int, ...]:
    """np.transpose axes taking a canonical array to Gluon's layout."""
    if param == "kernel" and layer.op.kind == "dense":
        return (1, 0)  # (in, out) -> (out, in)
    if param == "kernel":
        spatial = rank - 2
        return (spatial + 1, spatial, *range(spatial))  # (*k, in, out) -> (out, in, *k)
    return tuple(range(rank))


def _block(layer: ir.LayerInfo, block: str, args: View) -> View:
    """A child block: its class in gluon.nn, literal arguments, one initialiser per parameter."""
    inits = {}
    for weight in layer.weights:
        param = weight.name.rsplit(".", 1)[1]
        inits[PARAMETERS[param][1]] = INITIALIZERS[weight.initializer][0]
    return {
        "name": layer.name,
        "block": block,
        "args": args,
        "inits": inits,
        "prefix": f"{layer.name}_",
    }


def _step(kind: str, **fields: Any) -> View:
    return {"kind": kind, **fields}


class _Plan:
    """Walks the layers once, tracking whether the tensor is channels-first."""

    def __init__(self) -> None:
        self.children: list[View] = []
        self.steps: list[View] = []
        self.channels_first = False

    def transpose(self, rank: int, to_first: bool) -> None:
        """Move the channels axis of a batch of rank-`rank` samples to 1 or back to -1."""
        if to_first:
            axes = (0, rank, *range(1, rank))
        else:
            axes = (0, *range(2, rank + 1), 1)
        self.steps.append(_step("transpose", axes=axes, to_first=to_first))
        self.channels_first = to_first

    def channels_axis(self, layer: ir.LayerInfo) -> int:
        return 1 if self.channels_first else len(layer.input_shape)

    def add(self, layer: ir.LayerInfo) -> None:
        kind = layer.op.kind
        rank = len(layer.input_shape)
        if kind in CHANNELS_FIRST and not self.channels_first:
            self.transpose(rank, to_first=True)
        if kind in CHANNELS_LAST and self.channels_first:
            self.transpose(rank, to_first=False)
        LAYER_VIEWS[kind](self, layer)
        activation = getattr(layer.op, "activation", None)
        if activation is not None and activation.kind not in FUSED_ACTIVATIONS | {"linear"}:
            ACTIVATION_VIEWS[activation.kind](self, layer, activation)
        if len(layer.output_shape) < 2:
            self.channels_first = False  # (features,) has no layout

    def finish(self, shape: tuple[int, ...]) -> None:
        if self.channels_first:
            self.transpose(len(shape), to_first=False)


def _fused(op: ir.Node) -> View:
    activation = getattr(op, "activation", None)
    if activation is not None and activation.kind in FUSED_ACTIVATIONS:
        return {"activation": activation.kind}
    return {}


def _pad(layer: ir.LayerInfo) -> View | None:
    """An explicit pad for asymmetric TF `same` padding (None when the block can pad)."""
    if all(before == after for before, after in layer.padding):
        return None
    pairs = [side for pair in layer.padding for side in pair]
    # mx pad takes 4-D/5-D input only: a 1-D window op pads an (N, C, 1, W) view
    width = (0, 0, 0, 0, *([0, 0] * (2 - len(layer.padding))), *pairs)
    return {"width": width, "expand": len(layer.padding) == 1}


def _symmetric(layer: ir.LayerInfo) -> tuple[int, ...]:
    if _pad(layer) is not None:
        return (0,) * len(layer.padding)
    return tuple(before for before, _ in layer.padding)


def _dense(plan: _Plan, layer: ir.LayerInfo) -> None:
    op: ir.Dense = layer.op
    args = {
        "units": op.units,
        "in_units": layer.input_shape[-1],
        "use_bias": op.use_bias,
        "flatten": False,
        **_fused(op),
    }
    plan.children.append(_block(layer, "Dense", args))
    plan.steps.append(_step("dense", name=layer.name))


def _conv(plan: _Plan, layer: ir.LayerInfo) -> None:
    op: ir._Conv = layer.op
    args = {
        "channels": op.filters,
        "kernel_size": op.kernel,
        "strides": op.stride,
        "padding": _symmetric(layer),
        "dilation": op.dilation,
        "groups": op.groups,
        "layout": "NCHW" if op.rank == 2 else "NCW",
        "in_channels": layer.input_shape[-1],
        "use_bias": op.use_bias,
        **_fused(op),
    }
    plan.children.append(_block(layer, "Conv2D" if op.rank == 2 else "Conv1D", args))
    plan.steps.append(_step(op.kind, name=layer.name, pad=_pad(layer)))


def _pool(plan: _Plan, layer: ir.LayerInfo) -> None:
    op: ir._Pool = layer.op
    is_max = op.kind.startswith("max")
    args: View = {
        "pool_size": op.size,
        "strides": op.stride,
        "padding": _symmetric(layer),
        "layout": "NCHW" if op.rank == 2 else "NCW",
    }
    if not is_max:
        args["count_include_pad"] = False
    block = ("MaxPool" if is_max else "AvgPool") + ("2D" if op.rank == 2 else "1D")
    plan.children.append(_block(layer, block, args))
    plan.steps.append(_step(op.kind, name=layer.name, pad=_pad(layer)))


def _global_pool(plan: _Plan, layer: ir.LayerInfo) -> None:
    axes = (2, 3) if plan.channels_first else (1, 2)
    plan.steps.append(_step(layer.op.kind, axes=axes))


def _flatten(plan: _Plan, layer: ir.LayerInfo) -> None:
    plan.steps.append(_step("flatten"))


def _reshape(plan: _Plan, layer: ir.LayerInfo) -> None:
    # mx reshape: 0 copies the batch size, the rest is the IR's inferred target shape
    plan.steps.append(_step("reshape", shape=(0, *layer.output_shape)))


def _dropout(plan: _Plan, layer: ir.LayerInfo) -> None:
    plan.children.append(_block(layer, "Dropout", {"rate": layer.op.rate}))
    plan.steps.append(_step("dropout", name=layer.name))


def _batchnorm(plan: _Plan, layer: ir.LayerInfo) -> None:
    op: ir.BatchNorm = layer.op
    args = {
        "axis": plan.channels_axis(layer),
        "momentum": op.momentum,
        "epsilon": op.epsilon,
        "center": op.center,
        "scale": op.scale,
        "in_channels": layer.input_shape[-1],
    }
    plan.children.append(_block(layer, "BatchNorm", args))
    plan.steps.append(_step("batchnorm", name=layer.name))


def _embedding(plan: _Plan, layer: ir.LayerInfo) -> None:
    op: ir.Embedding = layer.op
    args = {"input_dim": op.input_dim, "output_dim": op.output_dim}
    plan.children.append(_block(layer, "Embedding", args))
    plan.steps.append(_step("embedding", name=layer.name))


def _activation_layer(plan: _Plan, layer: ir.LayerInfo) -> None:
    ACTIVATION_VIEWS[layer.op.kind](plan, layer, layer.op)


def _activation(plan: _Plan, layer: ir.LayerInfo, op: ir.Node) -> None:
    plan.steps.append(_step(op.kind))


def _softmax(plan: _Plan, layer: ir.LayerInfo, op: ir.Node) -> None:
    spatial = plan.channels_first and len(layer.output_shape) > 1
    plan.steps.append(_step("softmax", axis=1 if spatial else -1))


def _leaky_relu(plan: _Plan, layer: ir.LayerInfo, op: ir.LeakyRelu) -> None:
    plan.steps.append(_step("leaky_relu", slope=op.negative_slope))


def _elu(plan: _Plan, layer: ir.LayerInfo, op: ir.Elu) -> None:
    plan.steps.append(_step("elu", alpha=op.alpha))


def _gelu(plan: _Plan, layer: ir.LayerInfo, op: ir.Gelu) -> None:
    plan.steps.append(_step("gelu", approximate=op.approximate))


ACTIVATION_VIEWS: dict[str, Callable[..., None]] = {
    "linear": lambda plan, layer, op: None,
    "relu": _activation,
    "sigmoid": _activation,
    "tanh": _activation,
    "softmax": _softmax,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "selu": _activation,
    "gelu": _gelu,
    "silu": _activation,
}

LAYER_VIEWS: dict[str, Callable[[_Plan, ir.LayerInfo], None]] = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "maxpool1d": _pool,
    "maxpool2d": _pool,
    "avgpool1d": _pool,
    "avgpool2d": _pool,
    "global_avgpool2d": _global_pool,
    "global_maxpool2d": _global_pool,
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "embedding": _embedding,
    **{kind: _activation_layer for kind in ir.ACTIVATIONS},
}


def _parameters(program: ir.Program) -> list[View]:
    """One row per canonical weight: the child block, Gluon's name, the layout axes."""
    rows = []
    for layer in program.layers:
        for weight in layer.weights:
            param = weight.name.rsplit(".", 1)[1]
            rows.append(
                {
                    "name": weight.name,
                    "block": layer.name,
                    "param": PARAMETERS[param][0],
                    "axes": _to_gluon_axes(layer, param, len(weight.shape)),
                }
            )
    return rows


def _initializers(children: list[View]) -> list[View]:
    used = {name for child in children for name in child["inits"].values()}
    return [
        {"name": name, "cls": cls, "args": args, "untruncated": args.get("rnd_type") == "gaussian"}
        for name, cls, args in INITIALIZERS.values()
        if name in used
    ]


# --- training: loss and optimizer views ---

LOSSES = {
    "categorical_crossentropy": ("SoftmaxCrossEntropyLoss", {"axis": -1, "sparse_label": False}),
    "sparse_categorical_crossentropy": (
        "SoftmaxCrossEntropyLoss",
        {"axis": -1, "sparse_label": True},
    ),
    "binary_crossentropy": ("SigmoidBinaryCrossEntropyLoss", {"from_sigmoid": False}),
    "mse": ("L2Loss", {"weight": 2.0}),
    "mae": ("L1Loss", {}),
}


def _loss(program: ir.Program, train: ir.Train) -> View:
    cls, args = LOSSES[train.loss.kind]
    return {
        "kind": train.loss.kind,
        "cls": cls,
        "args": args,
        "outputs": program.output_activation,
    }


def _trainer(
    builtin: str | None, params: dict[str, str], cls: str | None = None, **extra: Any
) -> View:
    """Trainer arguments: a registered MXNet optimizer (`builtin`) or a template class (`cls`).

    `params` maps MXNet's argument names to the module's constants; `fixed` holds literal
    extras (MXNet's `wd` is an L2 term in the gradient, which no IR optimizer has).
    """
    return {"builtin": builtin, "cls": cls, "params": params, "fixed": {"wd": 0.0}, **extra}


def _sgd(opt: ir.Sgd) -> View:
    params = {"learning_rate": "LEARNING_RATE", "momentum": "MOMENTUM"}
    return _trainer("nag" if opt.nesterov else "sgd", params, nesterov=opt.nesterov)


ADAM_PARAMS = {
    "learning_rate": "LEARNING_RATE",
    "beta1": "BETA_1",
    "beta2": "BETA_2",
    "epsilon": "EPSILON",
}


def _adam(opt: ir.Adam) -> View:
    return _trainer("adam", ADAM_PARAMS)


def _adamw(opt: ir.AdamW) -> View:
    return _trainer(None, {**ADAM_PARAMS, "weight_decay": "WEIGHT_DECAY"}, cls="AdamW")


def _rmsprop(opt: ir.RmsProp) -> View:
    params = {
        "learning_rate": "LEARNING_RATE",
        "gamma1": "RHO",
        "gamma2": "MOMENTUM",
        "epsilon": "EPSILON",
        "centered": "CENTERED",
    }
    if opt.momentum > 0 and not opt.centered:  # MXNet's plain rmsprop_update has no momentum
        del params["centered"]
        return _trainer(None, params, cls="RMSProp")
    return _trainer("rmsprop", params)


def _adadelta(opt: ir.Adadelta) -> View:
    params = {"rho": "RHO", "epsilon": "EPSILON"}
    if opt.learning_rate != 1.0:  # MXNet's AdaDelta has no learning rate (it is 1)
        return _trainer(None, {"learning_rate": "LEARNING_RATE", **params}, cls="AdaDelta")
    return _trainer("adadelta", params)


def _adagrad(opt: ir.Adagrad) -> View:
    params = {
        "learning_rate": "LEARNING_RATE",
        "initial_accumulator_value": "INITIAL_ACCUMULATOR_VALUE",
        "eps": "EPSILON",
    }
    return _trainer(None, params, cls="AdaGrad")


OPTIMIZER_VIEWS: dict[str, Callable[[Any], View]] = {
    "sgd": _sgd,
    "adam": _adam,
    "adamw": _adamw,
    "rmsprop": _rmsprop,
    "adadelta": _adadelta,
    "adagrad": _adagrad,
}


def _optimizer(opt: ir.Node) -> View:
    return {"kind": opt.kind, **OPTIMIZER_VIEWS[opt.kind](opt)}


# --- CPU threading ---

PREDICT_BATCH_SIZE = 1024

# Multiply-adds per step (one batch) above which a network is compute-bound on CPU: then
# synchronous compute on every core (NaiveEngine, OpenMP on all cores) beats MXNet's
# default threading, which overlaps Python's op dispatch with compute on half the cores.
# Measured per epoch of MNIST on 2 cores: cnn (312M per batch) 1.45x and lenet5 (53M)
# 1.15x faster; mlp (20M) and stride (7.6M) 1.5x and 1.4x slower.
COMPUTE_BOUND_MACS = 32_000_000


def _macs(layer: ir.LayerInfo) -> int:
    """Multiply-adds per sample of a dense or conv layer (0 for the rest)."""
    op = layer.op
    if op.kind == "dense":
        return math.prod(layer.input_shape) * op.units
    if op.kind in ("conv1d", "conv2d"):
        per_output = math.prod(op.kernel) * layer.input_shape[-1] // op.groups
        return math.prod(layer.output_shape) * per_output
    return 0


def compute_bound(program: ir.Program) -> bool:
    train = program.spec.train
    batch = train.dataset.batch_size if train else PREDICT_BATCH_SIZE
    return batch * sum(_macs(layer) for layer in program.layers) >= COMPUTE_BOUND_MACS


def context(program: ir.Program) -> dict[str, Any]:
    """Template variables of the gluon target."""
    plan = _Plan()
    for layer in program.layers:
        plan.add(layer)
    plan.finish(program.output_shape)
    train = program.spec.train
    return {
        "children": plan.children,
        "steps": plan.steps,
        "initializers": _initializers(plan.children),
        "parameters": _parameters(program),
        "loss": _loss(program, train) if train else None,
        "optimizer": _optimizer(train.optimizer) if train else None,
        "labels": train.loss.labels if train else None,
        "compute_bound": compute_bound(program),
        "predict_batch_size": PREDICT_BATCH_SIZE,
    }


TARGET = Target(
    name="gluon",
    framework="mxnet",
    description="MXNet 1.9 Gluon: a hybridized HybridBlock trained with gluon.Trainer",
    context=context,
    kinds=frozenset(ir_kinds()),
    unsupported={},
)
