"""One-step training parity: same weights, same batch, one step of each optimizer.

The convolution feeding BatchNorm has no bias: its true gradient is zero, and Adam would turn
float noise in it into steps of about lr * noise / eps that differ by framework.

Dropout is absent from this model (its random masks differ by framework), BatchNorm is in
training mode, so the step also moves the moving statistics. Tolerances are absolute on
float32 weights of magnitude <= ~1 after STEPS updates.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights
from tests.conftest import TARGETS

STEPS = 3
ATOL = 2e-5

OPTIMIZERS = {
    "sgd": "sgd(learning_rate=0.1)",
    "sgd_momentum": "sgd(learning_rate=0.1, momentum=0.9)",
    "sgd_nesterov": "sgd(learning_rate=0.1, momentum=0.9, nesterov=true)",
    "adam": "adam(learning_rate=0.01)",
    "adamw": "adamw(learning_rate=0.01, weight_decay=0.1)",
    "rmsprop": "rmsprop(learning_rate=0.01)",
    "rmsprop_momentum": "rmsprop(learning_rate=0.01, momentum=0.5)",
    "rmsprop_centered": "rmsprop(learning_rate=0.01, centered=true)",
    "adadelta": "adadelta(learning_rate=1.0)",
    "adagrad": "adagrad(learning_rate=0.1)",
}

LOSSES = {
    "categorical_crossentropy": "softmax",
    "sparse_categorical_crossentropy": "softmax",
    "mse": "softmax",
}


def spec_text(optimizer: str, loss: str = "categorical_crossentropy") -> str:
    return f"""
model step {{
    input image(6, 6, 2)
    conv2d(4, 3, stride=2, padding=same, use_bias=false)
    batchnorm(momentum=0.9)
    relu()
    flatten()
    dense(5, activation={LOSSES[loss]})
}}
train {{
    dataset npz("unused.npz", batch_size=16)
    loss {loss}
    optimizer {optimizer}
}}
"""


def run_steps(module, weights, x, y):
    model = module.build_model()
    module.import_weights(model, weights)
    optimizer = module.make_optimizer(model)
    losses = [float(module.train_step(model, optimizer, x, y)) for _ in range(STEPS)]
    return losses, module.export_weights(model)


def check_all_targets(text: str, package) -> None:
    program = nndsl.loads(text, "step.nn")
    weights = random_weights(program, seed=3)
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, (16, *program.input_shape)).astype(np.float32)
    y = rng.integers(0, 5, 16).astype(np.int64)
    results = {t: run_steps(package.module(program, t), weights, x, y) for t in TARGETS}
    for a, b in itertools.combinations(TARGETS, 2):
        np.testing.assert_allclose(
            results[a][0], results[b][0], atol=ATOL, err_msg=f"loss {a} vs {b}"
        )
        for name in weights:
            diff = float(np.max(np.abs(results[a][1][name] - results[b][1][name])))
            assert diff < ATOL, f"{name}: {a} vs {b} differ by {diff:.3g}"
    moved = max(float(np.max(np.abs(results[TARGETS[0]][1][n] - weights[n]))) for n in weights)
    assert moved > 1e-3, "the optimizer did not change the weights"


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_optimizer_step_agrees(optimizer, package):
    check_all_targets(spec_text(OPTIMIZERS[optimizer]), package)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_loss_step_agrees(loss, package):
    check_all_targets(spec_text(OPTIMIZERS["sgd"], loss), package)


TRAIN = """
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""
GRAPHS = {
    "lstm": """
model lstm_step {
    input sequence(6, 3)
    lstm(8, return_sequences=true)
    lstm(6)
    dense(5, activation=softmax)
}""",
    "gru": """
model gru_step {
    input sequence(6, 3)
    bidirectional(gru(4, return_sequences=true), merge=sum)
    gru(6)
    dense(5, activation=softmax)
}""",
    "relu_pool": """
model relu_pool {
    input image(7, 7, 2)
    conv2d(4, 3, padding=same, activation=relu)
    maxpool2d(2, padding=same)
    conv2d(4, 1, use_bias=false)
    batchnorm(momentum=0.9)
    relu()
    maxpool2d(2)
    c = conv2d(3, 1, activation=relu)
    p = c -> maxpool2d(2) -> flatten()
    q = c -> global_avgpool2d()
    concatenate(p, q)
    dense(5, activation=softmax)
}""",
    "residual": """
block residual(filters) {
    conv2d(filters, 3, padding=same, use_bias=false)
    main = batchnorm(momentum=0.9)
    skip = input -> conv2d(filters, 1)
    add(main, skip)
    relu()
}
model residual_step {
    input image(6, 6, 2)
    residual(4)
    residual(4)
    x = global_avgpool2d()
    y = input -> flatten() -> dense(3)
    concatenate(x, y)
    dense(5, activation=softmax)
}""",
}


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_graph_step_agrees(graph, package):
    check_all_targets(GRAPHS[graph] + TRAIN, package)
