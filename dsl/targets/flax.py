"""Flax: an `nnx.Module` per spec, channels-last like the IR, trained with Optax.

NNX, not Linen: Flax 0.12 recommends it, and its stateful modules fit the module contract as
they are (`import_weights`, `train_step` and BatchNorm's statistics change the model in place,
as in torch), with parameters named and shaped as the canonical weights (`conv2d_1.kernel`
is `model.conv2d_1.kernel`, HWIO). JAX's convolutions and pools take explicit (before, after)
padding, so `node.padding` (TF's `same` rule, the transposed conv's crop) goes in as it is.
What Flax's defaults would get wrong (lecun_normal kernels, `SAME` convolutions, pools of
stride 1, the tanh GELU, Adam's epsilon) is decided here and emitted explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.views import Call, LayerView, Site, WeightView

# --- activations (as layers and as `activation=`) ---

_PLAIN = ("relu", "relu6", "sigmoid", "tanh", "softmax", "selu", "silu")


def activation(op: ir.Node) -> Call | None:
    """The call applying an activation node, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call(f"nnx.{kind}")
    if kind == "leaky_relu":
        return Call("nnx.leaky_relu", kwargs={"negative_slope": op.negative_slope})
    if kind == "elu":
        return Call("nnx.elu", kwargs={"alpha": op.alpha} if op.alpha != 1.0 else {})
    assert kind == "gelu"  # jax's gelu is the tanh form unless told otherwise
    return Call("nnx.gelu", kwargs={} if op.approximate else {"approximate": False})


def _view(
    macro: str, node: ir.NodeInfo, site: Site, build: Call | None = None, **args: Any
) -> LayerView:
    fused = getattr(node.op, "activation", None)
    act = activation(fused) if isinstance(fused, ir.ActivationOp) else None
    return LayerView(macro, node.name, site, build, act, args)


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("activation", node.name, site, activation=activation(node.op))


# --- initialisers: the IR's (Keras') as Flax initialisers, module constants where used ---


@dataclass(frozen=True)
class Ref:
    """A module-level name used as an argument (rendered as it is, not as a literal)."""

    name: str


_INITS = {
    "glorot_uniform": Call("nnx.initializers.glorot_uniform"),
    "glorot_normal": Call("nnx.initializers.glorot_normal"),  # truncated, as Keras'
    "he_uniform": Call("nnx.initializers.he_uniform"),
    "he_normal": Call("nnx.initializers.he_normal"),
    "orthogonal": Call("nnx.initializers.orthogonal"),
    "zeros": Call("nnx.initializers.zeros_init"),
    "ones": Call("nnx.initializers.ones_init"),
    "uniform": Call("uniform", (ir.EMBEDDING_UNIFORM_LIMIT,)),
    "unit_forget_bias": Call("unit_forget_bias"),
}
# a layer's own starting values: no argument is emitted where the IR's equals them
_DEFAULTS = {"kernel_init": "lecun_normal", "bias_init": "zeros"}
_SUPPORT_DEFAULTS = {"kernel_init": "glorot_uniform", "bias_init": "zeros"}
_RNN_DEFAULTS = {"kernel_init": "glorot_uniform", "recurrent_init": "orthogonal"}


def _inits(node: ir.NodeInfo, defaults: dict[str, str], **names: str) -> dict[str, Ref]:
    """`{kwarg: initialiser}` for the node's weights whose IR initialiser differs from the
    layer's default; `names` maps each kwarg to the weight's parameter name."""
    by_param = {w.param: w.initializer for w in node.weights}
    out = {}
    for kwarg, param in names.items():
        init = by_param.get(param)
        if init is not None and init != defaults.get(kwarg):
            out[kwarg] = Ref(init.upper())
    return out


# --- layers ---


def _padding(node: ir.NodeInfo) -> str | tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis, or "VALID" when there is none."""
    return node.padding if any(b or a for b, a in node.padding) else "VALID"


def _bias(op: ir._Kernel) -> dict[str, Any]:
    return {} if op.use_bias else {"use_bias": False}


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Dense = node.op
    kwargs = {**_bias(op), **_inits(node, _DEFAULTS, kernel_init="kernel", bias_init="bias")}
    build = Call("nnx.Linear", (node.input_shape[-1], op.units), kwargs)
    return _view("module", node, site, build)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Conv = node.op
    kwargs: dict[str, Any] = {}
    if max(op.stride) > 1:
        kwargs["strides"] = op.stride
    kwargs["padding"] = _padding(node)  # nnx.Conv's default is "SAME"
    if max(op.dilation) > 1:
        kwargs["kernel_dilation"] = op.dilation
    if op.groups > 1:
        kwargs["feature_group_count"] = op.groups
    kwargs |= _bias(op) | _inits(node, _DEFAULTS, kernel_init="kernel", bias_init="bias")
    build = Call("nnx.Conv", (node.input_shape[-1], op.filters, op.kernel), kwargs)
    return _view("module", node, site, build)


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    """transpose_kernel=True is the gradient of a convolution (Keras' kernel (kh, kw,
    filters, in) as it is); the IR's crop (b, a) of the full (n - 1)·s + k result is the
    padding (k - 1 - b, k - 1 - a) of the stride-dilated input."""
    op: ir.Conv2DTranspose = node.op
    padding = tuple((k - 1 - b, k - 1 - a) for (b, a), k in zip(node.padding, op.kernel))
    kwargs: dict[str, Any] = {"strides": op.stride} if max(op.stride) > 1 else {}
    kwargs |= {"padding": padding, "transpose_kernel": True}
    kwargs |= _bias(op) | _inits(node, _DEFAULTS, kernel_init="kernel", bias_init="bias")
    build = Call("nnx.ConvTranspose", (node.input_shape[-1], op.filters, op.kernel), kwargs)
    return _view("module", node, site, build)


def _window(node: ir.NodeInfo, stride: tuple[int, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"strides": stride} if max(stride) > 1 else {}
    if node.padding and any(b or a for b, a in node.padding):
        kwargs["padding"] = node.padding
    return kwargs


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    args = (node.input_shape[-1], op.kernel, op.depth_multiplier)
    kwargs = _window(node, op.stride) | _bias(op)
    kwargs |= _inits(node, _SUPPORT_DEFAULTS, kernel_init="kernel", bias_init="bias")
    return _view("module", node, site, Call("DepthwiseConv2D", args, kwargs))


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    args = (node.input_shape[-1], op.filters, op.kernel, op.depth_multiplier)
    kwargs = _window(node, op.stride) | _bias(op)
    kwargs |= _inits(node, _SUPPORT_DEFAULTS, kernel_init="depthwise_kernel", bias_init="bias")
    return _view("module", node, site, Call("SeparableConv2D", args, kwargs))


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    """Flax's pools default to stride 1 (the IR's to the window); max pads with -inf,
    average excludes the padding with count_include_pad=False."""
    op: ir._Pool = node.op
    average = op.kind.startswith("avg")
    kwargs = _window(node, op.stride)
    if average and "padding" in kwargs:
        kwargs["count_include_pad"] = False
    call = Call(f"nnx.{'avg' if average else 'max'}_pool", (op.size,), kwargs)
    return LayerView("function", node.name, site, args={"call": call})


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    axes = tuple(range(1, len(node.input_shape)))
    method = "mean" if "avg" in node.op.kind else "max"
    axis = axes[0] if len(axes) == 1 else axes
    return LayerView("method", node.name, site, args={"call": Call(method, (), {"axis": axis})})


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    call = Call("jnp.pad", (((0, 0), *node.padding, (0, 0)),))
    return LayerView("function", node.name, site, args={"call": call})


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("upsample", node.name, site, args={"size": node.op.size})


def _flatten(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("flatten", node.name, site)


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    call = Call("reshape", (-1, *node.output_shape))
    return LayerView("method", node.name, site, args={"call": call})


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("module", node, site, Call("nnx.Dropout", (node.op.rate,)))


def _norm(op: ir.BatchNorm | ir.LayerNorm) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"epsilon": op.epsilon}
    return kwargs | {
        f"use_{k}": False for k, v in (("bias", op.center), ("scale", op.scale)) if not v
    }


def _batchnorm(node: ir.NodeInfo, site: Site) -> LayerView:
    """Flax's momentum is Keras' (the weight of the old statistic) and its batch variance
    the biased one; the two-pass variance keeps float32 statistics exact."""
    op: ir.BatchNorm = node.op
    kwargs = {"momentum": op.momentum, **_norm(op), "use_fast_variance": False}
    return _view("module", node, site, Call("nnx.BatchNorm", (node.input_shape[-1],), kwargs))


def _layernorm(node: ir.NodeInfo, site: Site) -> LayerView:
    kwargs = {**_norm(node.op), "use_fast_variance": False}
    return _view("module", node, site, Call("nnx.LayerNorm", (node.input_shape[-1],), kwargs))


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    kwargs = {"embedding_init": Ref("UNIFORM")}  # Flax's default is variance scaling
    return _view("module", node, site, Call("nnx.Embed", (op.input_dim, op.output_dim), kwargs))


def _recurrent_call(
    layer: ir._Recurrent, node: ir.NodeInfo, cls: str, prefix: str = "", **extra: Any
) -> Call:
    kwargs: dict[str, Any] = {}
    if layer.kind == "simple_rnn" and layer.activation.kind != "tanh":
        kwargs["activation"] = layer.activation.kind
    if layer.return_sequences:
        kwargs["return_sequences"] = True
    if not layer.use_bias:
        kwargs["use_bias"] = False
    default_bias = "unit_forget_bias" if layer.kind == "lstm" else "zeros"
    defaults = {**_RNN_DEFAULTS, "bias_init": default_bias}
    names = {"kernel_init": "kernel", "recurrent_init": "recurrent_kernel", "bias_init": "bias"}
    kwargs |= _inits(node, defaults, **{k: prefix + v for k, v in names.items()})
    return Call(cls, (layer.kind, node.input_shape[-1], layer.units), extra | kwargs)


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    if op.kind == "bidirectional":
        extra = {"merge": op.merge} if op.merge != "concat" else {}
        build = _recurrent_call(op.layer, node, "Bidirectional", "forward_", **extra)
    else:
        build = _recurrent_call(op, node, "Recurrent")
    return LayerView("module", node.name, site, build)


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    return LayerView(op.kind, node.name, site, args={"axis": getattr(op, "axis", None)})


LAYERS = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "conv2d_transpose": _conv_transpose,
    "depthwise_conv2d": _depthwise,
    "separable_conv2d": _separable,
    "maxpool1d": _pool,
    "maxpool2d": _pool,
    "avgpool1d": _pool,
    "avgpool2d": _pool,
    "global_avgpool1d": _global_pool,
    "global_maxpool1d": _global_pool,
    "global_avgpool2d": _global_pool,
    "global_maxpool2d": _global_pool,
    "zero_padding2d": _zero_padding,
    "upsampling2d": _upsampling,
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "layernorm": _layernorm,
    "embedding": _embedding,
    "simple_rnn": _recurrent,
    "lstm": _recurrent,
    "gru": _recurrent,
    "bidirectional": _recurrent,
    **{
        kind: _merge
        for kind in ("add", "subtract", "multiply", "average", "maximum", "concatenate")
    },
    **{kind: _activation_layer for kind in ir.ACTIVATIONS},
}

# --- weights: the attribute path of each canonical array (same shape, same layout) ---

_PARAMS = {
    "gamma": "scale",
    "beta": "bias",
    "moving_mean": "mean",
    "moving_variance": "var",
    "embeddings": "embedding",
    "depthwise_kernel": "depthwise.kernel",
    "pointwise_kernel": "pointwise.kernel",
}


def _path(node: ir.NodeInfo, weight: ir.Weight) -> str:
    param = weight.param
    if node.op.kind == "bidirectional":
        return f"{node.name}.{param.replace('_', '.', 1)}"  # forward_kernel: forward.kernel
    if node.op.kind == "separable_conv2d" and param == "bias":
        return f"{node.name}.pointwise.bias"
    return f"{node.name}.{_PARAMS.get(param, param)}"


def weights(program: ir.Program) -> list[WeightView]:
    return [
        WeightView(w.name, w.shape, _path(node, w), tuple(range(len(w.shape))))
        for node in program.nodes
        for w in node.weights
    ]


# --- losses and optimizers ---

# kind -> the labels the loss compares with: class indices, a 0/1 column, one-hot rows
LOSSES = {
    "categorical_crossentropy": "classes",
    "sparse_categorical_crossentropy": "classes",
    "binary_crossentropy": "column",
    "mse": "one_hot",
    "mae": "one_hot",
}
# kind -> the Optax transformation computing the IR's formula, from the module's constants
OPTIMIZERS = {
    "sgd": "optax.sgd(LEARNING_RATE, MOMENTUM, NESTEROV)",  # trace, then -lr: the IR's form
    "adam": "keras_adam(LEARNING_RATE, BETA_1, BETA_2, EPSILON)",
    "adamw": "keras_adam(LEARNING_RATE, BETA_1, BETA_2, EPSILON, WEIGHT_DECAY)",
    "rmsprop": "optax.rmsprop(LEARNING_RATE, RHO, EPSILON, centered=CENTERED, momentum=MOMENTUM)",
    "adadelta": "optax.adadelta(LEARNING_RATE, RHO, EPSILON)",
    "adagrad": "optax.adagrad(LEARNING_RATE, INITIAL_ACCUMULATOR_VALUE, EPSILON)",
}
_SUPPORT = (
    "Bidirectional",
    "DepthwiseConv2D",
    "Recurrent",
    "SeparableConv2D",
    "keras_adam",
    "uniform",
    "unit_forget_bias",
)


def _uses(name: str, value: Any) -> bool:
    """Whether a call (or an optimizer's expression) calls `name`."""
    if isinstance(value, str):
        return value.startswith(name + "(")
    if isinstance(value, Call):
        parts = (*value.args, *value.kwargs.values())
        return value.fn == name or any(_uses(name, v) for v in parts)
    return False


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the flax target."""
    views = common["views"]
    out: dict[str, Any] = {
        "weights": weights(program),
        "output_activations": [
            activation(ir.ACTIVATIONS[o.activation]()) for o in program.outputs
        ],
    }
    calls: list[Any] = [v.build for v in views] + [v.args.get("call") for v in views]
    used = {
        r.name for c in calls if c is not None for r in c.kwargs.values() if isinstance(r, Ref)
    }
    out["inits"] = [(name.upper(), call) for name, call in _INITS.items() if name.upper() in used]
    calls += [call for _, call in out["inits"]]
    train = program.train
    if train is not None:
        output = program.outputs[0]
        out["loss"] = {
            "kind": train.loss.kind,
            "targets": LOSSES[train.loss.kind],
            "activation": None if program.loss_from_logits else out["output_activations"][0],
            "column": output.shape == (1,),
            "threshold": 0.0 if output.activation == "sigmoid" else 0.5,
        }
        out["optimizer"] = OPTIMIZERS[train.optimizer.kind]
        calls.append(out["optimizer"])
    helpers = ["count_canonical", "deterministic_gpu", "export_canonical", "import_canonical"]
    helpers += ["jax_device", "join_launch", *(["replicate", "global_batch"] if train else [])]
    helpers += [name for name in _SUPPORT if any(_uses(name, c) for c in calls)]
    out["support_imports"] = sorted(helpers, key=lambda name: (name[0].islower(), name))
    out["uses_jnp"] = any(v.macro in ("maximum", "concatenate") for v in views) or any(
        _uses("jnp.pad", c) for c in calls
    )
    return out


TARGET = Target(
    name="flax",
    framework="flax",
    requires=("jax", "optax"),
    description="Flax NNX: an nnx.Module with an explicit __call__, trained with Optax",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset(
        {"jax", "jnp", "nnx", "optax", "serialization", "np", "sys", "Path", *_SUPPORT}
        | {"join_launch", "replicate", "global_batch", "multihost_utils"}
        | {"worker_info", "start_workers", "stop_workers"}
    ),
    support=True,
)
