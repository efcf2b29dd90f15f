"""The torch target's weights: the state_dict key holding each canonical array, the
initialisers `reset_parameters()` applies (the IR's, where torch's own differ), frozen
parameters."""

from __future__ import annotations

import math

from nndsl import ir
from nndsl.targets.channels_first import fans, weight_view
from nndsl.views import Call, WeightView

_PARAMS = {
    "kernel": "weight",
    "bias": "bias",
    "gamma": "weight",
    "beta": "bias",
    "moving_mean": "running_mean",
    "moving_variance": "running_var",
    "embeddings": "weight",
    "depthwise_kernel": "0.weight",
    "pointwise_kernel": "1.weight",
}
_RNN_PARAMS = {"kernel": "weight_ih_l0", "recurrent_kernel": "weight_hh_l0", "bias": "bias_ih_l0"}


def _key(node: ir.NodeInfo, weight: ir.Weight) -> str | tuple[str, ...]:
    param, suffix = weight.param, ""
    if node.op.kind == "bidirectional":
        direction, param = param.split("_", 1)
        suffix = "_reverse" if direction == "backward" else ""
    if node.op.kind in ("bidirectional", *ir.RECURRENT):
        if param == "bias" and len(weight.shape) == 2:  # the GRU's input and recurrent biases
            return (f"{node.name}.bias_ih_l0{suffix}", f"{node.name}.bias_hh_l0{suffix}")
        return f"{node.name}.{_RNN_PARAMS[param]}{suffix}"
    if node.op.kind == "separable_conv2d" and param == "bias":
        return f"{node.name}.1.bias"
    return f"{node.name}.{_PARAMS[param]}"


def weights(program: ir.Program) -> list[WeightView]:
    return [weight_view(node, w, _key(node, w)) for node in program.nodes for w in node.weights]


def attribute(key: str) -> str:
    """A state_dict key as a Python expression on the model: `a.0.weight` -> `a[0].weight`."""
    return "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in key.split("."))


def _init(weight: ir.Weight, view: WeightView) -> Call:
    """The torch initialiser drawing what the IR's (Keras') initialiser draws."""
    init = weight.initializer
    fan_in, fan_out = weight.fans
    if init in ("zeros", "ones"):
        return Call(f"nn.init.{init}_")
    if init == "orthogonal":
        return Call("nn.init.orthogonal_")
    if init == "uniform":
        limit = ir.EMBEDDING_UNIFORM_LIMIT
        return Call("nn.init.uniform_", kwargs={"a": -limit, "b": limit})
    if init.endswith("_normal"):
        std = math.sqrt((2.0 / fan_in) if init == "he_normal" else (2.0 / (fan_in + fan_out)))
        std /= ir.TRUNCATED_NORMAL_STDDEV
        return Call("nn.init.trunc_normal_", kwargs={"std": std, "a": -2 * std, "b": 2 * std})
    same_fans = len(view.framework_shape) >= 2 and fans(view.framework_shape) == (fan_in, fan_out)
    if same_fans and init == "glorot_uniform":
        return Call("nn.init.xavier_uniform_")
    if same_fans and init == "he_uniform":
        return Call("nn.init.kaiming_uniform_", kwargs={"nonlinearity": "relu"})
    limit = math.sqrt(6.0 / (fan_in + fan_out) if init == "glorot_uniform" else 6.0 / fan_in)
    return Call("nn.init.uniform_", kwargs={"a": -limit, "b": limit})


# torch's own starting values that equal the IR's: no initialiser call is emitted for them
_MODULE_DEFAULTS = {
    ("batchnorm", "gamma"): "ones",
    ("batchnorm", "beta"): "zeros",
    ("batchnorm", "moving_mean"): "zeros",
    ("batchnorm", "moving_variance"): "ones",
    ("layernorm", "gamma"): "ones",
    ("layernorm", "beta"): "zeros",
}
# module classes whose initialisers become one loop over self.modules() when they agree
_GROUPABLE = ("nn.Conv1d", "nn.Conv2d", "nn.ConvTranspose2d", "nn.Linear", "nn.Embedding")


def _classes(node: ir.NodeInfo, weight: ir.Weight, build: Call | None) -> str | None:
    """The torch class of the module holding `weight` (None: not groupable)."""
    if build is None:
        return None
    if build.fn == "nn.Sequential":
        return "nn.Conv2d"
    return build.fn if build.fn in _GROUPABLE else None


def inits(
    program: ir.Program, views: list[WeightView], builds: dict[str, Call | None]
) -> tuple[list[tuple[tuple[str, ...], list[tuple[str, Call, bool]]]], list[tuple[str, Call]]]:
    """The IR's initialisers as torch calls: (groups, singles).

    A group is (module classes, [(attribute, call, guarded)]): every module of those classes
    starts the same way, written as one loop over `self.modules()` (guarded: not every such
    module has the attribute, e.g. a bias). Singles are (attribute path, call), one per
    weight that no group covers; torch's own defaults equal to the IR's are left out.
    """
    by_name = {v.name: v for v in views}
    members: dict[str, list[tuple[str, str, Call]]] = {}  # class -> (module, attr, call)
    singles: list[tuple[str, Call]] = []
    for node in program.nodes:
        for weight in node.weights:
            default = _MODULE_DEFAULTS.get((node.op.kind, weight.param))
            if default == weight.initializer:
                continue
            view = by_name[weight.name]
            keys = view.key if isinstance(view.key, tuple) else (view.key,)
            if weight.initializer == "unit_forget_bias":
                units = weight.shape[0] // 4
                path = "self" + attribute(keys[0])
                singles += [
                    (path, Call("nn.init.zeros_")),
                    (f"{path}[{units}:{2 * units}]", Call("nn.init.ones_")),
                ]
                singles += [("self" + attribute(key), Call("nn.init.zeros_")) for key in keys[1:]]
                continue
            cls = _classes(node, weight, builds.get(node.name))
            for key in keys:
                module, attr = key.rsplit(".", 1)
                if cls is None:
                    singles.append(("self" + attribute(key), _init(weight, view)))
                else:
                    members.setdefault(cls, []).append((module, attr, _init(weight, view)))
    groups: dict[tuple[tuple[str, Call, bool], ...], list[str]] = {}
    for cls, rows in members.items():
        modules = {module for module, _, _ in rows}
        calls: dict[str, set[Call]] = {}
        owners: dict[str, set[str]] = {}
        for module, attr, call in rows:
            calls.setdefault(attr, set()).add(call)
            owners.setdefault(attr, set()).add(module)
        if all(len(found) == 1 for found in calls.values()):
            entries = [(attr, next(iter(c)), owners[attr] != modules) for attr, c in calls.items()]
            groups.setdefault(tuple(entries), []).append(cls)
        else:
            singles += [
                ("self" + attribute(f"{module}.{attr}"), call) for module, attr, call in rows
            ]
    grouped = [(tuple(classes), list(entries)) for entries, classes in groups.items()]
    return grouped, singles


def frozen(program: ir.Program) -> list[tuple[str, str]]:
    """(parameter, "zeros"/"ones") torch keeps that the IR does not have, held constant:
    the second (recurrent) bias of LSTM and simple RNN layers, the weight of a layernorm
    without scale."""
    out = []
    for node in program.nodes:
        op = node.op
        if op.kind == "layernorm" and op.center and not op.scale:
            out.append((attribute(f"{node.name}.weight"), "ones"))
        layer = op.layer if op.kind == "bidirectional" else op
        if layer.kind in ("lstm", "simple_rnn") and layer.use_bias:
            suffixes = ("", "_reverse") if op.kind == "bidirectional" else ("",)
            out += [(attribute(f"{node.name}.bias_hh_l0{suffix}"), "zeros") for suffix in suffixes]
    return out
