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

from collections.abc import Callable
from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.targets.channels_first import (
    compact,
    concat_axis,
    module_padding,
    symmetric,
    transpose_padding,
    wants,
)
from nndsl.targets.gluon_params import KERNEL_INITS, block_inits, frozen, weights
from nndsl.targets.gluon_training import (
    LOSSES,
    OPTIMIZER_ARGUMENTS,
    OPTIMIZERS,
    PREDICT_BATCH_SIZE,
    compute_bound,
)
from nndsl.views import Call, LayerView, Site

# --- activations (as layers and as `activation=`) ---

# MXNet's Activation operator (what Gluon's own `activation=` applies) has oneDNN kernels;
# the F.sigmoid operator does not: the MLP's step is 5 % slower with it (measured)
_PLAIN = ("relu", "sigmoid", "tanh")
_LEAKY = {"leaky_relu": "leaky", "elu": "elu", "selu": "selu", "gelu": "gelu"}


def activation(op: ir.Node, channels_first: bool = False) -> Call | None:
    """The call applying an activation node inside hybrid_forward, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call("F.Activation", kwargs={"act_type": kind})
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
    build = _block("nn.Dense", node, op.units, **kwargs, **block_inits(node, KERNEL_INITS))
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
    kwargs |= {"in_channels": node.input_shape[-1], **block_inits(node, KERNEL_INITS)}
    build = _block(f"nn.Conv{op.rank}D", node, op.filters, compact(op.kernel), **kwargs)
    return _view("conv", node, site, build, pad=_pad(node))


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    channels = node.input_shape[-1]
    kwargs = {**_window_kwargs(node, op.stride), "groups": channels, "in_channels": channels}
    if not op.use_bias:
        kwargs["use_bias"] = False
    kwargs |= block_inits(node, KERNEL_INITS)
    build = _block("nn.Conv2D", node, channels * op.depth_multiplier, compact(op.kernel), **kwargs)
    return _view("conv", node, site, build, pad=_pad(node))


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    channels = node.input_shape[-1]
    middle = channels * op.depth_multiplier
    depthwise = {**_window_kwargs(node, op.stride), "groups": channels, "use_bias": False}
    depthwise["in_channels"] = channels
    depthwise |= block_inits(node, {"depthwise_kernel": "weight_initializer"})
    pointwise: dict[str, Any] = {} if op.use_bias else {"use_bias": False}
    pointwise["in_channels"] = middle
    pointwise |= block_inits(node, {"pointwise_kernel": "weight_initializer", **KERNEL_INITS})
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
    kwargs |= {"in_channels": node.input_shape[-1], **block_inits(node, KERNEL_INITS)}
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
    kwargs |= block_inits(
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
    kwargs |= block_inits(node, {"gamma": "gamma_initializer", "beta": "beta_initializer"})
    return _view("block", node, site, _block("nn.LayerNorm", node, **kwargs))


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    inits = block_inits(node, {"embeddings": "weight_initializer"})
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
    build = _block(_RNN[layer.kind], node, layer.units, **kwargs, **block_inits(node, inits))
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
        params, note = OPTIMIZER_ARGUMENTS[name]
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
