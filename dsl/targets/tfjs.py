"""TensorFlow.js: an ES module per spec building the model with the Layers API.

TF.js' Layers API is Keras' API in JavaScript: channels-last tensors, TF's `same` padding,
Keras' gate orders (LSTM i, f, c, o), layer variables holding the canonical arrays. So every
node is one `tf.layers.*` layer named after it and applied to the local variables of its
`site` of a functional `tf.model` like the Keras target's (or added to a `tf.sequential` when
the spec is one chain), with the configuration as one object of camelCase keys.
Inference only (`runtime="node"`): the module loads canonical .npz weights and predicts or
evaluates, in node or in a browser; see docs/targets.md for why it does not train.
Initialisers are left at TF.js' (Keras') defaults: weights always come from a canonical file.
"""

from __future__ import annotations

from typing import Any

from nndsl import ir
from nndsl.targets import Target
from nndsl.views import Call, LayerView, Site

# IR activation -> TF.js' activation identifier (the `activation:` option of a layer)
_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "selu": "selu",
    "elu": "elu",
    "silu": "swish",  # x * sigmoid(x)
    "gelu": "gelu",  # the exact (erf) form; gelu_new is the tanh approximation
}


def activation(op: ir.Node) -> Call:
    """The layer applying an activation node on its own."""
    kind = op.kind
    if kind == "leaky_relu":
        return Call("tf.layers.leakyReLU", ({"alpha": op.negative_slope},))
    if kind == "elu" and op.alpha != 1.0:
        return Call("new support.KerasElu", ({"alpha": op.alpha},))  # TF.js' takes alpha 1
    if kind == "gelu" and op.approximate:
        return Call("tf.layers.activation", ({"activation": "gelu_new"},))
    return Call("tf.layers.activation", ({"activation": _ACTIVATIONS.get(kind, kind)},))


def _fused(op: ir._Kernel) -> tuple[dict[str, Any], Call | None]:
    """(`activation:` for the layer, or a layer applied to its result)."""
    act = op.activation
    if act.kind == "linear":
        return {}, None
    call = activation(act)
    if call.fn == "tf.layers.activation":
        return {"activation": call.args[0]["activation"]}, None
    return {}, call


def _activation_layer(node: ir.NodeInfo, site: Site) -> LayerView:
    call = activation(node.op)
    named = Call(call.fn, ({**call.args[0], "name": node.name},))
    return LayerView("activation", node.name, site, activation=named)


def _compact(values: tuple[int, ...]) -> int | tuple[int, ...]:
    """`(3, 3)` -> `3` (TF.js repeats a number over the spatial axes), else the array."""
    return values[0] if len(set(values)) == 1 else values


def _layer(node: ir.NodeInfo, site: Site, factory: str, **config: Any) -> LayerView:
    """`tf.layers.<factory>({...config, name})` applied to the site (a factory with a dot is
    called as it is written)."""
    post = None
    if isinstance(node.op, ir._Kernel):
        fused, post = _fused(node.op)
        config |= fused
        if not node.op.use_bias:
            config["useBias"] = False
    config["name"] = node.name
    call = factory if "." in factory else f"tf.layers.{factory}"
    return LayerView("layer", node.name, site, Call(call, (config,)), post)


def _window(op: Any, default_stride: tuple[int, ...] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if op.stride != (default_stride or (1,) * len(op.stride)):
        config["strides"] = _compact(op.stride)
    if op.padding != "valid":
        config["padding"] = op.padding
    return config


def _dense(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "dense", units=node.op.units)


def _conv(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Conv = node.op
    config: dict[str, Any] = {"filters": op.filters, "kernelSize": _compact(op.kernel)}
    config |= _window(op)
    if max(op.dilation) > 1:
        config["dilationRate"] = _compact(op.dilation)
    if op.groups == 1:
        return _layer(node, site, f"conv{op.rank}d", **config)
    # TF.js' convolutions have no groups: the support module's GroupedConv, activation after
    fused, post = _fused(op)
    if fused:
        post = Call("tf.layers.activation", (fused,))
    config = {"rank": op.rank, "groups": op.groups, **config, "name": node.name}
    if not op.use_bias:
        config["useBias"] = False
    build = Call("new support.GroupedConv", (config,))
    return LayerView("layer", node.name, site, build, post)


def _conv_transpose(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Conv2DTranspose = node.op
    config = {"filters": op.filters, "kernelSize": _compact(op.kernel), **_window(op)}
    return _layer(node, site, "conv2dTranspose", **config)


def _depthwise(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.DepthwiseConv2D = node.op
    config: dict[str, Any] = {"kernelSize": _compact(op.kernel), **_window(op)}
    if op.depth_multiplier > 1:
        config["depthMultiplier"] = op.depth_multiplier
    return _layer(node, site, "depthwiseConv2d", **config)


def _separable(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.SeparableConv2D = node.op
    config: dict[str, Any] = {"filters": op.filters, "kernelSize": _compact(op.kernel)}
    config |= _window(op)
    if op.depth_multiplier > 1:
        config["depthMultiplier"] = op.depth_multiplier
    return _layer(node, site, "separableConv2d", **config)


def _pool(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir._Pool = node.op
    factory = f"{'average' if op.kind.startswith('avg') else 'max'}Pooling{op.rank}d"
    config = {"poolSize": _compact(op.size), **_window(op, default_stride=op.size)}
    return _layer(node, site, factory, **config)


_GLOBAL = {
    "global_avgpool1d": "globalAveragePooling1d",
    "global_maxpool1d": "globalMaxPooling1d",
    "global_avgpool2d": "globalAveragePooling2d",
    "global_maxpool2d": "globalMaxPooling2d",
}


def _global_pool(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, _GLOBAL[node.op.kind])


def _zero_padding(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "zeroPadding2d", padding=node.op.padding)


def _upsampling(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "upSampling2d", size=node.op.size)


def _flatten(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "flatten")


def _reshape(node: ir.NodeInfo, site: Site) -> LayerView:
    # the inferred shape: TF.js leaves a -1 axis unknown, which a following conv refuses
    return _layer(node, site, "reshape", targetShape=node.output_shape)


def _dropout(node: ir.NodeInfo, site: Site) -> LayerView:
    return _layer(node, site, "dropout", rate=node.op.rate)


def _normalization(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    config: dict[str, Any] = {"epsilon": op.epsilon}
    if op.kind == "batchnorm":
        config = {"momentum": op.momentum, **config}  # TF.js' convention is the IR's
    config |= {k: False for k in ("center", "scale") if not getattr(op, k)}
    factory = "batchNormalization" if op.kind == "batchnorm" else "layerNormalization"
    return _layer(node, site, factory, **config)


def _embedding(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Embedding = node.op
    return _layer(node, site, "embedding", inputDim=op.input_dim, outputDim=op.output_dim)


# TF.js' GRU has no reset_after (the IR's GRU): the support module's KerasGRU computes it
_RNN = {
    "simple_rnn": "tf.layers.simpleRNN",
    "lstm": "tf.layers.lstm",
    "gru": "new support.KerasGRU",
}


def _rnn_config(layer: ir._Recurrent) -> dict[str, Any]:
    """The recurrent layer's config (a GRU's for the support module's KerasGRU)."""
    config: dict[str, Any] = {"units": layer.units}
    if layer.kind == "simple_rnn" and layer.activation.kind != "tanh":
        config["activation"] = _ACTIVATIONS[layer.activation.kind]
    if layer.kind == "lstm":
        config["recurrentActivation"] = "sigmoid"  # TF.js' default is Keras 2's hardSigmoid
    if layer.return_sequences:
        config["returnSequences"] = True
    if not layer.use_bias:
        config["useBias"] = False
    elif layer.kind == "lstm":
        config["unitForgetBias"] = layer.unit_forget_bias
    return config


def _recurrent(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    return _layer(node, site, _RNN[op.kind], **_rnn_config(op))


def _bidirectional(node: ir.NodeInfo, site: Site) -> LayerView:
    op: ir.Bidirectional = node.op
    layer = op.layer
    inner = Call(_RNN[layer.kind], (_rnn_config(layer),))
    config = {"layer": inner, "mergeMode": op.merge, "name": node.name}
    return LayerView("layer", node.name, site, Call("tf.layers.bidirectional", (config,)))


_MERGES = {
    "add": "add",
    "subtract": "new support.Subtract",  # TF.js has no subtract layer
    "multiply": "multiply",
    "average": "average",
    "maximum": "maximum",
    "concatenate": "concatenate",
}


def _merge(node: ir.NodeInfo, site: Site) -> LayerView:
    op = node.op
    config = {"axis": op.axis} if op.kind == "concatenate" and op.axis != -1 else {}
    factory = _MERGES[op.kind] if "." in _MERGES[op.kind] else f"tf.layers.{_MERGES[op.kind]}"
    build = Call(factory, ({**config, "name": node.name},))
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


# The losses `evaluate` computes (on the logits, or on the outputs' activation) and the
# optimizers it accepts in a train section; the module never trains, they only keep a spec's
# train section valid. kind -> how the mean loss is computed in _tfjs_support.mjs
LOSSES = {
    "categorical_crossentropy": "crossentropy",
    "sparse_categorical_crossentropy": "crossentropy",
    "binary_crossentropy": "binary_crossentropy",
    "mse": "mse",
    "mae": "mae",
}
OPTIMIZERS = dict.fromkeys(("sgd", "adam", "adamw", "rmsprop", "adadelta", "adagrad"), None)


def weights(program: ir.Program) -> list[dict[str, Any]]:
    """Each canonical array: its layer, its index among the layer's weights (TF.js keeps
    them in the IR's order) and its shape."""
    return [
        {"name": w.name, "layer": node.name, "index": i, "shape": w.shape}
        for node in program.nodes
        for i, w in enumerate(node.weights)
    ]


def _is_chain(views: list[LayerView], forward: Any) -> bool:
    """Whether the forward pass is one chain of one-input layers from the one input to the
    one output: then the module builds a `tf.sequential`, as TF.js users write a stack."""
    if len(forward.inputs) != 1 or len(forward.outputs) != 1:
        return False
    current = forward.inputs[0][1]
    for view in views:
        if view.macro not in ("layer", "activation") or view.site.inputs != (current,):
            return False
        current = view.site.output
    return current == forward.outputs[0]


def context(program: ir.Program, common: dict[str, Any]) -> dict[str, Any]:
    """Template variables of the TF.js target."""
    train = program.train
    loss = LOSSES[train.loss.kind] if train is not None else None
    constants = [(n, v) for n, v in common["constants"] if n != "INPUT_SHAPES"]
    constants += [
        ("MODULE_FILE", f"{common['module_name']}.mjs"),
        ("INPUT_SHAPES", {i.name: i.shape for i in program.inputs}),
        ("INPUT_DTYPES", {i.name: i.dtype for i in program.inputs}),
        ("OUTPUT_NAMES", [o.name for o in program.outputs]),
        ("LOSS", loss),
        ("MNIST", train is not None and train.dataset.kind == "mnist"),
    ]
    forward = common["forward"]
    arguments = {variable for _, variable in forward.inputs}
    sequential = _is_chain(common["views"], forward)
    outputs = [view.site.output for view in common["views"]]
    return {
        "js_constants": constants,
        "locals": sorted(set(outputs) - arguments),
        "sequential": sequential,
        "weights": weights(program),
        "output_activations": [o.activation for o in program.outputs],
        "loss": loss,
    }


# JavaScript's reserved words, and the module's own names a local variable must not shadow
_RESERVED = (
    "break case catch class const continue debugger default delete do else export extends"
    " false finally for function if import in instanceof new null return super switch this"
    " throw true try typeof var void while with yield let static enum await implements"
    " package protected interface private public arguments eval undefined"
    " tf support inputs outputs model"
)

TARGET = Target(
    name="tfjs",
    framework="@tensorflow/tfjs",
    description="TensorFlow.js: an ES module, Layers API tf.model, inference only (node, browser)",
    layers=LAYERS,
    losses=LOSSES,
    optimizers=OPTIMIZERS,
    context=context,
    reserved=frozenset(_RESERVED.split()),
    extension=".mjs",
    support=True,
    runtime="node",
)
