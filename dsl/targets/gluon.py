"""MXNet Gluon 1.9: a hybridized `HybridBlock` per spec, channels-first inside, canonical at
the edges.

Gluon's convolutions and pools compute in NCHW / NCW (its NHWC layout fails on CPU), so the
forward plan (nndsl.forward with `channels_first.wants`) inserts the transposes; layouts,
paddings and weight layouts are the ones torch uses (nndsl.targets.channels_first). Every
child block gets an explicit prefix, so Gluon's parameter names (`conv2d_1_weight`) are the
canonical names and stay the same in every instance, in `export` files and after loading.
What Gluon's defaults would get wrong (initialisers, BatchNorm momentum and epsilon, a
simple RNN's relu, the second recurrent bias, loss scaling) is decided here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.targets.channels_first import (
    compact,
    concat_axis,
    fans,
    module_padding,
    symmetric,
    transpose_padding,
    wants,
    weight_layout,
    weight_view,
)
from nndsl.views import Call, LayerView, Site, WeightView

# --- activations (as layers and as `activation=`) ---

_PLAIN = {"relu": "F.relu", "sigmoid": "F.sigmoid", "tanh": "F.tanh"}
_LEAKY = {"leaky_relu": "leaky", "elu": "elu", "selu": "selu", "gelu": "gelu"}


def activation(op: ir.Node, channels_first: bool = False) -> Call | None:
    """The call applying an activation node inside hybrid_forward, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call(_PLAIN[kind])
    if kind == "relu6":
        return Call("F.clip", kwargs={"a_min": 0.0, "a_max": 6.0})
    if kind == "softmax":
        return Call("F.softmax", kwargs={"axis": 1 if channels_first else -1})
    if kind == "silu" or (kind == "gelu" and op.approximate):
        return Call("silu" if kind == "silu" else "gelu_tanh")  # MXNet 1.9 has no operator
    kwargs: dict[str, Any] = {"act_type": _LEAKY[kind]}
    if kind == "leaky_relu":
        kwargs["slope"] = op.negative_slope
    elif kind == "elu":
        kwargs["slope"] = op.alpha
    return Call("F.LeakyReLU", kwargs=kwargs)


def output_activation(kind: str) -> Call | None:
    """OUTPUT_ACTIVATION on NDArrays of logits (outside the graph)."""
    return {
        "softmax": Call("mx.nd.softmax", kwargs={"axis": -1}),
        "sigmoid": Call("mx.nd.sigmoid"),
    }.get(kind)


def _view(
    macro: str, node: ir.NodeInfo, site: Site, build: Call | None = None, **args: Any
) -> LayerView:
    fused = getattr(node.op, "activation", None)
    act = activation(fused, site.channels_first) if isinstance(fused, ir.ActivationOp) else None
    return LayerView(macro, node.name, site, build, act, args)


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    first = site.channels_first and len(node.output_shape) >= 2
    return LayerView("activation", node.name, site, activation=activation(node.op, first))


# --- initialisers: the IR's, as Gluon's per-parameter `*_initializer` arguments ---

# what a parameter starts with unless its block says otherwise: Gluon's defaults, and the
# model's default initialiser (build_model's mx.init.Xavier(): glorot_uniform) for weights
_XAVIER = Call("mx.init.Xavier")
_DEFAULTS: dict[str, Any] = {
    "weight_initializer": _XAVIER,
    "i2h_weight_initializer": _XAVIER,
    "h2h_weight_initializer": _XAVIER,
    "bias_initializer": "zeros",
    "i2h_bias_initializer": "zeros",
    "h2h_bias_initializer": "zeros",
    "gamma_initializer": "ones",
    "beta_initializer": "zeros",
    "running_mean_initializer": "zeros",
    "running_variance_initializer": "ones",
}


def initializer(node: ir.NodeInfo, weight: ir.Weight) -> Call | str:
    """The MXNet initialiser drawing what the IR's (Keras') initialiser draws."""
    init = weight.initializer
    fan_in, fan_out = weight.fans
    if init in ("zeros", "ones"):
        return init
    if init == "orthogonal":  # gain 1 (MXNet's default is 1.414); Haar-random like Keras'
        return Call("mx.init.Orthogonal", kwargs={"scale": 1.0, "rand_type": "normal"})
    if init == "unit_forget_bias":
        return Call("mx.init.LSTMBias", kwargs={"forget_bias": 1.0})
    if init == "uniform":
        return Call("mx.init.Uniform", (ir.EMBEDDING_UNIFORM_LIMIT,))
    if init.endswith("_normal"):
        std = math.sqrt((2.0 / fan_in) if init == "he_normal" else (2.0 / (fan_in + fan_out)))
        return Call("TruncatedNormal", (std / ir.TRUNCATED_NORMAL_STDDEV,))
    shape = weight_layout(node, weight)[2]
    if len(shape) >= 2 and fans(shape) == (fan_in, fan_out):  # MXNet counts fans as Keras
        if init == "glorot_uniform":
            return _XAVIER
        return Call("mx.init.Xavier", kwargs={"factor_type": "in", "magnitude": 6})
    limit = math.sqrt(6.0 / (fan_in + fan_out) if init == "glorot_uniform" else 6.0 / fan_in)
    return Call("mx.init.Uniform", (limit,))


def _inits(node: ir.NodeInfo, arguments: dict[str, str | tuple[str, ...]]) -> dict[str, Any]:
    """Initialiser keyword arguments of a block: `arguments` maps a canonical parameter to
    the argument(s) setting it; arguments equal to the default are left out."""
    out: dict[str, Any] = {}
    for weight in node.weights:
        names = arguments.get(weight.param.removeprefix("forward_"), ())
        for name in (names,) if isinstance(names, str) else names:
            init = initializer(node, weight)
            if init != _DEFAULTS[name]:
                out[name] = init
    return out


_KERNEL_INITS = {"kernel": "weight_initializer", "bias": "bias_initializer"}


# --- layers ---


def _block(cls: str, node: ir.NodeInfo, *args: Any, prefix: str = "", **kwargs: Any) -> Call:
    """A child block with an explicit prefix: its parameters are `<node>_<param>`."""
    return Call(cls, args, {**kwargs, "prefix": f"{node.name}_{prefix}"})


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Dense = node.op
    kwargs: dict[str, Any] = {"flatten": False} if len(node.input_shape) > 1 else {}
    kwargs["in_units"] = node.input_shape[-1]
    if not op.use_bias:
        kwargs["use_bias"] = False
    build = _block("nn.Dense", node, op.units, **kwargs, **_inits(node, _KERNEL_INITS))
    return _view("block", node, site, build)


def _window_kwargs(node: ir.NodeInfo, stride: tuple[int, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if compact(stride) != 1:
        kwargs["strides"] = compact(stride)
    padding = module_padding(node.padding)
    if padding:
        kwargs["padding"] = padding
    return kwargs


def _pad(node: ir.NodeInfo) -> tuple[tuple[int, int], ...]:
    """The explicit (before, after) padding of TF's asymmetric `same`; () when the block's
    own symmetric padding does it."""
    return () if symmetric(node.padding) else node.padding


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Conv = node.op
    kwargs = _window_kwargs(node, op.stride)
    if max(op.dilation) > 1:
        kwargs["dilation"] = compact(op.dilation)
    if op.groups > 1:
        kwargs["groups"] = op.groups
    if not op.use_bias:
        kwargs["use_bias"] = False
    kwargs |= {"in_channels": node.input_shape[-1], **_inits(node, _KERNEL_INITS)}
    build = _block(f"nn.Conv{op.rank}D", node, op.filters, compact(op.kernel), **kwargs)
    return _view("conv", node, site, build, pad=_pad(node))


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    channels = node.input_shape[-1]
    kwargs = {**_window_kwargs(node, op.stride), "groups": channels, "in_channels": channels}
    if not op.use_bias:
        kwargs["use_bias"] = False
    kwargs |= _inits(node, _KERNEL_INITS)
    build = _block("nn.Conv2D", node, channels * op.depth_multiplier, compact(op.kernel), **kwargs)
    return _view("conv", node, site, build, pad=_pad(node))


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    channels = node.input_shape[-1]
    middle = channels * op.depth_multiplier
    depthwise = {**_window_kwargs(node, op.stride), "groups": channels, "use_bias": False}
    depthwise["in_channels"] = channels
    depthwise |= _inits(node, {"depthwise_kernel": "weight_initializer"})
    pointwise: dict[str, Any] = {} if op.use_bias else {"use_bias": False}
    pointwise["in_channels"] = middle
    pointwise |= _inits(node, {"pointwise_kernel": "weight_initializer", **_KERNEL_INITS})
    blocks = (
        _block("nn.Conv2D", node, middle, compact(op.kernel), prefix="depthwise_", **depthwise),
        _block("nn.Conv2D", node, op.filters, 1, prefix="pointwise_", **pointwise),
    )
    return _view("conv", node, site, Call("sequential", blocks), pad=_pad(node))


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    """Gluon crops a transposed conv symmetrically (`padding`) and appends cells at the end
    (`output_padding`); an asymmetric crop keeps the symmetric part and slices the rest."""
    op: ir.Conv2DTranspose = node.op
    padding, extra, slices = transpose_padding(node)
    kwargs: dict[str, Any] = {}
    if compact(op.stride) != 1:
        kwargs["strides"] = compact(op.stride)
    if any(padding):
        kwargs["padding"] = compact(padding)
    if any(extra):
        kwargs["output_padding"] = compact(extra)
    if not op.use_bias:
        kwargs["use_bias"] = False
    kwargs |= {"in_channels": node.input_shape[-1], **_inits(node, _KERNEL_INITS)}
    build = _block("nn.Conv2DTranspose", node, op.filters, compact(op.kernel), **kwargs)
    begin = (None, None, *(start for start, _ in slices)) if slices else ()
    end = (None, None, *(stop for _, stop in slices)) if slices else ()
    return _view("conv_transpose", node, site, build, begin=begin, end=end)


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    """Symmetric padding goes into the block (max pools never pick it; average pools get
    count_include_pad=False); asymmetric padding becomes an explicit pad in the macro."""
    op: ir._Pool = node.op
    average = op.kind.startswith("avg")
    kwargs = _window_kwargs(node, op.stride)
    kwargs.pop("strides", None)
    if op.stride != op.size:  # Gluon's default stride is the window
        kwargs = {"strides": compact(op.stride), **kwargs}
    if average and "padding" in kwargs:
        kwargs["count_include_pad"] = False
    cls = f"nn.{'AvgPool' if average else 'MaxPool'}{op.rank}D"
    macro = "avgpool" if average else "maxpool"
    return _view(macro, node, site, Call(cls, (compact(op.size),), kwargs), pad=_pad(node))


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    rank = len(node.input_shape) - 1
    axes = tuple(range(2, 2 + rank)) if site.channels_first else tuple(range(1, 1 + rank))
    method = "F.mean" if "avg" in node.op.kind else "F.max"
    return LayerView("reduce", node.name, site, args={"method": method, "axis": compact(axes)})


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("zero_padding", node.name, site, args={"widths": node.padding})


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("upsample", node.name, site, args={"repeats": node.op.size})


def _flatten(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("flatten", node.name, site)


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("reshape", node.name, site, args={"shape": (-1, *node.output_shape)})


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("block", node, site, Call("nn.Dropout", (node.op.rate,)))


def _batchnorm(node: ir.NodeInfo, site: Site) -> LayerView:
    """Gluon's BatchNorm is the IR's: moving = momentum * moving + (1 - momentum) * batch,
    biased batch variance. Its axis is 1: wants() puts images and sequences channels-first,
    and a vector's channels are axis 1 too."""
    op: ir.BatchNorm = node.op
    kwargs: dict[str, Any] = {"momentum": op.momentum, "epsilon": op.epsilon}
    kwargs |= {k: False for k in ("center", "scale") if not getattr(op, k)}
    kwargs["in_channels"] = node.input_shape[-1]
    kwargs |= _inits(
        node,
        {
            "gamma": "gamma_initializer",
            "beta": "beta_initializer",
            "moving_mean": "running_mean_initializer",
            "moving_variance": "running_variance_initializer",
        },
    )
    return _view("block", node, site, _block("nn.BatchNorm", node, **kwargs))


def _layernorm(node: ir.NodeInfo, site: Site) -> LayerView:
    """nn.LayerNorm over the last axis; without center or scale Gluon keeps beta at 0 or
    gamma at 1, frozen (grad_req "null"), outside the canonical weights."""
    op: ir.LayerNorm = node.op
    kwargs: dict[str, Any] = {"epsilon": op.epsilon}
    kwargs |= {k: False for k in ("center", "scale") if not getattr(op, k)}
    kwargs["in_channels"] = node.input_shape[-1]
    kwargs |= _inits(node, {"gamma": "gamma_initializer", "beta": "beta_initializer"})
    return _view("block", node, site, _block("nn.LayerNorm", node, **kwargs))


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    inits = _inits(node, {"embeddings": "weight_initializer"})
    build = _block("nn.Embedding", node, op.input_dim, op.output_dim, **inits)
    return _view("block", node, site, build)


_RNN = {"simple_rnn": "rnn.RNN", "lstm": "rnn.LSTM", "gru": "rnn.GRU"}
# the GRU's (2, 3U) bias is Gluon's two biases; LSTM and simple RNN have one (i2h)
_RNN_INITS: dict[str, str | tuple[str, ...]] = {
    "kernel": "i2h_weight_initializer",
    "recurrent_kernel": "h2h_weight_initializer",
}


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    bidirectional = op.kind == "bidirectional"
    layer = op.layer if bidirectional else op
    kwargs: dict[str, Any] = {"layout": "NTC", "input_size": node.input_shape[-1]}
    if layer.kind == "simple_rnn":  # Gluon's default activation is relu
        kwargs["activation"] = layer.activation.kind
    if bidirectional:
        kwargs["bidirectional"] = True
    biases = ("i2h_bias_initializer", "h2h_bias_initializer")
    inits = {**_RNN_INITS, "bias": biases if layer.kind == "gru" else biases[0]}
    build = _block(_RNN[layer.kind], node, layer.units, **kwargs, **_inits(node, inits))
    merge = op.merge if bidirectional else None  # the last step: slices (SequenceLast's
    # backward crashes MXNet 1.9.1 with axis=1)
    args = {
        "sequences": layer.return_sequences,
        "bidirectional": bidirectional,
        "reduce": {"sum": "F.sum", "mul": "F.prod", "ave": "F.mean"}.get(merge or ""),
        "units": layer.units,
    }
    return LayerView("recurrent", node.name, site, build, args=args)


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    args: dict[str, Any] = {}
    if op.kind == "concatenate":
        args["dim"] = concat_axis(op, node.input_shapes[0], site.channels_first)
    return LayerView(op.kind, node.name, site, args=args)


LAYERS: dict[str, Callable[[ir.NodeInfo, Site], LayerView]] = {
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

# --- weights: the Gluon parameter holding each canonical array ---

_PARAMS = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "gamma",
    "beta": "beta",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
    "embeddings": "weight",
    "depthwise_kernel": "depthwise_weight",
    "pointwise_kernel": "pointwise_weight",
}
_RNN_PARAMS = {"kernel": "i2h_weight", "recurrent_kernel": "h2h_weight", "bias": "i2h_bias"}


def _key(node: ir.NodeInfo, weight: ir.Weight) -> str | tuple[str, ...]:
    param, layer = weight.param, "l0"  # Gluon's layer 0, left to right
    if node.op.kind == "bidirectional":
        direction, param = param.split("_", 1)
        layer = "r0" if direction == "backward" else "l0"
    if node.op.kind in ("bidirectional", *ir.RECURRENT):
        if param == "bias" and len(weight.shape) == 2:  # the GRU's input and recurrent biases
            return (f"{node.name}_{layer}_i2h_bias", f"{node.name}_{layer}_h2h_bias")
        return f"{node.name}_{layer}_{_RNN_PARAMS[param]}"
    if node.op.kind == "separable_conv2d" and param == "bias":
        return f"{node.name}_pointwise_bias"
    return f"{node.name}_{_PARAMS[param]}"


def weights(program: ir.Program) -> list[WeightView]:
    return [weight_view(node, w, _key(node, w)) for node in program.nodes for w in node.weights]


def frozen(program: ir.Program) -> list[str]:
    """Recurrent biases Gluon has and the IR does not, held at zero (grad_req "null"): the
    second (h2h) bias of LSTM and simple RNN layers, both biases without use_bias."""
    out = []
    for node in program.nodes:
        op = node.op
        layer = op.layer if op.kind == "bidirectional" else op
        if layer.kind not in ir.RECURRENT or (layer.kind == "gru" and layer.use_bias):
            continue
        biases = ("h2h_bias",) if layer.use_bias else ("i2h_bias", "h2h_bias")
        directions = ("l0", "r0") if op.kind == "bidirectional" else ("l0",)
        out += [f"{node.name}.{d}_{bias}" for d in directions for bias in biases]
    return out


# --- losses and optimizers ---

# kind -> (the Gluon loss block, the labels it takes, a note): "classes" are class indices
# (the same cross-entropy as one-hot rows), "column" (N, 1), "one_hot" rows
_SOFTMAX = Call("gluon.loss.SoftmaxCrossEntropyLoss")
_LOGITS = "Gluon's softmax cross-entropy takes logits (from_logits=True: log-probabilities)"
LOSSES = {
    "categorical_crossentropy": (_SOFTMAX, "classes", _LOGITS),
    "sparse_categorical_crossentropy": (_SOFTMAX, "classes", _LOGITS),
    "binary_crossentropy": (
        Call("gluon.loss.SigmoidBinaryCrossEntropyLoss"),
        "column",
        "Gluon's sigmoid cross-entropy takes logits (from_sigmoid=False)",
    ),
    "mse": (Call("gluon.loss.L2Loss", kwargs={"weight": 2.0}), "one_hot", "L2Loss is half of it"),
    "mae": (Call("gluon.loss.L1Loss"), "one_hot", "the mean absolute error"),
}

# kind -> the MXNet optimizer computing the IR's formula: MXNet's own where its formula is
# the IR's, else a Keras* optimizer of _gluon_support (registered with MXNet)
OPTIMIZERS: dict[str, Callable[[Any], str]] = {
    "sgd": lambda op: "nag" if op.nesterov else "sgd",
    "adam": lambda op: "adam",
    "adamw": lambda op: "kerasadamw",
    "rmsprop": lambda op: "kerasrmsprop" if op.momentum > 0 and not op.centered else "rmsprop",
    "adadelta": lambda op: "adadelta" if op.learning_rate == 1.0 else "kerasadadelta",
    "adagrad": lambda op: "kerasadagrad",
}
_LR = {"learning_rate": "LEARNING_RATE"}
_ADAM = {**_LR, "beta1": "BETA_1", "beta2": "BETA_2", "epsilon": "EPSILON"}
_RMSPROP = {**_LR, "gamma1": "RHO", "gamma2": "MOMENTUM", "epsilon": "EPSILON"}
# MXNet optimizer -> (its arguments -> module constants, why it computes the IR's formula)
_ARGUMENTS: dict[str, tuple[dict[str, str], str]] = {
    "sgd": ({**_LR, "momentum": "MOMENTUM"}, "MXNet's sgd is the IR's: v = mu * v - lr * g."),
    "nag": (
        {**_LR, "momentum": "MOMENTUM"},
        "MXNet's nag keeps b = -v / lr: the IR's Nesterov step at a constant learning rate.",
    ),
    "adam": (_ADAM, "MXNet's adam is the IR's (Keras') form: epsilon outside sqrt(v)."),
    "kerasadamw": ({**_ADAM, "weight_decay": "WEIGHT_DECAY"}, "MXNet's wd is L2, not decay."),
    "rmsprop": (
        {**_RMSPROP, "centered": "CENTERED"},
        "MXNet's rmsprop is the IR's: epsilon inside the root, gamma2 the centered momentum.",
    ),
    "kerasrmsprop": (
        {**_LR, "rho": "RHO", "momentum": "MOMENTUM", "epsilon": "EPSILON"},
        "MXNet's rmsprop has momentum only when centered.",
    ),
    "adadelta": ({"rho": "RHO", "epsilon": "EPSILON"}, "MXNet's adadelta is the IR's at lr 1."),
    "kerasadadelta": (
        {**_LR, "rho": "RHO", "epsilon": "EPSILON"},
        "MXNet's adadelta has no learning rate.",
    ),
    "kerasadagrad": (
        {**_LR, "eps": "EPSILON", "initial_accumulator_value": "INITIAL_ACCUMULATOR_VALUE"},
        "MXNet's adagrad starts its accumulator at 0.",
    ),
}

# --- CPU threading of the command line ---

PREDICT_BATCH_SIZE = 1024
# Multiply-adds per step above which a network is compute-bound on CPU: then synchronous
# compute on every core (NaiveEngine, OpenMP on all cores) beats MXNet's default threading,
# which overlaps Python's op dispatch with compute on half the cores. Measured per MNIST
# epoch on 2 cores (first wave): cnn (312M per batch) 1.45x and lenet5 (53M) 1.15x faster;
# mlp (20M) and stride (7.6M) 1.5x and 1.4x slower.
COMPUTE_BOUND_MACS = 32_000_000


def _macs(node: ir.NodeInfo) -> int:
    """Multiply-adds per sample of a dense or convolution node (0 for the rest)."""
    op = node.op
    if op.kind == "dense":
        return math.prod(node.input_shape) * op.units
    if op.kind in ("conv1d", "conv2d"):
        per_output = math.prod(op.kernel) * node.input_shape[-1] // op.groups
        return math.prod(node.output_shape) * per_output
    return 0


def compute_bound(program: ir.Program) -> bool:
    train = program.train
    batch = train.dataset.batch_size if train else PREDICT_BATCH_SIZE
    return batch * sum(_macs(node) for node in program.nodes) >= COMPUTE_BOUND_MACS


def _called(views: list[LayerView]) -> set[str]:
    """Every function a forward pass calls through its views' builds and activations, and
    `pad` where a view pads explicitly."""
    names: set[str] = set()

    def add(call: Any) -> None:
        if isinstance(call, Call):
            names.add(call.fn)
            for value in (*call.args, *call.kwargs.values()):
                add(value)

    for view in views:
        add(view.build)
        add(view.activation)
        if view.args.get("pad") or view.macro == "zero_padding":
            names.add("pad")
    return names


HELPERS = ("pad", "sequential", "silu", "gelu_tanh", "TruncatedNormal")  # in _gluon_support
# also there: what every module imports, and the KVStore pieces a training module adds
BASICS = ("device_context", "count_canonical", "export_canonical", "import_canonical")
BASICS += ("kvstore",)  # the module's worker_info and start_workers read it
DISTRIBUTED = ("trainer_options", "share_weights")


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the gluon target."""
    views = weights(program)
    called = _called(common["views"])
    recurrent = any(v.macro == "recurrent" for v in common["views"])
    out: dict[str, Any] = {
        "weights": views,
        "frozen": frozen(program),
        "plain_weights": all(v.plain for v in views),
        "compute_bound": compute_bound(program),
        "predict_batch_size": PREDICT_BATCH_SIZE,
        "input_shapes": [info.shape for info in program.inputs],
        "output_activations": [output_activation(o.activation) for o in program.outputs],
        "mxnet_imports": ["autograd", "gluon"] if program.train else ["gluon"],
        "gluon_imports": [
            *(["nn"] if any(name.startswith("nn.") for name in called) else []),
            *(["rnn"] if recurrent else []),
        ],
        "support_imports": [
            *(name for name in HELPERS if name in called),
            *BASICS,
            *(DISTRIBUTED if program.train else ()),
        ],
    }
    train = program.train
    if train is not None:
        criterion, labels, loss_note = LOSSES[train.loss.kind]
        output = program.outputs[0]
        name = OPTIMIZERS[train.optimizer.kind](train.optimizer)
        params, note = _ARGUMENTS[name]
        single = output.shape == (1,)  # one output unit: labels as a column, a threshold
        out["loss"] = {
            "criterion": criterion,
            "labels": "column" if single and labels == "one_hot" else labels,
            "threshold": (0.0 if output.activation == "sigmoid" else 0.5) if single else None,
            "note": loss_note,
            "activation": (
                None if program.loss_from_logits else output_activation(output.activation)
            ),
        }
        out["optimizer"] = {"name": name, "params": params, "note": note}
    return out


TARGET = Target(
    name="gluon",
    framework="mxnet",
    description="MXNet 1.9 Gluon: a hybridized HybridBlock trained with gluon.Trainer, NCHW inside",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset(
        {"mx", "np", "nn", "rnn", "gluon", "autograd", "F", "os", "sys", "inside"}
        | {"worker_info", "start_workers"}
        | {*BASICS, *DISTRIBUTED, *HELPERS}
    ),
    wants=wants,
    support=True,
)
