"""The numpy reference's activations (float64), shared by its layers and recurrent cells."""

from __future__ import annotations

import math

import numpy as np

from nndsl import ir

Array = np.ndarray

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf, otypes=[np.float64])


# --- activations ---


def sigmoid(x: Array) -> Array:
    """1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + np.exp(-x))


def softmax(x: Array) -> Array:
    """exp(x) / sum(exp(x)) over the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _elu(x: Array, alpha: float) -> Array:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _gelu(x: Array, approximate: bool) -> Array:
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def activate(op: ir.ActivationOp, x: Array) -> Array:
    """Apply an activation op elementwise (softmax over the last axis)."""
    match op.kind:
        case "linear":
            return x
        case "relu":
            return np.maximum(x, 0.0)
        case "relu6":
            return np.clip(x, 0.0, 6.0)
        case "sigmoid":
            return sigmoid(x)
        case "tanh":
            return np.tanh(x)
        case "softmax":
            return softmax(x)
        case "leaky_relu":
            return np.where(x > 0, x, op.negative_slope * x)
        case "elu":
            return _elu(x, op.alpha)
        case "selu":
            return SELU_SCALE * _elu(x, SELU_ALPHA)
        case "gelu":
            return _gelu(x, op.approximate)
        case "silu":
            return x * sigmoid(x)
    raise ValueError(f"unknown activation {op.kind}")
