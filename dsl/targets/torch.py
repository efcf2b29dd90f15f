"""PyTorch: an `nn.Module` per spec, channels-first inside, canonical at the edges.

Every layer kind maps to a view (templates/torch/layers.j2 renders it); losses and
optimizers map to the calls that compute the IR's formulas. What torch's defaults would get
wrong (initialisers, BatchNorm momentum and variance, Adam's epsilon, same padding with
stride) is decided here and emitted explicitly.
"""

from __future__ import annotations

from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.targets.channels_first import (
    compact,
    concat_axis,
    module_padding,
    pad_widths,
    symmetric,
    transpose_padding,
    wants,
)
from nndsl.targets.relu_after_pool import relu_after_pool
from nndsl.targets.torch_weights import frozen, inits, weights
from nndsl.views import Call, LayerView, Site

# --- activations (as layers and as `activation=`) ---

_PLAIN = {"relu": "F.relu", "relu6": "F.relu6", "selu": "F.selu", "silu": "F.silu"}


def activation(op: ir.Node, channels_first: bool = False) -> Call | None:
    """The call applying an activation node, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call(_PLAIN[kind])
    if kind in ("sigmoid", "tanh"):
        return Call(f"torch.{kind}")
    if kind == "softmax":
        return Call("F.softmax", kwargs={"dim": 1 if channels_first else -1})
    if kind == "leaky_relu":
        return Call("F.leaky_relu", kwargs={"negative_slope": op.negative_slope})
    if kind == "elu":
        return Call("F.elu", kwargs={"alpha": op.alpha} if op.alpha != 1.0 else {})
    assert kind == "gelu"
    return Call("F.gelu", kwargs={"approximate": "tanh"} if op.approximate else {})


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


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Dense = node.op
    kwargs = {} if op.use_bias else {"bias": False}
    return _view("module", node, site, Call("nn.Linear", (node.input_shape[-1], op.units), kwargs))


def _window_kwargs(
    node: ir.NodeInfo, size: tuple[int, ...], stride: tuple[int, ...]
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if compact(stride) != 1:
        kwargs["stride"] = compact(stride)
    padding = module_padding(node.padding)
    if padding:
        kwargs["padding"] = padding
    return kwargs


def _pad(node: ir.NodeInfo) -> tuple[int, ...]:
    return () if symmetric(node.padding) else pad_widths(node.padding)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Conv = node.op
    kwargs = _window_kwargs(node, op.kernel, op.stride)
    if max(op.dilation) > 1:
        kwargs["dilation"] = compact(op.dilation)
    if op.groups > 1:
        kwargs["groups"] = op.groups
    if not op.use_bias:
        kwargs["bias"] = False
    args = (node.input_shape[-1], op.filters, compact(op.kernel))
    return _view("conv", node, site, Call(f"nn.Conv{op.rank}d", args, kwargs), pad=_pad(node))


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    channels = node.input_shape[-1]
    kwargs = {**_window_kwargs(node, op.kernel, op.stride), "groups": channels}
    if not op.use_bias:
        kwargs["bias"] = False
    build = Call(
        "nn.Conv2d", (channels, channels * op.depth_multiplier, compact(op.kernel)), kwargs
    )
    return _view("conv", node, site, build, pad=_pad(node))


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    channels = node.input_shape[-1]
    middle = channels * op.depth_multiplier
    depthwise = Call(
        "nn.Conv2d",
        (channels, middle, compact(op.kernel)),
        {**_window_kwargs(node, op.kernel, op.stride), "groups": channels, "bias": False},
    )
    pointwise = Call("nn.Conv2d", (middle, op.filters, 1), {} if op.use_bias else {"bias": False})
    return _view("conv", node, site, Call("nn.Sequential", (depthwise, pointwise)), pad=_pad(node))


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    """torch crops a transposed conv symmetrically (`padding`) and appends cells at the end
    (`output_padding`); an asymmetric crop keeps the symmetric part and slices the rest."""
    op: ir.Conv2DTranspose = node.op
    padding, extra, slices = transpose_padding(node)
    kwargs: dict[str, Any] = {}
    if compact(op.stride) != 1:
        kwargs["stride"] = compact(op.stride)
    if any(padding):
        kwargs["padding"] = compact(padding)
    if any(extra):
        kwargs["output_padding"] = compact(extra)
    if not op.use_bias:
        kwargs["bias"] = False
    build = Call(
        "nn.ConvTranspose2d", (node.input_shape[-1], op.filters, compact(op.kernel)), kwargs
    )
    return _view("conv_transpose", node, site, build, slices=slices)


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    """Symmetric padding goes into the module (max pools pad with -inf; average pools get
    count_include_pad=False); asymmetric padding becomes an explicit pad in the macro."""
    op: ir._Pool = node.op
    average = op.kind.startswith("avg")
    kwargs: dict[str, Any] = _window_kwargs(node, op.size, op.stride)
    kwargs.pop("stride", None)
    if op.stride != op.size:  # torch's default stride is the window
        kwargs = {"stride": compact(op.stride), **kwargs}
    if average and "padding" in kwargs:
        kwargs["count_include_pad"] = False
    cls = f"nn.{'AvgPool' if average else 'MaxPool'}{op.rank}d"
    macro = "avgpool" if average else "maxpool"
    return _view(macro, node, site, Call(cls, (compact(op.size),), kwargs), pad=_pad(node))


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    rank = len(node.input_shape) - 1
    dims = tuple(range(2, 2 + rank)) if site.channels_first else tuple(range(1, 1 + rank))
    reduce = "mean" if "avg" in node.op.kind else "amax"
    return LayerView("reduce", node.name, site, args={"method": reduce, "dims": compact(dims)})


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("pad", node.name, site, args={"widths": pad_widths(node.padding)})


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("upsample", node.name, site, args={"scale": compact(node.op.size)})


def _flatten(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("flatten", node.name, site)


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("reshape", node.name, site, args={"shape": (-1, *node.output_shape)})


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("module", node, site, Call("Dropout", (node.op.rate,)))


def _batchnorm(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.BatchNorm = node.op
    kwargs: dict[str, Any] = {"momentum": round(1.0 - op.momentum, 12), "eps": op.epsilon}
    kwargs |= {k: False for k in ("center", "scale") if not getattr(op, k)}
    return _view("module", node, site, Call("BatchNorm", (node.input_shape[-1],), kwargs))


def _layernorm(node: ir.NodeInfo, site: Site) -> LayerView:
    """nn.LayerNorm; without scale its weight stays at 1, frozen (see `frozen`)."""
    op: ir.LayerNorm = node.op
    kwargs: dict[str, Any] = {"eps": op.epsilon}
    if not (op.scale or op.center):
        kwargs["elementwise_affine"] = False
    elif not op.center:
        kwargs["bias"] = False
    return _view("module", node, site, Call("nn.LayerNorm", (node.input_shape[-1],), kwargs))


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    return _view("module", node, site, Call("nn.Embedding", (op.input_dim, op.output_dim)))


_RNN = {"simple_rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}


def _rnn_call(layer: ir._Recurrent, features: int, bidirectional: bool) -> Call:
    kwargs: dict[str, Any] = {"batch_first": True}
    if layer.kind == "simple_rnn" and layer.activation.kind == "relu":
        kwargs["nonlinearity"] = "relu"
    if not layer.use_bias:
        kwargs["bias"] = False
    if bidirectional:
        kwargs["bidirectional"] = True
    return Call(_RNN[layer.kind], (features, layer.units), kwargs)


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    bidirectional = op.kind == "bidirectional"
    layer = op.layer if bidirectional else op
    build = _rnn_call(layer, node.input_shape[-1], bidirectional)
    args = {
        "sequences": layer.return_sequences,
        "merge": op.merge if bidirectional else None,
        "units": layer.units,
    }
    return LayerView("recurrent", node.name, site, build, args=args)


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    args: dict[str, Any] = {}
    if op.kind == "concatenate":
        args["dim"] = concat_axis(op, node.input_shapes[0], site.channels_first)
    return LayerView(op.kind, node.name, site, args=args)


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

# --- losses and optimizers ---

LOSSES = {
    "categorical_crossentropy": ("nn.CrossEntropyLoss", "classes"),
    "sparse_categorical_crossentropy": ("nn.CrossEntropyLoss", "classes"),
    "binary_crossentropy": ("nn.BCEWithLogitsLoss", "column"),
    "mse": ("nn.MSELoss", "one_hot"),
    "mae": ("nn.L1Loss", "one_hot"),
}
# kind -> class name: IR formulas torch.optim computes are used as they are
OPTIMIZERS = {
    "sgd": "torch.optim.SGD",
    "adam": "KerasAdam",
    "adamw": "KerasAdam",
    "rmsprop": "KerasRMSprop",
    "adadelta": "torch.optim.Adadelta",
    "adagrad": "KerasAdagrad",
}


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the torch target."""
    views = weights(program)
    builds = {view.name: view.build for view in common["views"]}
    groups, singles = inits(program, views, builds)
    steps = relu_after_pool(program, common["views"], activation(ir.ACTIVATIONS["relu"]()))
    out: dict[str, Any] = {
        "views": steps,
        "weights": views,
        "init_groups": groups,
        "inits": singles,
        "frozen": frozen(program),
        "plain_weights": all(v.plain for v in views),
    }
    imports = ["count_canonical", "device_of", "export_canonical", "import_canonical"]
    imports.append("resolve_device")
    exports = ["set_seed", "start_workers", "stop_workers"]
    kinds = {n.op.kind for n in program.nodes}
    imports[:0] = [name for name in ("BatchNorm", "Dropout") if name.lower() in kinds]
    train = program.train
    if train is not None:
        criterion, targets = LOSSES[train.loss.kind]
        output = program.outputs[0]
        out["loss"] = {
            "criterion": criterion,
            "targets": targets,
            "activation": (
                None
                if program.loss_from_logits
                else activation(ir.ACTIVATIONS[output.activation]())
            ),
        }
        optimizer = OPTIMIZERS[train.optimizer.kind]
        imports += ["as_tensors", "gather", "make_step", "resident", "worker_info"]
        imports.append("worker_shares")
        if not optimizer.startswith("torch."):
            imports.insert(0, optimizer)
    out["output_activations"] = [
        activation(ir.ACTIVATIONS[o.activation]()) for o in program.outputs
    ]
    out["support_imports"] = imports
    out["support_exports"] = exports if train else [*exports, "worker_info"]
    calls = [v.activation for v in steps] + out["output_activations"]
    if "loss" in out:
        calls.append(out["loss"]["activation"])
    out["uses_functional"] = (
        any(c is not None and c.fn.startswith("F.") for c in calls)
        or any(v.macro in ("pad", "upsample") or v.args.get("pad") for v in steps)
        or ("loss" in out and out["loss"]["targets"] == "one_hot")
    )
    return out


TARGET = Target(
    name="torch",
    framework="torch",
    description="PyTorch: an nn.Module with an explicit forward, NCHW inside",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset({"torch", "nn", "F", "np", "time", "sys"}),
    wants=wants,
    support=True,
)
