"""Numpy references for training: the IR's (Keras 3's) optimizer updates, and the gradient
of a softmax dense layer under mean cross-entropy, used to check every target's steps."""

from __future__ import annotations

import math

import numpy as np

from nndsl import ir
from nndsl.reference import softmax


def np_gradients(w, b, x, y):
    """Mean categorical cross-entropy of softmax(x @ w + b): value and gradients."""
    p = softmax(x @ w + b)
    onehot = np.eye(w.shape[1])[y]
    dz = (p - onehot) / len(x)
    return -np.mean(np.log(p[np.arange(len(x)), y])), x.T @ dz, dz.sum(0)


def np_optimizer(op: ir.Node):
    """The IR's (Keras 3's) update rules, one closure per parameter state."""
    state: dict = {}

    def update(key, w, g):
        s = state.setdefault(key, {"t": 0, "a": 0.0, "b": 0.0, "c": 0.0})
        s["t"] += 1
        t = s["t"]
        if op.kind == "sgd":
            s["a"] = op.momentum * s["a"] - op.learning_rate * g
            return w + (op.momentum * s["a"] - op.learning_rate * g if op.nesterov else s["a"])
        if op.kind in ("adam", "adamw"):
            if op.kind == "adamw":
                w = w - op.learning_rate * op.weight_decay * w
            s["a"] = op.beta_1 * s["a"] + (1 - op.beta_1) * g
            s["b"] = op.beta_2 * s["b"] + (1 - op.beta_2) * g * g
            lr_t = op.learning_rate * math.sqrt(1 - op.beta_2**t) / (1 - op.beta_1**t)
            return w - lr_t * s["a"] / (np.sqrt(s["b"]) + op.epsilon)
        if op.kind == "rmsprop":
            s["a"] = op.rho * s["a"] + (1 - op.rho) * g * g
            denominator = s["a"] + op.epsilon
            if op.centered:
                s["c"] = op.rho * s["c"] + (1 - op.rho) * g
                denominator = denominator - s["c"] ** 2
            step = op.learning_rate * g / np.sqrt(denominator)
            if op.momentum > 0:
                s["b"] = op.momentum * s["b"] + step
                step = s["b"]
            return w - step
        if op.kind == "adadelta":
            s["a"] = op.rho * s["a"] + (1 - op.rho) * g * g
            delta = -np.sqrt(s["b"] + op.epsilon) * g / np.sqrt(s["a"] + op.epsilon)
            s["b"] = op.rho * s["b"] + (1 - op.rho) * delta * delta
            return w + op.learning_rate * delta
        if op.kind == "adagrad":
            if t == 1:
                s["a"] = op.initial_accumulator_value
            s["a"] = s["a"] + g * g
            return w - op.learning_rate * g / np.sqrt(s["a"] + op.epsilon)
        raise AssertionError(op.kind)

    return update


OPTIMIZERS = [
    "sgd(learning_rate=0.1)",
    "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "adam(learning_rate=0.01)",
    "adam(learning_rate=0.01, beta_1=0.5, beta_2=0.9, epsilon=0.1)",
    "adamw(learning_rate=0.01, weight_decay=0.1)",
    "rmsprop(learning_rate=0.01)",
    "rmsprop(learning_rate=0.01, momentum=0.5, epsilon=0.01)",
    "rmsprop(learning_rate=0.01, centered=true, epsilon=0.01)",
    "adadelta(learning_rate=1.0, epsilon=0.001)",
    "adagrad(learning_rate=0.1, initial_accumulator_value=0.01, epsilon=0.01)",
]
