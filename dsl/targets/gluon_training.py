"""The gluon target's training tables: the loss block and the optimizer computing each IR
formula, and the CPU threading the command line chooses from the network's size."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nndsl import ir
from nndsl.views import Call

# --- losses and optimizers ---

# kind -> (the Gluon loss block, the labels it takes, a note): "classes" are class indices
# (the same cross-entropy as one-hot rows), "column" (N, 1), "one_hot" rows
_SOFTMAX = Call("gluon.loss.SoftmaxCrossEntropyLoss")
_LOGITS = "Gluon's softmax cross-entropy takes logits (from_logits=True: log-probabilities)"
LOSSES = {
    "categorical_crossentropy": (_SOFTMAX, "classes", _LOGITS),
    "sparse_categorical_crossentropy": (_SOFTMAX, "classes", _LOGITS),
    "binary_crossentropy": (
        Call("gluon.loss.SigmoidBinaryCrossEntropyLoss"),
        "column",
        "Gluon's sigmoid cross-entropy takes logits (from_sigmoid=False)",
    ),
    "mse": (Call("gluon.loss.L2Loss", kwargs={"weight": 2.0}), "one_hot", "L2Loss is half of it"),
    "mae": (Call("gluon.loss.L1Loss"), "one_hot", "the mean absolute error"),
}

# kind -> the MXNet optimizer computing the IR's formula: MXNet's own where its formula is
# the IR's, else a Keras* optimizer of _gluon_support (registered with MXNet)
OPTIMIZERS: dict[str, Callable[[Any], str]] = {
    "sgd": lambda op: "nag" if op.nesterov else "arraysgd",
    "adam": lambda op: "adam",
    "adamw": lambda op: "kerasadamw",
    "rmsprop": lambda op: "kerasrmsprop" if op.momentum > 0 and not op.centered else "rmsprop",
    "adadelta": lambda op: "adadelta" if op.learning_rate == 1.0 else "kerasadadelta",
    "adagrad": lambda op: "kerasadagrad",
}
_LR = {"learning_rate": "LEARNING_RATE"}
_ADAM = {**_LR, "beta1": "BETA_1", "beta2": "BETA_2", "epsilon": "EPSILON"}
_RMSPROP = {**_LR, "gamma1": "RHO", "gamma2": "MOMENTUM", "epsilon": "EPSILON"}
# MXNet optimizer -> (its arguments -> module constants, why it computes the IR's formula)
OPTIMIZER_ARGUMENTS: dict[str, tuple[dict[str, str], str]] = {
    "arraysgd": (
        {**_LR, "momentum": "MOMENTUM"},
        "MXNet's sgd is the IR's: v = mu * v - lr * g (one update op per array).",
    ),
    "nag": (
        {**_LR, "momentum": "MOMENTUM"},
        "MXNet's nag keeps b = -v / lr: the IR's Nesterov step at a constant learning rate.",
    ),
    "adam": (_ADAM, "MXNet's adam is the IR's (Keras') form: epsilon outside sqrt(v)."),
    "kerasadamw": ({**_ADAM, "weight_decay": "WEIGHT_DECAY"}, "MXNet's wd is L2, not decay."),
    "rmsprop": (
        {**_RMSPROP, "centered": "CENTERED"},
        "MXNet's rmsprop is the IR's: epsilon inside the root, gamma2 the centered momentum.",
    ),
    "kerasrmsprop": (
        {**_LR, "rho": "RHO", "momentum": "MOMENTUM", "epsilon": "EPSILON"},
        "MXNet's rmsprop has momentum only when centered.",
    ),
    "adadelta": ({"rho": "RHO", "epsilon": "EPSILON"}, "MXNet's adadelta is the IR's at lr 1."),
    "kerasadadelta": (
        {**_LR, "rho": "RHO", "epsilon": "EPSILON"},
        "MXNet's adadelta has no learning rate.",
    ),
    "kerasadagrad": (
        {**_LR, "eps": "EPSILON", "initial_accumulator_value": "INITIAL_ACCUMULATOR_VALUE"},
        "MXNet's adagrad starts its accumulator at 0.",
    ),
}

# --- CPU threading of the command line ---

PREDICT_BATCH_SIZE = 1024
# Multiply-adds per step above which a network is compute-bound on CPU: then synchronous
# compute on every core (NaiveEngine, OpenMP on all cores) beats MXNet's default threading,
# which overlaps Python's op dispatch with compute on half the cores. Measured per MNIST
# epoch on 2 cores (first wave): cnn (312M per batch) 1.45x and lenet5 (53M) 1.15x faster;
# mlp (20M) and stride (7.6M) 1.5x and 1.4x slower.
COMPUTE_BOUND_MACS = 32_000_000


def _macs(node: ir.NodeInfo) -> int:
    """Multiply-adds per sample of a dense or convolution node (0 for the rest)."""
    op = node.op
    if op.kind == "dense":
        return math.prod(node.input_shape) * op.units
    if op.kind in ("conv1d", "conv2d"):
        per_output = math.prod(op.kernel) * node.input_shape[-1] // op.groups
        return math.prod(node.output_shape) * per_output
    return 0


def compute_bound(program: ir.Program) -> bool:
    train = program.train
    batch = train.dataset.batch_size if train else PREDICT_BATCH_SIZE
    return batch * sum(_macs(node) for node in program.nodes) >= COMPUTE_BOUND_MACS
