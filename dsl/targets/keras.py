"""The Keras 3 target: one `keras.Sequential` per spec, trained with compile/fit.

Each IR kind maps onto a Keras layer, loss or optimizer. The functions here turn an
analysed layer into a small view (Keras class name plus keyword arguments, every
semantics-bearing one explicit); the templates only print those views.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nndsl import ir
from nndsl.context import LABEL_ENCODING
from nndsl.targets import Target

View = dict[str, Any]
CHANNELS_LAST = {"data_format": "channels_last"}


def _fields(node: ir.Node) -> dict[str, Any]:
    """The node's semantic fields, named as in the IR (no span, no kind)."""
    return node.model_dump(exclude={"span", "kind"})


def activation(op: ir.Node) -> View:
    """`keras.activations.<fn>(x, **args)`: the IR's activation kinds and fields are Keras' names."""
    return {"fn": op.kind, "args": _fields(op)}


def _layer(info: ir.LayerInfo, cls: str, args: dict[str, Any], act: View | None = None) -> View:
    return {"name": info.name, "cls": cls, "args": args, "activation": act}


def _initializers(info: ir.LayerInfo) -> dict[str, str]:
    """`<param>_initializer` for each canonical weight of the layer, from the IR."""
    return {f"{w.name.rsplit('.', 1)[1]}_initializer": w.initializer for w in info.weights}


def _dense(info: ir.LayerInfo) -> View:
    op = info.op
    args = {"units": op.units, "use_bias": op.use_bias}
    args |= {"kernel_initializer": op.kernel_initializer, "bias_initializer": op.bias_initializer}
    return _layer(info, "Dense", args, activation(op.activation))


def _conv(info: ir.LayerInfo) -> View:
    op = info.op
    # Keras' padding="same" is the IR's TF rule (the odd cell after), so LayerInfo.padding
    # needs no explicit pad layer here.
    args = {"filters": op.filters, "kernel_size": op.kernel, "strides": op.stride}
    args |= {"padding": op.padding, **CHANNELS_LAST, "dilation_rate": op.dilation}
    args |= {"groups": op.groups, "use_bias": op.use_bias}
    args |= {"kernel_initializer": op.kernel_initializer, "bias_initializer": op.bias_initializer}
    return _layer(info, f"Conv{op.rank}D", args, activation(op.activation))


def _pool(cls: str) -> Callable[[ir.LayerInfo], View]:
    # Keras' same-padded max pool never picks padding and its average pool leaves the
    # padded cells out of the divisor: both are the IR's rules.
    def view(info: ir.LayerInfo) -> View:
        op = info.op
        args = {"pool_size": op.size, "strides": op.stride, "padding": op.padding}
        return _layer(info, f"{cls}{op.rank}D", args | CHANNELS_LAST)

    return view


def _global_pool(cls: str) -> Callable[[ir.LayerInfo], View]:
    def view(info: ir.LayerInfo) -> View:
        return _layer(info, cls, {**CHANNELS_LAST, "keepdims": False})

    return view


def _flatten(info: ir.LayerInfo) -> View:
    return _layer(info, "Flatten", dict(CHANNELS_LAST))


def _reshape(info: ir.LayerInfo) -> View:
    return _layer(info, "Reshape", {"target_shape": info.output_shape})


def _dropout(info: ir.LayerInfo) -> View:
    return _layer(info, "Dropout", {"rate": info.op.rate})


def _batchnorm(info: ir.LayerInfo) -> View:
    op = info.op
    args = {"axis": -1, "momentum": op.momentum, "epsilon": op.epsilon}
    args |= {"center": op.center, "scale": op.scale, **_initializers(info)}
    return _layer(info, "BatchNormalization", args)


def _embedding(info: ir.LayerInfo) -> View:
    op = info.op
    args = {"input_dim": op.input_dim, "output_dim": op.output_dim, **_initializers(info)}
    return _layer(info, "Embedding", args)


ACTIVATION_LAYERS = {"relu": "ReLU", "leaky_relu": "LeakyReLU", "elu": "ELU", "softmax": "Softmax"}


def _activation_layer(info: ir.LayerInfo) -> View:
    """Keras' own layer where it has one (its arguments are the IR fields), else Activation."""
    op = info.op
    if op.kind in ACTIVATION_LAYERS:
        return _layer(info, ACTIVATION_LAYERS[op.kind], _fields(op))
    return _layer(info, "Activation", {}, activation(op))


LAYERS: dict[str, Callable[[ir.LayerInfo], View]] = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "maxpool1d": _pool("MaxPooling"),
    "maxpool2d": _pool("MaxPooling"),
    "avgpool1d": _pool("AveragePooling"),
    "avgpool2d": _pool("AveragePooling"),
    "global_avgpool2d": _global_pool("GlobalAveragePooling2D"),
    "global_maxpool2d": _global_pool("GlobalMaxPooling2D"),
    "flatten": _flatten,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "embedding": _embedding,
    **{kind: _activation_layer for kind in ir.ACTIVATIONS},
}

# Keras class, fixed arguments. The IR's optimizer formulas are Keras 3's, so every
# optimizer is Keras' own with all hyperparameters explicit.
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {}),
    "adam": ("Adam", {"amsgrad": False}),
    "adamw": ("AdamW", {"amsgrad": False}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adagrad": ("Adagrad", {}),
}

# Keras class, fixed arguments, whether it takes `from_logits`.
LOSSES: dict[str, tuple[str, dict[str, Any], bool]] = {
    "categorical_crossentropy": ("CategoricalCrossentropy", {"label_smoothing": 0.0}, True),
    "sparse_categorical_crossentropy": ("SparseCategoricalCrossentropy", {}, True),
    "binary_crossentropy": ("BinaryCrossentropy", {"label_smoothing": 0.0}, True),
    "mse": ("MeanSquaredError", {}, False),
    "mae": ("MeanAbsoluteError", {}, False),
}
REDUCTIONS = {"mean": "sum_over_batch_size"}  # Keras' name for the mean over the batch

METRICS = {
    "one_hot": "CategoricalAccuracy",
    "sparse": "SparseCategoricalAccuracy",
    "binary": "BinaryAccuracy",
}


def optimizer_view(optimizer: ir.Node) -> View:
    """The optimizer class; its IR hyperparameters are passed as the module's constants."""
    cls, fixed = OPTIMIZERS[optimizer.kind]
    constants = {name: name.upper() for name in _fields(optimizer)}
    return {
        "cls": cls,
        "constants": constants,
        "args": fixed,
    }


def loss_view(program: ir.Program) -> View:
    """The loss; mse/mae get OUTPUT_ACTIVATION applied to the logits first."""
    loss = program.spec.train.loss
    cls, fixed, takes_logits = LOSSES[loss.kind]
    constants = {"from_logits": "FROM_LOGITS"} if takes_logits else {}
    outputs = None
    if not program.loss_from_logits and program.output_activation != "linear":
        outputs = activation(ir.ACTIVATIONS[program.output_activation]())
    args = {**fixed, "reduction": REDUCTIONS[loss.reduction]}
    return {"cls": cls, "constants": constants, "args": args, "outputs": outputs}


def metric_view(program: ir.Program) -> View:
    """Accuracy on the logits the model computes (argmax is the same as on probabilities)."""
    labels = LABEL_ENCODING[program.spec.train.loss.kind]
    args: dict[str, Any] = {"name": "accuracy"}
    if labels == "binary":
        # binary labels come only with binary_crossentropy, which takes a logit: it is
        # positive exactly where the sigmoid passes 0.5
        args["threshold"] = 0.0
    return {"cls": METRICS[labels], "args": args}


def context(program: ir.Program) -> dict[str, Any]:
    """Template variables of the Keras target."""
    layers = [LAYERS[info.op.kind](info) for info in program.layers]
    out: dict[str, Any] = {
        "keras_layers": layers,
        "uses_partial": any(view["activation"] and view["activation"]["args"] for view in layers),
    }
    train = program.spec.train
    if train is not None:
        out |= {
            "optimizer": optimizer_view(train.optimizer),
            "loss": loss_view(program),
            "metric": metric_view(program),
            "labels": LABEL_ENCODING[train.loss.kind],
        }
    return out


TARGET = Target(
    name="keras",
    framework="keras",
    description="Keras 3 on the TensorFlow backend: keras.Sequential, compile and fit",
    context=context,
    kinds=frozenset({*LAYERS, *ir.INPUTS, *ir.DATASETS, *LOSSES, *OPTIMIZERS}),
    unsupported={},
)
