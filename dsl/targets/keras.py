"""Keras 3: a functional `keras.Model` per spec, trained with compile and fit.

Keras' layers compute the IR's semantics as they are: channels-last tensors, TF's `same`
padding (max pools never pick padding, average pools leave it out of the divisor), Keras'
initialiser definitions, gate orders (LSTM i, f, c, o; GRU z, r, h with reset_after) and
optimizer formulas. So every node is one Keras layer named after it and called on the local
variables of its `site`, and the layers' variables are the canonical weights:
`<layer>.<variable>`, `forward_`/`backward_` inside a Bidirectional. Arguments that change
the math and that other frameworks default differently (initialisers, BatchNorm momentum and
epsilon, LayerNormalization epsilon, leaky_relu's slope, from_logits) are emitted; universal
defaults (stride 1, dilation 1, groups 1, valid padding, channels-last) are left out.
"""

from __future__ import annotations

from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.views import Call, LayerView, Site

# --- activations ---


def activation(op: ir.Node) -> Call:
    """The activation as a call on a tensor (Keras builds an op of the functional graph: an
    op has no layer name to clash with, and its arguments are explicit)."""
    kwargs: dict[str, Any] = {}
    if op.kind == "leaky_relu":
        kwargs["negative_slope"] = op.negative_slope  # Keras' function default is 0.2
    elif op.kind == "elu" and op.alpha != 1.0:
        kwargs["alpha"] = op.alpha
    elif op.kind == "gelu" and op.approximate:
        kwargs["approximate"] = True
    return Call(f"keras.activations.{op.kind}", kwargs=kwargs)


def _fused(op: ir._Kernel) -> tuple[dict[str, Any], Call | None]:
    """(`activation=` for the layer, or a call applied to its result): Keras' string names
    mean the IR's activation only without arguments."""
    act = activation(op.activation)
    if op.activation.kind == "linear":
        return {}, None
    if act.kwargs:
        return {}, act
    return {"activation": op.activation.kind}, None


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    return LayerView("activation", node.name, site, activation=activation(node.op))


# --- layers ---

# canonical parameter -> the Keras argument naming its initialiser
_INITIALIZERS = {
    "kernel": "kernel_initializer",
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "recurrent_kernel": "recurrent_initializer",
    "bias": "bias_initializer",
    "embeddings": "embeddings_initializer",
}


def initializers(node: ir.NodeInfo) -> dict[str, Any]:
    """The initialiser of every weight, from the IR (normalisation layers' ones and zeros
    are every framework's, so they are left out)."""
    out: dict[str, Any] = {}
    for weight in node.weights:
        param = weight.param
        if node.op.kind == "bidirectional":
            direction, param = param.split("_", 1)
            if direction == "backward":
                continue
        if param == "kernel" and node.op.kind == "depthwise_conv2d":
            param = "depthwise_kernel"
        if weight.initializer == "unit_forget_bias":
            out |= {"bias_initializer": "zeros", "unit_forget_bias": True}
        elif param in _INITIALIZERS:
            out[_INITIALIZERS[param]] = weight.initializer
    return out


def _compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """`(3, 3)` -> `3` (Keras repeats an int over the spatial axes), else the tuple."""
    return values[0] if len(set(values)) == 1 else values


def _layer(node: ir.NodeInfo, site: Site, cls: str, *args: Any, **kwargs: Any) -> LayerView:
    """`layers.<cls>(*args, **kwargs, <initialisers>, name=<node>)` called on the site."""
    post = None
    if isinstance(node.op, ir._Kernel):
        fused, post = _fused(node.op)
        kwargs |= fused
        if not node.op.use_bias:
            kwargs["use_bias"] = False
    kwargs |= initializers(node) | {"name": node.name}
    return LayerView("layer", node.name, site, Call(f"layers.{cls}", args, kwargs), post)


def _window(op: Any, default_stride: tuple[int, ...] | None = None) -> dict[str, Any]:
    """strides (unless the default) and padding (unless valid)."""
    kwargs: dict[str, Any] = {}
    if op.stride != (default_stride or (1,) * len(op.stride)):
        kwargs["strides"] = _compact(op.stride)
    if op.padding != "valid":
        kwargs["padding"] = op.padding  # TF's rule: the odd cell after, as the IR says
    return kwargs


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "Dense", node.op.units)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Conv = node.op
    kwargs = _window(op)
    if max(op.dilation) > 1:
        kwargs["dilation_rate"] = _compact(op.dilation)
    if op.groups > 1:
        kwargs["groups"] = op.groups
    return _layer(node, site, f"Conv{op.rank}D", op.filters, _compact(op.kernel), **kwargs)


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Conv2DTranspose = node.op
    args = (op.filters, _compact(op.kernel))
    return _layer(node, site, "Conv2DTranspose", *args, **_window(op))


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    kwargs = _window(op)
    if op.depth_multiplier > 1:
        kwargs["depth_multiplier"] = op.depth_multiplier
    return _layer(node, site, "DepthwiseConv2D", _compact(op.kernel), **kwargs)


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    kwargs = _window(op)
    if op.depth_multiplier > 1:
        kwargs["depth_multiplier"] = op.depth_multiplier
    return _layer(node, site, "SeparableConv2D", op.filters, _compact(op.kernel), **kwargs)


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Pool = node.op
    cls = f"{'AveragePooling' if op.kind.startswith('avg') else 'MaxPooling'}{op.rank}D"
    return _layer(node, site, cls, _compact(op.size), **_window(op, default_stride=op.size))


_GLOBAL = {
    "global_avgpool1d": "GlobalAveragePooling1D",
    "global_maxpool1d": "GlobalMaxPooling1D",
    "global_avgpool2d": "GlobalAveragePooling2D",
    "global_maxpool2d": "GlobalMaxPooling2D",
}


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, _GLOBAL[node.op.kind])


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    (top, bottom), (left, right) = node.op.padding
    padding: Any = ((top, bottom), (left, right))
    if top == bottom and left == right:
        padding = top if top == left else (top, left)
    return _layer(node, site, "ZeroPadding2D", padding)


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    size = node.op.size
    return _layer(node, site, "UpSampling2D", *(() if size == (2, 2) else (_compact(size),)))


def _flatten(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "Flatten")


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "Reshape", node.op.shape)


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "Dropout", node.op.rate)


def _normalization(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    kwargs: dict[str, Any] = {"epsilon": op.epsilon}
    if op.kind == "batchnorm":
        kwargs = {"momentum": op.momentum, **kwargs}  # Keras' convention is the IR's
    kwargs |= {k: False for k in ("center", "scale") if not getattr(op, k)}
    cls = "BatchNormalization" if op.kind == "batchnorm" else "LayerNormalization"
    return _layer(node, site, cls, **kwargs)


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    return _layer(node, site, "Embedding", op.input_dim, op.output_dim)


_RNN = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}


def _rnn_kwargs(layer: ir._Recurrent) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if layer.kind == "simple_rnn" and layer.activation.kind != "tanh":
        kwargs["activation"] = layer.activation.kind
    if layer.return_sequences:
        kwargs["return_sequences"] = True
    if not layer.use_bias:
        kwargs["use_bias"] = False
    elif layer.kind == "lstm" and not layer.unit_forget_bias:
        kwargs["unit_forget_bias"] = False
    if layer.kind == "gru":
        kwargs["reset_after"] = True  # two biases (2, 3U), the IR's (and Keras 3's) GRU
    return kwargs


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    return _layer(node, site, _RNN[op.kind], op.units, **_rnn_kwargs(op))


def _bidirectional(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Bidirectional = node.op
    layer = op.layer
    kwargs = _rnn_kwargs(layer) | initializers(node)
    inner = Call(f"layers.{_RNN[layer.kind]}", (layer.units,), kwargs)
    kwargs = {"merge_mode": op.merge} if op.merge != "concat" else {}
    build = Call("layers.Bidirectional", (inner,), {**kwargs, "name": node.name})
    return LayerView("layer", node.name, site, build)


_MERGES = {
    "add": "Add",
    "subtract": "Subtract",
    "multiply": "Multiply",
    "average": "Average",
    "maximum": "Maximum",
    "concatenate": "Concatenate",
}


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    kwargs = {"axis": op.axis} if op.kind == "concatenate" and op.axis != -1 else {}
    build = Call(f"layers.{_MERGES[op.kind]}", (), {**kwargs, "name": node.name})
    return LayerView("merge", node.name, site, build)


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
    **dict.fromkeys(_GLOBAL, _global_pool),
    "zero_padding2d": _zero_padding,
    "upsampling2d": _upsampling,
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _normalization,
    "layernorm": _normalization,
    "embedding": _embedding,
    **dict.fromkeys(_RNN, _recurrent),
    "bidirectional": _bidirectional,
    **dict.fromkeys(_MERGES, _merge),
    **dict.fromkeys(ir.ACTIVATIONS, _activation_layer),
}

# --- losses and optimizers ---

# kind -> (Keras' loss function, its class). Categorical cross-entropy takes class indices:
# the same value as one-hot rows, without building them.
LOSSES = {
    "categorical_crossentropy": (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
    ),
    "sparse_categorical_crossentropy": (
        "sparse_categorical_crossentropy",
        "SparseCategoricalCrossentropy",
    ),
    "binary_crossentropy": ("binary_crossentropy", "BinaryCrossentropy"),
    "mse": ("mean_squared_error", "MeanSquaredError"),
    "mae": ("mean_absolute_error", "MeanAbsoluteError"),
}
# kind -> Keras optimizer: Keras' update rules are the IR's formulas
OPTIMIZERS = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}


def _loss(program: ir.Program) -> dict[str, Any]:
    """The loss on the model's logits (as a Keras loss object, or as a function when the
    output activation must be applied first), the label encoding and the accuracy metric."""
    function, cls = LOSSES[program.train.loss.kind]
    output = program.outputs[0]
    labels = "column" if output.shape == (1,) else "one_hot"
    if function.startswith("sparse"):
        labels = "classes"
    on_outputs = None
    if not program.loss_from_logits and output.activation != "linear":
        on_outputs = activation(ir.ACTIVATIONS[output.activation]())
    kwargs = {"from_logits": True} if program.loss_from_logits else {}
    metric = None  # "accuracy": Keras picks sparse, one-hot or binary accuracy from the shapes
    if labels == "column" and output.activation == "sigmoid":  # a logit: positive is class 1
        metric = Call("keras.metrics.BinaryAccuracy", (), {"threshold": 0.0, "name": "accuracy"})
    return {
        "object": Call(f"keras.losses.{cls}", (), kwargs),
        "function": f"keras.losses.{function}",
        "on_outputs": on_outputs,
        "labels": labels,
        "metric": metric,
    }


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the Keras target."""
    out: dict[str, Any] = {
        "weights": [(w.name, w.shape) for w in program.weights],
        "bidirectional": any(n.op.kind == "bidirectional" for n in program.nodes),
        "output_activations": [
            None if o.activation == "linear" else activation(ir.ACTIVATIONS[o.activation]())
            for o in program.outputs
        ],
    }
    single = len(program.inputs) == 1 and len(program.outputs) == 1  # predict takes batches
    out["support_imports"] = ["resolve_device", "strategy_for"]
    out["support_imports"] += ["array_batches"] if single or program.train else []
    out["support_exports"] = ["set_seed", "start_workers", "worker_info"]
    train = program.train
    if train is not None:
        out["support_imports"] += ["Batches", "replica_step", "steps_per_execution"]
        out["loss"] = _loss(program)
        out["optimizer"] = {
            "cls": OPTIMIZERS[train.optimizer.kind],
            "fields": [k for k, v in train.optimizer.arguments.items() if not isinstance(v, dict)],
        }
    return out


TARGET = Target(
    name="keras",
    framework="keras",
    requires=("tensorflow",),  # determinism and tf.distribute, on Keras' TensorFlow backend
    description="Keras 3: a functional keras.Model, compile and fit (TensorFlow backend)",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset({"keras", "layers", "np", "sys"}),
    support=True,
)
