"""Flax-specific checks: Adam in Keras' form (not Optax's), one compilation per batch shape,
dropout keys drawn only in training, parameters that are the canonical arrays themselves,
Flax's msgpack as the native format, and an import that leaves JAX's settings alone."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import nndsl
from tests.cases import random_weights

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
serialization = pytest.importorskip("flax.serialization")

SPEC = """
model flaxy {
    input image(6, 6, 2)
    conv2d(4, 3, padding=same, activation=relu)
    batchnorm()
    flatten()
    dropout(0.5)
    dense(3, activation=softmax)
}
train {
    dataset npz("unused.npz", batch_size=4)
    loss sparse_categorical_crossentropy
    optimizer adam(learning_rate=0.01)
}
"""


@pytest.fixture(scope="module")
def program():
    return nndsl.loads(SPEC, "flaxy.nn")


@pytest.fixture()
def module(program, package):
    return package.module(program, "flax")


def _batch(samples=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(samples, 6, 6, 2)).astype(np.float32), rng.integers(0, 3, samples)


def test_adam_is_keras_form_not_optax_default(module):
    """Keras: w -= lr_t * m / (sqrt(v) + eps), eps outside the uncorrected root; optax.adam
    adds eps to sqrt(v_hat). With small gradients and a large eps the two differ ~30x."""
    lr, beta_1, beta_2, eps = 0.1, 0.9, 0.999, 0.1
    grads = [np.array([1e-3, -2e-3, 5e-4], np.float32) * (step + 1) for step in range(3)]
    w = np.array([0.5, -0.3, 0.2], np.float32)

    def run(tx):
        params, state = {"w": w}, tx.init({"w": w})
        for g in grads:
            updates, state = tx.update({"w": g}, state, params)
            params = optax.apply_updates(params, updates)
        return np.asarray(params["w"], np.float64)

    m = v = 0.0
    want = w.astype(np.float64)
    for t, g in enumerate(grads, 1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g.astype(np.float64) ** 2
        lr_t = lr * math.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        want = want - lr_t * m / (np.sqrt(v) + eps)
    ours = run(module.keras_adam(lr, beta_1, beta_2, eps))
    np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-8)
    theirs = run(optax.adam(lr, beta_1, beta_2, eps=eps))
    assert np.max(np.abs(theirs - want)) > 100 * np.max(np.abs(ours - want))


def test_adamw_decays_before_the_adam_step(module):
    """One AdamW step from m = v = 0: w - lr * wd * w - lr_t * m / (sqrt(v) + eps)."""
    w, g = np.array([1.0, -2.0], np.float32), np.array([0.3, 0.1], np.float32)
    tx = module.keras_adam(0.01, 0.9, 0.999, 1e-7, weight_decay=0.5)
    updates, _ = tx.update({"w": g}, tx.init({"w": w}), {"w": w})
    m, v = 0.1 * g, 0.001 * g.astype(np.float64) ** 2
    want = w - 0.01 * 0.5 * w - 0.01 * math.sqrt(0.001) / 0.1 * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(w + np.asarray(updates["w"]), want, rtol=1e-6)


@pytest.mark.integration  # runs a program or compiles: not in make test-fast
def test_train_compiles_once_per_batch_shape(program, package, monkeypatch):
    """10 samples in batches of 4 over 3 epochs: the step is traced for the full batches and
    once more for the last batch of 2, never per batch or per epoch."""
    spec = SPEC.replace("dense(3", "dense(3, use_bias=false").replace("flaxy", "traced")
    module = package.module(nndsl.loads(spec, "traced.nn"), "flax")
    traces = []
    compute_loss = module.compute_loss
    monkeypatch.setattr(module, "compute_loss", lambda *a: traces.append(1) or compute_loss(*a))
    x, y = _batch(10)
    module.train(module.build_model("cpu"), x, y, epochs=3, batch_size=4, verbose=False)
    assert len(traces) == 2


def test_dropout_draws_keys_only_in_training(program, module):
    model = module.build_model("cpu")
    module.import_weights(model, random_weights(program))
    x, y = _batch()
    count = int(model.dropout_1.rngs.count[...])
    np.testing.assert_array_equal(module.predict(model, x), module.predict(model, x))
    module.evaluate(model, x, y)
    assert int(model.dropout_1.rngs.count[...]) == count
    optimizer = module.make_optimizer(model)
    module.train_step(model, optimizer, x, y)
    assert int(model.dropout_1.rngs.count[...]) == count + 1


def test_parameters_are_the_canonical_arrays(program, module):
    from flax import nnx

    model = module.build_model("cpu")
    weights = random_weights(program)
    module.import_weights(model, weights)
    np.testing.assert_array_equal(model.conv2d_1.kernel[...], weights["conv2d_1.kernel"])
    np.testing.assert_array_equal(model.dense_1.kernel[...], weights["dense_1.kernel"])
    assert isinstance(model.batchnorm_1.mean, nnx.BatchStat)
    assert isinstance(model.batchnorm_1.scale, nnx.Param)
    assert model.conv2d_1.kernel[...].devices() == {jax.devices("cpu")[0]}


def test_native_file_is_flax_msgpack(program, module, tmp_path):
    model = module.build_model("cpu")
    weights = random_weights(program)
    module.import_weights(model, weights)
    module.save_native(model, tmp_path / "model.msgpack")
    state = serialization.msgpack_restore((tmp_path / "model.msgpack").read_bytes())
    np.testing.assert_array_equal(state["conv2d_1"]["kernel"], weights["conv2d_1.kernel"])
    np.testing.assert_array_equal(
        state["batchnorm_1"]["var"], weights["batchnorm_1.moving_variance"]
    )
    assert set(state) == {"conv2d_1", "batchnorm_1", "dense_1"}  # no RNG state


def test_import_leaves_jax_settings_alone(module, package):
    code = (
        f"import os, sys; sys.path.insert(0, {str(package.folder.parent)!r}); "
        f"import {module.__name__} as m; import jax; "
        "print(jax.config.jax_enable_x64, os.environ.get('XLA_FLAGS')); "
        "m.set_seed(1, deterministic=True); print(os.environ['XLA_FLAGS'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "XLA_FLAGS"},
    )
    assert result.returncode == 0, result.stderr
    settings, flags = result.stdout.strip().splitlines()[-2:]
    assert settings == "False None"
    assert flags == "--xla_gpu_deterministic_ops=true"
