"""Native TensorFlow: a tf.Module owning tf.Variables, a tf.nn forward pass, hand-written optimizers.

Everything the template needs is computed here from the IR as small view objects: one
`SimpleNamespace` per forward step (its `kind` names the macro in `layers.j2`), one per
variable, and the names of the initializers, loss and optimizer to emit.

Padding: TensorFlow's `"SAME"` is the rule `dsl.shapes.same_padding` implements (odd extra
cell after; max-pool ignores padded cells; avg-pool leaves them out of the divisor), so each
window op gets `"SAME"`/`"VALID"` and no explicit pad op is needed.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from nndsl import ir
from nndsl.literals import camel
from nndsl.targets import Target

View = SimpleNamespace

# initializers drawn from the generator (the rest are tf.zeros / tf.ones)
RANDOM_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "uniform")
FAN_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal")

OPTIMIZER_CLASSES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adadelta": "Adadelta",
    "adagrad": "Adagrad",
}


def _attr(weight: ir.Weight) -> str:
    """The model attribute holding a weight: `conv2d_1.kernel` -> `conv2d_1_kernel`."""
    return weight.name.replace(".", "_")


def _weight(info: ir.LayerInfo, param: str) -> str | None:
    """The attribute of `info`'s weight `param`, or None when the layer has none."""
    for weight in info.weights:
        if weight.name == f"{info.name}.{param}":
            return _attr(weight)
    return None


def _padding(op: ir.Node) -> str:
    return "SAME" if op.padding == "same" else "VALID"


def _step(info: ir.LayerInfo, **fields: Any) -> View:
    """A forward step headed by a comment naming the layer and its shapes."""
    return View(
        kind=info.op.kind,
        header=True,
        name=info.name,
        input_shape=info.input_shape,
        output_shape=info.output_shape,
        **fields,
    )


# --- activations: from the node, so dense/conv `activation=` reuses them ---


def _activation(op: ir.Node) -> View:
    fields: dict[str, Any] = {}
    if isinstance(op, ir.LeakyRelu):
        fields["alpha"] = op.negative_slope
    elif isinstance(op, ir.Elu):
        fields["alpha"] = None if op.alpha == 1.0 else op.alpha
    elif isinstance(op, ir.Gelu):
        fields["approximate"] = op.approximate
    elif isinstance(op, ir.Softmax):
        fields["axis"] = op.axis
    return View(kind=op.kind, header=False, **fields)


def _activation_layer(info: ir.LayerInfo) -> View:
    view = _activation(info.op)
    return _step(info, **{k: v for k, v in vars(view).items() if k not in ("kind", "header")})


# --- layers ---


def _dense(info: ir.LayerInfo) -> View:
    return _step(info, kernel=_weight(info, "kernel"), bias=_weight(info, "bias"))


def _conv(info: ir.LayerInfo) -> View:
    op = info.op
    args: dict[str, Any] = {"padding": _padding(op)}
    if op.rank == 1:  # tf.nn.conv1d names it `stride` and takes ints
        args = {"stride": op.stride[0], **args}
        if op.dilation != (1,):
            args["dilations"] = op.dilation[0]
    else:
        args = {"strides": op.stride, **args}
        if max(op.dilation) > 1:
            args["dilations"] = op.dilation
    kernel, bias = _weight(info, "kernel"), _weight(info, "bias")
    return _step(info, kernel=kernel, bias=bias, args=args, groups=op.groups)


def _pool(info: ir.LayerInfo) -> View:
    op = info.op
    size, stride = (op.size[0], op.stride[0]) if op.rank == 1 else (op.size, op.stride)
    return _step(info, args={"ksize": size, "strides": stride, "padding": _padding(op)})


def _global_pool(info: ir.LayerInfo) -> View:
    return _step(info, axis=tuple(range(1, len(info.input_shape))))


def _reshape(info: ir.LayerInfo) -> View:
    """flatten and reshape: channels-last, so a plain reshape keeps (H, W, C) order."""
    return _step(info, shape=(-1, *info.output_shape))


def _dropout(info: ir.LayerInfo) -> View:
    return _step(info, rate=info.op.rate)


def _batchnorm(info: ir.LayerInfo) -> View:
    op = info.op
    return _step(
        info,
        moving_mean=_weight(info, "moving_mean"),
        moving_variance=_weight(info, "moving_variance"),
        beta=_weight(info, "beta"),
        gamma=_weight(info, "gamma"),
        momentum=op.momentum,
        epsilon=op.epsilon,
    )


def _embedding(info: ir.LayerInfo) -> View:
    return _step(info, table=_weight(info, "embeddings"))


LAYER_VIEWS: dict[str, Callable[[ir.LayerInfo], View]] = {
    "dense": _dense,
    "conv1d": _conv,
    "conv2d": _conv,
    "maxpool1d": _pool,
    "maxpool2d": _pool,
    "avgpool1d": _pool,
    "avgpool2d": _pool,
    "global_avgpool2d": _global_pool,
    "global_maxpool2d": _global_pool,
    "flatten": _reshape,
    "reshape": _reshape,
    "dropout": _dropout,
    "batchnorm": _batchnorm,
    "embedding": _embedding,
    **{kind: _activation_layer for kind in ir.ACTIVATIONS},
}


def steps(program: ir.Program) -> list[View]:
    """The forward pass: one view per layer, plus one per fused non-linear activation.

    A `linear` activation (layer or argument) is the identity and renders nothing.
    """
    out = []
    for info in program.layers:
        if info.op.kind != "linear":
            out.append(LAYER_VIEWS[info.op.kind](info))
        activation = getattr(info.op, "activation", None)
        if activation is not None and activation.kind != "linear":
            out.append(_activation(activation))
    return out


def variables(program: ir.Program) -> list[View]:
    """Every canonical weight as the tf.Variable the model creates for it."""
    return [
        View(
            attr=_attr(weight),
            name=weight.name,
            scope=weight.name.replace(".", "/"),
            shape=weight.shape,
            trainable=weight.trainable,
            init=weight.initializer,
            random=weight.initializer in RANDOM_INITIALIZERS,
        )
        for weight in program.weights
    ]


def context(program: ir.Program) -> dict[str, Any]:
    """Template variables of the tf target."""
    used = {weight.initializer for weight in program.weights}
    train = program.spec.train
    kinds = {info.op.kind for info in program.layers}
    return {
        # `<Name>Model` never shadows a module global (constants are upper case, classes
        # such as Adam or Path are not suffixed `Model`)
        "class_name": camel(program.name) + "Model",
        "variables": variables(program),
        "steps": steps(program),
        "initializers": [name for name in RANDOM_INITIALIZERS if name in used],
        "uses_fans": bool(used & set(FAN_INITIALIZERS)),
        "truncated_normal": bool(used & {"glorot_normal", "he_normal"}),
        "embedding_limit": ir.EMBEDDING_UNIFORM_LIMIT if "uniform" in used else None,
        "truncated_normal_stddev": ir.TRUNCATED_NORMAL_STDDEV,
        "uses_batchnorm": "batchnorm" in kinds,
        "uses_embedding": "embedding" in kinds,
        "activate": train is not None and not program.loss_from_logits,
        "output": _activation(ir.ACTIVATIONS[program.output_activation]()),
        "optimizer_class": OPTIMIZER_CLASSES[train.optimizer.kind] if train else None,
        "binary": train is not None and train.loss.kind == "binary_crossentropy",
    }


def _kinds() -> frozenset[str]:
    catalogues = (ir.LAYERS, ir.INPUTS, ir.DATASETS, ir.LOSSES, ir.OPTIMIZERS)
    return frozenset(kind for catalogue in catalogues for kind in catalogue)


TARGET = Target(
    name="tf",
    framework="tensorflow",
    description="native TensorFlow 2: tf.Module, tf.nn ops, GradientTape, tf.function, tf.data",
    context=context,
    kinds=_kinds(),
    unsupported={},
)
