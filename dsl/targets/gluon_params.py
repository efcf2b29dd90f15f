"""The gluon target's parameters: the MXNet initialiser drawing each IR initialiser, the
Gluon parameter holding each canonical array, frozen parameters."""

from __future__ import annotations

import math
from typing import Any

from nndsl import ir
from nndsl.targets.channels_first import fans, weight_layout, weight_view
from nndsl.views import Call, WeightView

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


def block_inits(node: ir.NodeInfo, arguments: dict[str, str | tuple[str, ...]]) -> dict[str, Any]:
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


KERNEL_INITS = {"kernel": "weight_initializer", "bias": "bias_initializer"}


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
