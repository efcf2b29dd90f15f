"""Low-level TensorFlow: a tf.Module per spec, tf.nn ops, GradientTape, hand-written optimizers.

Channels-last throughout, as the IR: the model's tf.Variables are the canonical weights as
they are (HWIO kernels, (in, out) dense, Keras' gate order), so no layout conversion exists.
TensorFlow's "SAME" is the IR's same padding (TF's rule: the odd cell after; max pools never
pick padding; average pools leave it out of the divisor), so window ops pass "SAME"/"VALID";
a transposed convolution computes the full result and crops it as `node.padding` says.
What TensorFlow lacks (BatchNorm's moving statistics, recurrent layers, the IR's optimizers
and initialisers) lives in templates/tf/support.py.j2, rendered once per package.
"""

from __future__ import annotations

from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.views import Call, LayerView, Site

# --- activations (as layers and as `activation=`) ---

_PLAIN = {
    "relu": "tf.nn.relu",
    "relu6": "tf.nn.relu6",
    "selu": "tf.nn.selu",
    "silu": "tf.nn.silu",
    "sigmoid": "tf.sigmoid",
    "tanh": "tf.tanh",
    "softmax": "tf.nn.softmax",  # over the last axis: the channels, as the IR says
}


def activation(op: ir.Node) -> Call | None:
    """The call applying an activation node, None for linear."""
    kind = op.kind
    if kind == "linear":
        return None
    if kind in _PLAIN:
        return Call(_PLAIN[kind])
    if kind == "leaky_relu":
        return Call("tf.nn.leaky_relu", kwargs={"alpha": op.negative_slope})
    if kind == "elu":
        return Call("tf.nn.elu") if op.alpha == 1.0 else Call("elu", kwargs={"alpha": op.alpha})
    assert kind == "gelu"
    return Call("tf.nn.gelu", kwargs={"approximate": True} if op.approximate else {})


VARIABLES = Call("Variables")  # a node's canonical weights, no behaviour of their own


def _view(macro: str, node: ir.NodeInfo, site: Site, **args: Any) -> LayerView:
    """A view whose node owns tf.Variables when it has weights (and a fused activation)."""
    fused = getattr(node.op, "activation", None)
    act = activation(fused) if isinstance(fused, ir.ActivationOp) else None
    return LayerView(macro, node.name, site, VARIABLES if node.weights else None, act, args)


def _padding(op: ir.Node) -> str:
    return "SAME" if op.padding == "same" else "VALID"


def _compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """`(2, 2)` -> `2` (tf.nn takes one int for every spatial axis), else the tuple."""
    return values[0] if len(set(values)) == 1 else values


def _op(
    node: ir.NodeInfo, site: Site, call: Call, weights: tuple[str, ...] = (), **args: Any
) -> LayerView:
    """`call(x, self.<name>.<weight>..., *call.args)`, plus the bias when the layer has one."""
    bias = any(w.param == "bias" for w in node.weights)
    return _view("op", node, site, call=call, weights=weights, bias=bias, **args)


# --- layers ---


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("dense", node, site, bias=node.op.use_bias)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    """tf.nn.conv1d/conv2d; groups need no argument: the kernel's (in / groups) axis says."""
    op: ir._Conv = node.op
    kwargs = {"dilations": _compact(op.dilation)} if max(op.dilation) > 1 else {}
    call = Call(f"tf.nn.conv{op.rank}d", (_compact(op.stride), _padding(op)), kwargs)
    return _op(node, site, call, ("kernel",))


def _strides4(stride: tuple[int, ...]) -> tuple[int, ...]:
    return (1, *stride, 1)


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    call = Call("tf.nn.depthwise_conv2d", (_strides4(op.stride), _padding(op)))
    return _op(node, site, call, ("kernel",))


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    call = Call("tf.nn.separable_conv2d", (_strides4(op.stride), _padding(op)))
    return _op(node, site, call, ("depthwise_kernel", "pointwise_kernel"))


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    """The full (n - 1) * s + k result (plus the zero cells a negative crop appends), then
    the IR's crop (TF's "same" rule) as a slice."""
    op: ir.Conv2DTranspose = node.op
    full = tuple(
        (n - 1) * s + k + max(-after, 0)
        for n, s, k, (_, after) in zip(node.input_shape[:2], op.stride, op.kernel, node.padding)
    )
    slices = ()
    if full != node.output_shape[:2]:
        slices = tuple((b, b + n) for (b, _), n in zip(node.padding, node.output_shape[:2]))
    return _view(
        "conv_transpose",
        node,
        site,
        shape=(*full, op.filters),
        stride=_compact(op.stride),
        slices=slices,
        bias=op.use_bias,
    )


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Pool = node.op
    kind = "avg" if op.kind.startswith("avg") else "max"
    call = Call(
        f"tf.nn.{kind}_pool{op.rank}d", (_compact(op.size), _compact(op.stride), _padding(op))
    )
    return _op(node, site, call)


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    axes = tuple(range(1, len(node.input_shape)))
    reduce = "tf.reduce_mean" if "avg" in node.op.kind else "tf.reduce_max"
    return _op(node, site, Call(reduce, kwargs={"axis": _compact(axes)}))


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    return _op(node, site, Call("tf.pad", (((0, 0), *node.op.padding, (0, 0)),)))


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("upsample", node, site, size=node.op.size)


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    """flatten and reshape: channels-last, so a row-major reshape is the IR's order."""
    return _op(node, site, Call("tf.reshape", ((-1, *node.output_shape),)))


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("dropout", node, site, rate=node.op.rate)


def _batchnorm(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.BatchNorm = node.op
    build = Call("BatchNorm", kwargs={"momentum": op.momentum, "epsilon": op.epsilon})
    return LayerView("module", node.name, site, build, args={"training": True})


def _layernorm(node: ir.NodeInfo, site: Site) -> LayerView:
    build = Call("LayerNorm", kwargs={"epsilon": node.op.epsilon})
    return LayerView("module", node.name, site, build, args={"training": False})


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    return _view("embedding", node, site)


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    bidirectional = op.kind == "bidirectional"
    layer = op.layer if bidirectional else op
    kwargs = (
        {"activation": "relu"}
        if layer.kind == "simple_rnn" and layer.activation.kind == "relu"
        else {}
    )
    build = Call("Bidirectional" if bidirectional else "Recurrent", (layer.kind,), kwargs)
    args = {"sequences": layer.return_sequences, "merge": op.merge if bidirectional else None}
    return LayerView("recurrent", node.name, site, build, args=args)


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    args = {"axis": op.axis} if op.kind == "concatenate" else {}  # Keras' axes: 0 is the batch
    return LayerView(op.kind, node.name, site, args=args)


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("activation", node.name, site, activation=activation(node.op))


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

# --- losses and optimizers ---

# kind -> (the mean's elementwise loss, the labels it compares with)
LOSSES = {
    "categorical_crossentropy": ("softmax_cross_entropy", "classes"),
    "sparse_categorical_crossentropy": ("softmax_cross_entropy", "classes"),
    "binary_crossentropy": ("sigmoid_cross_entropy", "column"),
    "mse": ("squared", "one_hot"),
    "mae": ("absolute", "one_hot"),
}
# kind -> the support class computing the IR's formula (AdamW is Adam with weight_decay)
OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "Adam",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}


def _support_names(views: list[LayerView], optimizer: str | None) -> list[str]:
    """The names the module imports from _tf_support, in a stable order."""
    used = {"tf_device", "count_canonical", "export_canonical", "import_canonical"}
    used |= {"cluster_rank", "join_cluster", "strategy_for"}
    for view in views:
        for call in (view.build, view.activation):
            if call is not None and not call.fn.startswith("tf."):
                used.add(call.fn)
    if optimizer:
        used |= {optimizer, "indexed_step", "replica_step", "step_groups"}
    return sorted(used, key=lambda name: (name[0].islower(), name))


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the tf target."""
    out: dict[str, Any] = {
        "weights": [(w.name, w.shape, w.initializer, w.trainable) for w in program.weights],
        "output_activations": [
            activation(ir.ACTIVATIONS[o.activation]()) for o in program.outputs
        ],
    }
    train = program.train
    optimizer = None
    if train is not None:
        form, targets = LOSSES[train.loss.kind]
        output = program.outputs[0]
        out["loss"] = {
            "form": form,
            "targets": targets,
            "activation": (
                None
                if program.loss_from_logits
                else activation(ir.ACTIVATIONS[output.activation]())
            ),
        }
        optimizer = OPTIMIZERS[train.optimizer.kind]
        out["optimizer"] = {
            "cls": optimizer,
            "params": [k for k, v in train.optimizer.arguments.items() if not isinstance(v, dict)],
        }
    out["support_imports"] = _support_names(common["views"], optimizer)
    return out


TARGET = Target(
    name="tf",
    framework="tensorflow",
    description="low-level TensorFlow: a tf.Module with tf.nn ops, GradientTape, tf.function",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    # module-level names the forward pass uses, and its own locals
    reserved=frozenset(
        {"tf", "np", "os", "sys", "training", "forward", "backward", "elu", "self"}
    ),
    support=True,
)
