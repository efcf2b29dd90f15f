"""Theano 1.0: shared variables, a symbolic forward pass, theano.grad and explicit updates.

Written as Theano users wrote models: one class holding the weights as `theano.shared`
float32 arrays, a method building the symbolic graph from symbolic inputs, the optimizer as
a list of `updates`, and one compiled `theano.function` for the train step and one for
inference (compiled on first use). Theano's convolutions and pools are NCHW, so the forward
plan uses the channels-first layouts, paddings and kernel layouts torch and Gluon use
(nndsl.targets.channels_first); dense kernels stay (in, out) as Theano's `T.dot(x, W)` wants.
Theano's `conv2d` flips its filters by default (a true convolution): `filter_flip=False`
computes the IR's cross-correlation. Every constant is float32 (Theano upcasts a float32
tensor times a Python float such as 0.1 to float64); what Theano lacks (a general softmax,
asymmetric padding, pools of rank 1) is in templates/theano/support.py.j2.
"""

from __future__ import annotations

from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.targets.channels_first import concat_axis, wants, weight_view
from nndsl.views import Call, LayerView, Site, WeightView

# --- activations (as layers and as `activation=`); support functions take float32 ---

_PLAIN = {"relu": "T.nnet.relu", "sigmoid": "T.nnet.sigmoid", "tanh": "T.tanh"}


def activation(op: ir.Node, axis: int = -1) -> Call | None:
    """The call applying an activation node (softmax over `axis`), None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call(_PLAIN[kind])
    if kind == "softmax":
        return Call("softmax", kwargs={"axis": axis} if axis != -1 else {})
    if kind == "leaky_relu":
        return Call("leaky_relu", (op.negative_slope,))
    if kind == "elu":
        return Call("elu", (op.alpha,))
    if kind == "gelu":
        return Call("gelu_tanh" if op.approximate else "gelu")
    return Call(kind)  # relu6, selu, silu: support functions


def _axis(site: Site, shape: tuple[int, ...]) -> int:
    """The channels axis of a tensor of canonical `shape` in the site's layout."""
    return 1 if site.channels_first and len(shape) >= 2 else -1


def _view(
    macro: str, node: ir.NodeInfo, site: Site, build: Call | None = None, **args: Any
) -> LayerView:
    fused = getattr(node.op, "activation", None)
    act = None
    if isinstance(fused, ir.ActivationOp):
        act = activation(fused, _axis(site, node.output_shape))
    return LayerView(macro, node.name, site, build, act, args)


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    act = activation(node.op, _axis(site, node.output_shape))
    return LayerView("activation", node.name, site, activation=act)


# --- layers ---


def _bias(node: ir.NodeInfo, rank: int) -> str | None:
    """The broadcast pattern of a channels-first bias ("x", 0, "x", ...), None without one."""
    if not any(w.param == "bias" for w in node.weights):
        return None
    return repr(("x", 0, *("x",) * rank))


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("dense", node, site, bias=node.op.use_bias)


def _padded(node: ir.NodeInfo) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...]]:
    """(explicit (before, after) padding, or () when none; the op's own symmetric padding)."""
    padding = node.padding
    if all(b == a for b, a in padding):
        return (), tuple(b for b, _ in padding)
    return padding, (0,) * len(padding)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    """T.nnet.conv2d (conv1d: an image of height 1, in the support module)."""
    op = node.op
    pad, border = _padded(node)
    kwargs: dict[str, Any] = {}
    if any(border):
        kwargs["border_mode"] = border
    if max(op.stride) > 1:
        kwargs["subsample"] = op.stride
    kwargs["filter_flip"] = False  # cross-correlation, as the IR
    if max(getattr(op, "dilation", (1,))) > 1:
        kwargs["filter_dilation"] = op.dilation
    groups = getattr(op, "groups", 1)
    if op.kind == "depthwise_conv2d":
        groups = node.input_shape[-1]
    if groups > 1:
        kwargs["num_groups"] = groups
    fn = "T.nnet.conv2d" if len(op.stride) == 2 else "conv1d"
    kernels = ("kernel",)
    if op.kind == "separable_conv2d":
        kwargs["num_groups"] = node.input_shape[-1]
        kernels = ("depthwise_kernel", "pointwise_kernel")
    call = Call(fn, kwargs=kwargs)
    return _view(
        "conv",
        node,
        site,
        call=call,
        kernels=kernels,
        pad=pad,
        bias=_bias(node, len(op.stride)),
    )


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    """The gradient of a cross-correlation with respect to its input (Theano's own form of
    a transposed convolution): the full (n - 1) * s + k result (plus the zero cells a
    negative crop appends), then the IR's crop (TF's "same" rule) as a slice."""
    op: ir.Conv2DTranspose = node.op
    full = tuple(
        (n - 1) * s + k + max(-after, 0)
        for n, s, k, (_, after) in zip(node.input_shape[:2], op.stride, op.kernel, node.padding)
    )
    kwargs: dict[str, Any] = {"input_shape": (None, op.filters, *full), "filter_flip": False}
    if max(op.stride) > 1:
        kwargs["subsample"] = op.stride
    slices: tuple[tuple[int, int], ...] = ()
    if full != node.output_shape[:2]:
        slices = tuple((b, b + n) for (b, _), n in zip(node.padding, node.output_shape[:2]))
    call = Call("T.nnet.abstract_conv.conv2d_grad_wrt_inputs", kwargs=kwargs)
    return _view(
        "conv_transpose", node, site, call=call, slices=slices, bias=_bias(node, len(op.stride))
    )


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    """Theano's pool_2d (ignore_border=True: the IR's floor); padding in the support's
    `pool`: -inf for max pools, left out of the divisor for average pools."""
    op: ir._Pool = node.op
    mode = "average" if op.kind.startswith("avg") else "max"
    args: tuple[Any, ...] = (op.size, op.stride)
    kwargs: dict[str, Any] = {"mode": mode}
    if any(b or a for b, a in node.padding):
        kwargs["padding"] = node.padding
    return LayerView("function", node.name, site, args={"call": Call("pool", args, kwargs)})


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    rank = len(node.input_shape) - 1
    axes = tuple(range(2, 2 + rank)) if site.channels_first else tuple(range(1, 1 + rank))
    method = "mean" if "avg" in node.op.kind else "max"
    return LayerView("method", node.name, site, args={"call": Call(method, (axes,))})


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    call = Call("pad", (node.padding,))
    return LayerView("function", node.name, site, args={"call": call})


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("upsample", node.name, site, args={"size": node.op.size})


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    """flatten and reshape, channels-last: the shape is known (Theano's flatten(2) fails
    on a shape it cannot infer)."""
    call = Call("reshape", ((-1, *node.output_shape),))
    return LayerView("method", node.name, site, args={"call": call})


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("dropout", node.name, site, args={"rate": node.op.rate})


def _norm(node: ir.NodeInfo, *params: str) -> dict[str, bool]:
    """Which of the optional parameters (gamma, beta) the layer has."""
    have = {w.param for w in node.weights}
    return {p: (p in have) for p in params}


def _batchnorm(node: ir.NodeInfo, site: Site) -> LayerView:
    """The IR's statistics: batch mean and biased variance in training, moving = momentum *
    moving + (1 - momentum) * batch, as updates; channels are axis 1 (wants() puts images
    channels-first, and a vector's channels are axis 1 too)."""
    op: ir.BatchNorm = node.op
    args = {"momentum": op.momentum, "epsilon": op.epsilon, "rank": len(node.input_shape)}
    return LayerView("batchnorm", node.name, site, args=args | _norm(node, "gamma", "beta"))


def _layernorm(node: ir.NodeInfo, site: Site) -> LayerView:
    args = {"epsilon": node.op.epsilon, **_norm(node, "gamma", "beta")}
    return LayerView("layernorm", node.name, site, args=args)


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("embedding", node.name, site)


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    """The support's `recurrent`, unrolled over the spec's steps (theano.scan's compiled
    loop does not build on Python 3.11+); canonical weights as they are."""
    op = node.op
    bidirectional = op.kind == "bidirectional"
    layer = op.layer if bidirectional else op
    args = {
        "cell": layer.kind,
        "steps": node.input_shape[0],
        "units": layer.units,
        "activation": layer.activation.kind if layer.kind == "simple_rnn" else "tanh",
        "sequences": layer.return_sequences,
        "merge": op.merge if bidirectional else None,
    }
    return LayerView("recurrent", node.name, site, args=args)


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    args: dict[str, Any] = {}
    if op.kind == "concatenate":
        args["axis"] = concat_axis(op, node.input_shapes[0], site.channels_first)
    return LayerView(op.kind, node.name, site, args=args)


LAYERS = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "conv2d_transpose": _conv_transpose,
    "depthwise_conv2d": _conv,
    "separable_conv2d": _conv,
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
    "flatten": _reshape,
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


# --- weights: shared variables named as the canonical arrays ---

_CHANNELS_FIRST_KERNELS = {
    "conv1d",
    "conv2d",
    "conv2d_transpose",
    "depthwise_conv2d",
    "separable_conv2d",
}


def weights(program: ir.Program) -> list[tuple[WeightView, str, bool]]:
    """(view, initialiser, trainable) per canonical array: convolution kernels in Theano's
    (out, in, *k) layout, every other array canonical (dense kernels are (in, out))."""
    out = []
    for node in program.nodes:
        for w in node.weights:
            if node.op.kind in _CHANNELS_FIRST_KERNELS and "kernel" in w.param:
                view = weight_view(node, w, w.name)
            else:
                view = WeightView(w.name, w.shape, w.name, tuple(range(len(w.shape))))
            out.append((view, w.initializer, w.trainable))
    return out


# --- losses and optimizers ---

# kind -> (the support loss of logits and int64 labels, the labels it compares with)
LOSSES = {
    "categorical_crossentropy": ("softmax_cross_entropy", "classes"),
    "sparse_categorical_crossentropy": ("softmax_cross_entropy", "classes"),
    "binary_crossentropy": ("sigmoid_cross_entropy", "column"),
    "mse": ("squared_error", "one_hot"),
    "mae": ("absolute_error", "one_hot"),
}
# kind -> the support class whose `updates(grads)` is the IR's formula
OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "Adam",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}

HELPERS = (
    "conv1d",
    "elu",
    "gelu",
    "gelu_tanh",
    "leaky_relu",
    "pad",
    "pool",
    "relu6",
    "selu",
    "silu",
    "softmax",
)


def _called(views: list[LayerView], *extra: Call | None) -> set[str]:
    names: set[str] = set()
    for view in views:
        for call in (view.activation, view.args.get("call"), view.build):
            if isinstance(call, Call):
                names.add(call.fn)
        if view.args.get("pad"):
            names.add("pad")
    names |= {c.fn for c in extra if c is not None}
    return names


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the theano target."""
    outputs = [activation(ir.ACTIVATIONS[o.activation]()) for o in program.outputs]
    out: dict[str, Any] = {
        "weights": weights(program),
        "output_activations": outputs,
        "input_dtypes": [info.dtype for info in program.inputs],
    }
    support = {
        "count_canonical",
        "export_canonical",
        "import_canonical",
        "initial_weights",
        "symbolic",
        "theano_device",
        "theano",
        "T",
        "random_streams",
    }
    if any(v.macro == "batchnorm" for v in common["views"]):
        support.add("batchnorm")
    if any(v.macro == "layernorm" for v in common["views"]):
        support.add("layernorm")
    for macro in ("dropout", "recurrent"):
        if any(v.macro == macro for v in common["views"]):
            support.add(macro)
    train = program.train
    if train is not None:
        form, targets = LOSSES[train.loss.kind]
        output = program.outputs[0]
        out["loss"] = {
            "form": form,
            "targets": "column" if output.shape == (1,) and targets == "one_hot" else targets,
            "activation": None if program.loss_from_logits else outputs[0],
            "threshold": (
                (0.0 if output.activation == "sigmoid" else 0.5) if output.shape == (1,) else None
            ),
        }
        cls = OPTIMIZERS[train.optimizer.kind]
        out["optimizer"] = {
            "cls": cls,
            "params": [k for k, v in train.optimizer.arguments.items() if not isinstance(v, dict)],
        }
        support |= {cls, form}
        if out["loss"]["activation"] is not None:
            support.add(out["loss"]["activation"].fn)
    called = _called(common["views"], *outputs)
    support |= {name for name in HELPERS if name in called}
    out["support_imports"] = sorted(support, key=lambda name: (name[0].islower(), name))
    return out


TARGET = Target(
    name="theano",
    framework="theano",
    description="Theano 1.0: shared variables, theano.grad, explicit updates, NCHW inside",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset(
        {"theano", "T", "np", "pickle", "sys", "w", "updates", "training", "self", *HELPERS}
        | {"forward", "backward", "recurrent"}
        | {"pool_2d", "random_streams", "batchnorm", "layernorm", "dropout", "symbolic"}
    ),
    wants=wants,
    support=True,
)
