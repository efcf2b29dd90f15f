"""What every target computes in training, against numpy references: optimizer updates,
losses and accuracy, BatchNorm's moving statistics, dropout only in training, seeding."""

from __future__ import annotations

import numpy as np
import pytest

import nndsl
from nndsl import ir, targets
from nndsl.reference import softmax
from tests.cases import random_weights
from tests.training_reference import OPTIMIZERS, np_gradients, np_optimizer

TARGETS = list(targets.registry())
STEP_ATOL = 5e-6


def tiny(optimizer: str, loss: str = "categorical_crossentropy", units: int = 3) -> ir.Program:
    activation = "sigmoid" if loss == "binary_crossentropy" else "softmax"
    return nndsl.loads(
        f"""
model tiny {{
    input vector(4)
    dense({units}, activation={activation})
}}
train {{
    dataset npz("unused.npz", batch_size=8)
    loss {loss}
    optimizer {optimizer}
}}
""",
        "tiny.nn",
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("target", TARGETS)
def test_optimizer_follows_the_ir_formula(target: str, optimizer: str, package):
    program = tiny(optimizer)
    module = package.module(program, target)
    rng = np.random.default_rng(0)
    weights = random_weights(program)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model = module.build_model(device="cpu")
    module.import_weights(model, weights)
    step = module.make_optimizer(model)
    update = np_optimizer(program.train.optimizer)
    w, b = weights["dense_1.kernel"].astype(np.float64), weights["dense_1.bias"].astype(np.float64)
    for _ in range(4):
        loss = module.train_step(model, step, x, y)
        want, dw, db = np_gradients(w, b, x.astype(np.float64), y)
        assert isinstance(loss, float) and abs(loss - want) < 1e-5
        w, b = update("w", w, dw), update("b", b, db)
    got = module.export_weights(model)
    np.testing.assert_allclose(got["dense_1.kernel"], w, atol=STEP_ATOL)
    np.testing.assert_allclose(got["dense_1.bias"], b, atol=STEP_ATOL)
    assert np.max(np.abs(got["dense_1.kernel"] - weights["dense_1.kernel"])) > 1e-3


LOSSES = [
    ("categorical_crossentropy", 3),
    ("sparse_categorical_crossentropy", 3),
    ("binary_crossentropy", 1),
    ("mse", 3),
    ("mae", 3),
]


@pytest.mark.parametrize(("loss", "units"), LOSSES)
@pytest.mark.parametrize("target", TARGETS)
def test_evaluate_is_the_mean_loss_and_accuracy(target: str, loss: str, units: int, package):
    """An identity dense layer makes the inputs the logits; 10 samples in batches of 4."""
    program = nndsl.loads(
        f"""
model tiny {{
    input vector({units})
    dense({units}, activation={"sigmoid" if units == 1 else "softmax"})
}}
train {{
    dataset npz("unused.npz")
    loss {loss}
    optimizer sgd
}}
""",
        "tiny.nn",
    )
    module = package.module(program, target)
    model = module.build_model(device="cpu")
    eye = {"dense_1.kernel": np.eye(units, dtype=np.float32)}
    module.import_weights(model, {**eye, "dense_1.bias": np.zeros(units, np.float32)})
    rng = np.random.default_rng(1)
    z = rng.normal(size=(10, units))
    y = rng.integers(0, max(units, 2), 10)
    if loss == "binary_crossentropy":
        p = 1 / (1 + np.exp(-z[:, 0]))
        want = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        predicted = (z[:, 0] > 0).astype(int)
    else:
        p, onehot = softmax(z), np.eye(units)[y]
        want = {"mse": np.mean((p - onehot) ** 2), "mae": np.mean(np.abs(p - onehot))}.get(
            loss, -np.mean(np.log(p[np.arange(10), y]))
        )
        predicted = z.argmax(1)
    metrics = module.evaluate(model, z.astype(np.float32), y, batch_size=4)
    assert abs(metrics["loss"] - want) < 1e-5
    assert metrics["accuracy"] == pytest.approx(np.mean(predicted == y))


BATCHNORM = """
model bn {
    input image(3, 3, 2)
    batchnorm(momentum=0.9, epsilon=0.001)
    flatten()
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer sgd(learning_rate=0.1)
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_batchnorm_moving_statistics_follow_the_ir(target: str, package):
    """Keras' momentum convention and the biased batch variance, in training mode only."""
    program = nndsl.loads(BATCHNORM, "bn.nn")
    module = package.module(program, target)
    weights = random_weights(program)
    model = module.build_model(device="cpu")
    module.import_weights(model, weights)
    x = np.random.default_rng(2).normal(2.0, 3.0, (4, 3, 3, 2)).astype(np.float32)
    module.predict(model, x)  # inference leaves the statistics alone
    module.train_step(model, module.make_optimizer(model), x, np.array([0, 1, 2, 0]))
    got = module.export_weights(model)
    mean, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    want_mean = 0.9 * weights["batchnorm_1.moving_mean"] + 0.1 * mean
    want_var = 0.9 * weights["batchnorm_1.moving_variance"] + 0.1 * var
    np.testing.assert_allclose(got["batchnorm_1.moving_mean"], want_mean, rtol=1e-5)
    np.testing.assert_allclose(got["batchnorm_1.moving_variance"], want_var, rtol=1e-5)
    assert not np.allclose(got["batchnorm_1.gamma"], weights["batchnorm_1.gamma"])


DROPOUT = """
model drop {
    input vector(64)
    dropout(0.5)
    dense(2)
}
train {
    dataset npz("unused.npz", batch_size=16)
    loss sparse_categorical_crossentropy
    optimizer sgd(learning_rate=0.5)
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_training_is_seeded_and_dropout_only_trains(target: str, package):
    program = nndsl.loads(DROPOUT, "drop.nn")
    module = package.module(program, target)
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(48, 64)).astype(np.float32)
    y = rng.integers(0, 2, 48)
    runs = []
    for _ in range(2):
        module.set_seed(11)
        model = module.build_model(device="cpu")
        before = module.predict(model, x)
        np.testing.assert_array_equal(before, module.predict(model, x))  # no dropout
        history = module.train(model, x, y, epochs=2, batch_size=16, verbose=False, seed=5)
        runs.append((history, module.export_weights(model)))
    (first, weights), (second, again) = runs
    assert first["loss"] == second["loss"] and len(first["loss"]) == 2
    assert first["first_step_seconds"] >= 0 and len(first["epoch_seconds"]) == 2
    for name in weights:
        np.testing.assert_array_equal(weights[name], again[name], err_msg=name)
    # with dropout active, the batch loss of one step differs from the inference loss
    model = module.build_model(device="cpu")
    module.import_weights(model, weights)
    inference = module.evaluate(model, x[:16], y[:16])["loss"]
    trained = module.train_step(model, module.make_optimizer(model), x[:16], y[:16])
    assert abs(trained - inference) > 1e-4


@pytest.mark.parametrize("target", TARGETS)
def test_train_reports_validation_accuracy(target: str, package):
    program = nndsl.loads(DROPOUT, "drop.nn")
    module = package.module(program, target)
    rng = np.random.default_rng(4)
    x, y = rng.uniform(size=(40, 64)).astype(np.float32), rng.integers(0, 2, 40)
    history = module.train(
        module.build_model(device="cpu"), x, y, epochs=2, validation=(x, y), verbose=False
    )
    assert len(history["val_accuracy"]) == 2
    assert all(0.0 <= a <= 1.0 for a in history["val_accuracy"])


INITS = """
model inits {
    input image(9, 9, 40)
    conv2d(64, 3)
    batchnorm()
    flatten()
    dense(300)
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_initial_weights_follow_the_ir(target: str, package):
    """Default initialisers, drawn by the framework: glorot_uniform kernels (uniform within
    sqrt(6 / (fan_in + fan_out)), not torch's or Flax's own), zero biases, BatchNorm's ones
    and zeros."""
    program = nndsl.loads(INITS, "inits.nn")
    module = package.module(program, target)
    module.set_seed(0)
    weights = module.export_weights(module.build_model(device="cpu"))
    for weight in program.weights:
        values = weights[weight.name].astype(np.float64)
        if weight.initializer == "glorot_uniform":
            limit = np.sqrt(6.0 / sum(weight.fans))
            assert np.abs(values).max() <= limit * (1 + 1e-6), weight.name
            assert np.abs(values).max() > 0.97 * limit, weight.name
            assert abs(np.abs(values).mean() - limit / 2) < 0.03 * limit, weight.name
        else:
            want = {"zeros": 0.0, "ones": 1.0}[weight.initializer]
            np.testing.assert_array_equal(values, want, err_msg=weight.name)
